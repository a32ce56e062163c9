// node scripts/llama-cpp-generate.mjs FILE.gguf "PROMPT" [TOKENS]
// Runs a GGUF file (e.g. `templar export gguf`, or a localnet's export/model.gguf) in llama.cpp through
// node-llama-cpp 3.21.1 (installed under tools/ by scripts/install-deps; its prebuilt CPU build, no
// network) and prints the prompt and a greedy continuation of up to TOKENS tokens (default 40): proof
// that llama.cpp loads and runs the model. Run it as a file (getLlama() tests its binary in a child).
import { pathToFileURL } from 'node:url';

const [file, prompt, tokens = '40'] = process.argv.slice(2);
if (!file || prompt === undefined) {
  console.error('usage: node scripts/llama-cpp-generate.mjs FILE.gguf "PROMPT" [TOKENS]');
  process.exit(2);
}
const root = new URL('..', import.meta.url).pathname;
const pkg = pathToFileURL(`${root}/tools/node_modules/node-llama-cpp/dist/index.js`).href;
const { getLlama, LlamaLogLevel, LlamaCompletion } = await import(pkg);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: file });
const context = await model.createContext({ contextSize: model.trainContextSize });
const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
const text = await completion.generateCompletion(prompt, { maxTokens: Number(tokens), temperature: 0 });
console.log(`llama.cpp (${file}, ${model.fileInfo.metadata.general.architecture}, ` +
  `${model.fileInfo.metadata.llama.block_count} layers): ${JSON.stringify(prompt + text)}`);
