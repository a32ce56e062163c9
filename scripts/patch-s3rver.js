// s3rver 3.7.1's filesystem store answers a PUT of an in-memory body before the object is on disk
// (writeStream.end is not awaited) and overwrites in place (a reader during the write sees a
// truncated file). Real S3 reads its writes and never shows a partial object, and the tests rely on
// both under load. This rewrites putObject to write a temporary file and rename it once finished.
// Idempotent; run by scripts/install-deps.
'use strict';
const fs = require('fs');
const file = process.argv[2];
const src = fs.readFileSync(file, 'utf8');
const marker = '/* templar: atomic put */';
if (src.includes(marker)) process.exit(0);
const start = src.indexOf('    const [size, md5] = await new Promise((resolve, reject) => {');
const end = src.indexOf('    await this.putMetadata(object.bucket, object.key, object.metadata, md5);');
if (start < 0 || end < 0 || end < start) {
  console.error(`patch-s3rver: ${file} is not the putObject this patch knows (s3rver 3.7.1)`);
  process.exit(1);
}
const body = `    ${marker}
    const tmpPath = \`\${objectPath}.tmp-\${process.pid}-\${Date.now()}-\${Math.random().toString(36).slice(2)}\`;
    const [size, md5] = await new Promise((resolve, reject) => {
      const writeStream = fs.createWriteStream(tmpPath);
      const md5Context = crypto.createHash('md5');
      let totalLength = 0;
      writeStream.on('error', reject);
      writeStream.on('finish', () => resolve([totalLength, md5Context.digest('hex')]));
      if (Buffer.isBuffer(object.content)) {
        md5Context.update(object.content);
        totalLength = object.content.length;
        writeStream.end(object.content);
      } else {
        object.content
          .pipe(
            new Transform({
              transform(chunk, encoding, callback) {
                md5Context.update(chunk, encoding);
                totalLength += chunk.length;
                callback(null, chunk);
              },
            }),
          )
          .on('error', reject)
          .pipe(writeStream);
      }
    });
    await fs.rename(tmpPath, objectPath);
`;
fs.writeFileSync(file + '.tmp', src.slice(0, start) + body + src.slice(end));
fs.renameSync(file + '.tmp', file);
