// Reference SS58 encoder for tests/substrate/test_ss58.c: @polkadot/util-crypto's encodeAddress
// (installed under tools/ by scripts/install-deps). Reads lines "PREFIX HEX32" on stdin and prints one
// address per line, in order.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const root = process.env.TEMPLAR_ROOT || new URL('../..', import.meta.url).pathname;
const require = createRequire(`${root}/tools/node_modules/`);
const { encodeAddress } = require('@polkadot/util-crypto');

const out = [];
for (const line of readFileSync(0, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const [prefix, hex] = line.trim().split(/\s+/);
  out.push(encodeAddress(`0x${hex}`, Number(prefix)));
}
process.stdout.write(out.join('\n') + '\n');
