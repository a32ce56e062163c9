// Reference for tests/net/test_keyfile.c: btcli keyfile material made without templar's code, from
// @polkadot/util-crypto 14.0.3 and @noble/hashes (its dependency; pure-JS Argon2), both installed under
// tools/ by scripts/install-deps. Reads one request per line on stdin, each a JSON array, and prints
// one line per request, in order: the answer (JSON), or "ERR <message>".
//   ["sr25519", SEEDHEX]   sr25519PairFromSeed: {publicKey, ed25519Secret (polkadot-js's form),
//                          privateKey (btcli's canonical form: the scalar divided by 8, see below), ss58Address}
//   ["ed25519", SEEDHEX]   ed25519PairFromSeed: {publicKey, privateKey (seed ++ public key), ss58Address}
//   ["mini", PHRASE]       mnemonicToMiniSecret (no password): {seed}
//   ["nacl", PASSWORD, NONCEHEX, TEXT]   btcli's "$NACL" encryption of TEXT: {key, blob} (hex). SLOW:
//                          Argon2i at btcli's limits (8 passes over 512 MiB) takes about a minute in JS.
//   ["open", PASSWORD, BLOBHEX]          the reverse: {text}. Equally slow.
// btcli's format (opentensor/btwallet src/keyfile.rs; opentensor/bittensor bittensor/keyfile.py): key =
// Argon2i v1.3 (password, NACL_SALT, t = 8, m = 512 MiB, p = 1, 32 bytes) - libsodium's
// crypto_pwhash_argon2i OPSLIMIT/MEMLIMIT_SENSITIVE -, blob = "$NACL" ++ nonce ++ secretbox(TEXT).
// Keys are "0x"-less lower-case hex throughout.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const root = process.env.TEMPLAR_ROOT || new URL('../..', import.meta.url).pathname;
const require = createRequire(`${root}/tools/node_modules/`);
const uc = require('@polkadot/util-crypto');
const { hexToU8a, u8aToHex, stringToU8a, u8aToString, u8aConcat } = require('@polkadot/util');
const { argon2i } = require('@noble/hashes/argon2');

await uc.cryptoWaitReady();

const hex = (u8a) => u8aToHex(u8a).slice(2);
const u8a = (h) => hexToU8a(`0x${h}`);
const NACL_SALT = u8a('137183dff15a09bc9c90b5518739e9b1'); // b"\x13q\x83\xdf\xf1Z\t\xbc\x9c\x90\xb5Q\x879\xe9\xb1"
const MAGIC = stringToU8a('$NACL');

// schnorrkel's SecretKey::from_ed25519_bytes: the 32-byte little-endian scalar divided by the cofactor 8
// (exact: polkadot-js's scalar is 8 × a scalar mod l). Done on a BigInt, independently of templar.
function canonical(ed25519Secret) {
  let x = 0n;
  for (let i = 31; i >= 0; i--) x = (x << 8n) | BigInt(ed25519Secret[i]);
  if (x % 8n !== 0n) throw new Error('not an ed25519-form scalar');
  x /= 8n;
  const out = new Uint8Array(64);
  for (let i = 0; i < 32; i++, x >>= 8n) out[i] = Number(x & 0xffn);
  out.set(ed25519Secret.subarray(32), 32);
  return out;
}

const kdf = (password) => argon2i(stringToU8a(password), NACL_SALT, { t: 8, m: 524288, p: 1, dkLen: 32, version: 0x13 });

const handlers = {
  sr25519: (seed) => {
    const p = uc.sr25519PairFromSeed(u8a(seed));
    return { publicKey: hex(p.publicKey), ed25519Secret: hex(p.secretKey), privateKey: hex(canonical(p.secretKey)),
      ss58Address: uc.encodeAddress(p.publicKey, 42) };
  },
  ed25519: (seed) => {
    const p = uc.ed25519PairFromSeed(u8a(seed));
    return { publicKey: hex(p.publicKey), privateKey: hex(p.secretKey), ss58Address: uc.encodeAddress(p.publicKey, 42) };
  },
  mini: (phrase) => ({ seed: hex(uc.mnemonicToMiniSecret(phrase)) }),
  nacl: (password, nonce, text) => {
    const key = kdf(password);
    const { encrypted } = uc.naclEncrypt(stringToU8a(text), key, u8a(nonce));
    return { key: hex(key), blob: hex(u8aConcat(MAGIC, u8a(nonce), encrypted)) };
  },
  open: (password, blob) => {
    const b = u8a(blob);
    if (u8aToString(b.subarray(0, 5)) !== '$NACL') throw new Error('no $NACL prefix');
    const text = uc.naclDecrypt(b.subarray(29), b.subarray(5, 29), kdf(password));
    if (!text) throw new Error('secretbox did not open');
    return { text: u8aToString(text) };
  },
};

const out = [];
for (const line of readFileSync(0, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const [op, ...args] = JSON.parse(line);
  try {
    if (!handlers[op]) throw new Error(`unknown request ${op}`);
    out.push(JSON.stringify(handlers[op](...args)));
  } catch (e) {
    out.push(`ERR ${String(e.message).replace(/\n/g, ' ')}`);
  }
}
process.stdout.write(out.join('\n') + '\n');
