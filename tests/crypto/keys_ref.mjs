// Reference for tests/crypto/test_bip39.c and test_keypair.c: @polkadot/util-crypto and @polkadot/keyring
// 14.0.3 (installed under tools/ by scripts/install-deps). Reads one request per line on stdin, each a
// JSON array, and prints one line per request, in order: the answer, or "ERR <message>".
//   ["entropy", PHRASE]             mnemonicToEntropy, hex
//   ["phrase", HEX]                 the phrase of entropy (bip39.js entropyToMnemonic)
//   ["valid", PHRASE]               mnemonicValidate: true / false
//   ["mini", PHRASE, PASSWORD]      mnemonicToMiniSecret, hex
//   ["generate", WORDS]             mnemonicGenerate
//   ["uri", TYPE, SURI]             Keyring({ type }).addFromUri(SURI): the public key, hex
//   ["path", TYPE, SEEDHEX, PATH]   keyExtractSuri("0x" + SEEDHEX + PATH), keyFromPath on the seed's pair
//   ["verify", TYPE, PUB, MSG, SIG] ed25519Verify / sr25519Verify (hex arguments): true / false
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const root = process.env.TEMPLAR_ROOT || new URL('../..', import.meta.url).pathname;
const require = createRequire(`${root}/tools/node_modules/`);
const uc = require('@polkadot/util-crypto');
const { entropyToMnemonic } = require('@polkadot/util-crypto/mnemonic/bip39');
const { Keyring } = require('@polkadot/keyring');
const { hexToU8a, u8aToHex } = require('@polkadot/util');

await uc.cryptoWaitReady();

const hex = (u8a) => u8aToHex(u8a).slice(2);
const u8a = (h) => hexToU8a(`0x${h}`);
const fromSeed = { ed25519: uc.ed25519PairFromSeed, sr25519: uc.sr25519PairFromSeed };
const verify = { ed25519: uc.ed25519Verify, sr25519: uc.sr25519Verify };

const handlers = {
  entropy: (phrase) => hex(uc.mnemonicToEntropy(phrase)),
  phrase: (h) => entropyToMnemonic(u8a(h)),
  valid: (phrase) => String(uc.mnemonicValidate(phrase)),
  mini: (phrase, password) => hex(uc.mnemonicToMiniSecret(phrase, password)),
  generate: (words) => uc.mnemonicGenerate(words),
  uri: (type, suri) => hex(new Keyring({ type }).addFromUri(suri).publicKey),
  path: (type, seed, path) => {
    const { path: junctions } = uc.keyExtractSuri(`0x${seed}${path}`);
    return hex(uc.keyFromPath(fromSeed[type](u8a(seed)), junctions, type).publicKey);
  },
  verify: (type, pub, msg, sig) => String(verify[type](u8a(msg), u8a(sig), u8a(pub))),
};

const out = [];
for (const line of readFileSync(0, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const [op, ...args] = JSON.parse(line);
  try {
    if (!handlers[op]) throw new Error(`unknown request ${op}`);
    out.push(handlers[op](...args));
  } catch (e) {
    out.push(`ERR ${String(e.message).replace(/\n/g, ' ')}`);
  }
}
process.stdout.write(out.join('\n') + '\n');
