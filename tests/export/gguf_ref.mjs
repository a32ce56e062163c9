// Reference for tests/export/test_gguf.c: runs a GGUF file in llama.cpp through node-llama-cpp 3.21.1
// (installed under tools/ by scripts/install-deps; its prebuilt CPU binary, no GPU, no network).
// Reads one request per line on stdin, each a JSON object, and prints one line per request, in order:
// the answer (JSON), or "ERR <message>".
//   {"model": FILE, "kv": "f32"|"f16", "sequences": [[ID, ...], ...]}
//       evaluates each sequence from an empty context: {"logprobs": [[[LP, ...], ...], ...]}, for every
//       sequence and every position but the last, the natural log of llama.cpp's probability of each
//       vocabulary id as the next token (softmax of the logits, temperature 1, nothing filtered).
//   {"model": FILE, "kv": ..., "greedy": [ID, ...], "n": N}
//       greedy decoding (temperature 0) after the prompt ids: {"tokens": [ID, ...]}, at most N, ending at
//       the first end-of-generation token (included) if one comes.
// "kv" is the type of llama.cpp's key/value cache: f32 keeps attention in f32 end to end; f16 is
// llama.cpp's default. Token ids go in as they are, so llama.cpp's own text tokenizer plays no part.
// Must run from a file (see shared/llama-cpp.md): getLlama() tests its binary in a forked child.
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

// An ES module with top-level await: imported by path, since require() cannot load it.
const root = process.env.TEMPLAR_ROOT || new URL('../..', import.meta.url).pathname;
const pkg = pathToFileURL(`${root}/tools/node_modules/node-llama-cpp/dist/index.js`).href;
const { getLlama, LlamaLogLevel } = await import(pkg);

const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
const contexts = new Map(); // "file|kv" -> { model, context, seq }

async function open(file, kv) {
  const key = `${file}|${kv}`;
  if (!contexts.has(key)) {
    const model = await llama.loadModel({ modelPath: file });
    const type = kv === 'f32' ? 'F32' : 'F16';
    const context = await model.createContext({
      contextSize: model.trainContextSize,
      batchSize: model.trainContextSize,
      flashAttention: false,
      threads: 1, // the model is tiny; on a busy machine more threads spin-wait and run 30x slower
      experimentalKvCacheKeyType: type,
      experimentalKvCacheValueType: type,
    });
    contexts.set(key, { model, context, seq: context.getSequence() });
  }
  return contexts.get(key);
}

async function logprobs({ model: file, kv, sequences }) {
  const { model, seq } = await open(file, kv);
  const n = model.fileInfo.metadata.llama.vocab_size;
  const out = [];
  for (const ids of sequences) {
    await seq.clearHistory(); // each sequence starts from an empty context
    const input = ids.map((id, i) => (i + 1 < ids.length ? [id, { generateNext: { probabilities: true } }] : id));
    const res = await seq.controlledEvaluate(input);
    const rows = [];
    for (let i = 0; i + 1 < ids.length; i++) {
      const probs = res[i]?.next?.probabilities;
      if (!probs || probs.size !== n) throw new Error(`position ${i}: ${probs?.size} probabilities, expected ${n}`);
      const row = new Array(n);
      for (const [id, p] of probs) row[id] = Math.log(p);
      rows.push(row);
    }
    out.push(rows);
  }
  return { logprobs: out };
}

async function greedy({ model: file, kv, greedy: prompt, n }) {
  const { model, seq } = await open(file, kv);
  await seq.clearHistory();
  const tokens = [];
  for await (const t of seq.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
    tokens.push(t);
    if (tokens.length >= n || model.isEogToken(t)) break;
  }
  return { tokens };
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  try {
    const req = JSON.parse(line);
    const answer = req.greedy ? await greedy(req) : await logprobs(req);
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  } catch (e) {
    process.stdout.write(`ERR ${String(e?.message ?? e).replace(/\n/g, ' ')}\n`);
  }
}
for (const { model, context } of contexts.values()) {
  await context.dispose();
  await model.dispose();
}
await llama.dispose();
