// Reference for tests/export/test_hf_tokenizer.c: a real Hugging Face client, @huggingface/transformers
// (transformers.js, pinned by scripts/install-deps and installed under tools/), loads the tokenizer files
// of directory argv[2] offline, as a user's AutoTokenizer.from_pretrained(dir) would, and encodes and
// decodes the texts templar did.
// stdin: one text per line, a JSON string holding the hex of its UTF-8 bytes.
// stdout: first {"vocab_size", "eos_token_id", "bos_token_id", "model_max_length", "eot_ids" (the ids of
// the literal text "<|endoftext|>"), "eot_text" (the decoding of [eos_token_id])}, then one line per text:
// {"ids": encode(text), "decoded": hex of the UTF-8 of decode(ids)}, or "ERR <message>".
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const root = process.env.TEMPLAR_ROOT || new URL('../..', import.meta.url).pathname;
const require = createRequire(`${root}/tools/node_modules/`);
const { AutoTokenizer, env } = await import(require.resolve('@huggingface/transformers'));

env.allowRemoteModels = false; // the directory or nothing: never the Hub
const tok = await AutoTokenizer.from_pretrained(process.argv[2], { local_files_only: true });
const utf8 = new TextDecoder('utf-8', { fatal: true });
const hex = (s) => Buffer.from(s, 'utf8').toString('hex');

const vocab = tok.get_vocab();
const out = [JSON.stringify({
  vocab_size: vocab instanceof Map ? vocab.size : Object.keys(vocab).length, eos_token_id: tok.eos_token_id, bos_token_id: tok.bos_token_id,
  model_max_length: tok.model_max_length, eot_ids: tok.encode('<|endoftext|>'), eot_text: tok.decode([tok.eos_token_id]),
})];
for (const line of readFileSync(0, 'utf8').split('\n')) {
  if (!line) continue;
  try {
    const text = utf8.decode(Buffer.from(JSON.parse(line), 'hex'));
    const ids = tok.encode(text); // as a user calls it: default options
    // transformers.js refuses to decode an empty list; its text is the empty string.
    out.push(JSON.stringify({ ids, decoded: ids.length ? hex(tok.decode(ids)) : '' }));
  } catch (e) {
    out.push(`ERR ${String(e.message).replace(/\n/g, ' ')}`);
  }
}
process.stdout.write(out.join('\n') + '\n');
