// Reference sr25519 and Merlin for tests/crypto/test_sr25519.c and test_merlin.c: @polkadot/util-crypto
// (installed under tools/ by scripts/install-deps) and @scure/sr25519, the implementation it signs
// with. Reads one request per line on stdin, prints one answer line per request, in order; a request
// that throws answers "ERR <message>". Byte strings are lower-case hex, "-" for an empty one; secret
// keys are in polkadot-js's 64-byte form (scalar * 8 ++ nonce).
//   pair SEED                  -> PUB SECRET          sr25519PairFromSeed
//   sign PUB SECRET MSG        -> SIG                 sr25519Sign (fresh randomness)
//   signr SECRET MSG RNG       -> SIG                 @scure/sr25519 sign, RNG as its 32 random bytes
//   verify PUB MSG SIG         -> 1 | 0               sr25519Verify (a throw is 0)
//   hard PUB SECRET CC         -> PUB SECRET          sr25519DeriveHard
//   soft PUB SECRET CC         -> PUB SECRET          sr25519DeriveSoft
//   softr SECRET CC RNG        -> SECRET              @scure/sr25519 HDKD.secretSoft with RNG
//   softpub PUB CC             -> PUB                 sr25519DerivePublic
//   path SEED PATH             -> PUB SECRET (h|s):CC...   keyExtractPath + keyFromPath, e.g. //Alice/0
//   merlin LABEL OP...         -> HEX                 Merlin transcript; OPs: a:LABEL:MSG (append),
//                                                     c:LABEL:N (challenge), w:LABEL:N:RNG:SEED,SEED..
//                                                     (witness bytes); prints every output, joined
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const root = process.env.TEMPLAR_ROOT || new URL('../..', import.meta.url).pathname;
const require = createRequire(`${root}/tools/node_modules/`);
const uc = require('@polkadot/util-crypto');
// @scure/sr25519 is util-crypto's own dependency: resolve it from there, wherever npm put it.
const requireUc = createRequire(require.resolve('@polkadot/util-crypto'));
const scure = requireUc('@scure/sr25519');

const unhex = (h) => (h === '-' ? new Uint8Array(0) : Uint8Array.from(Buffer.from(h, 'hex')));
const hex = (b) => Buffer.from(b).toString('hex');
const utf8 = (h) => Buffer.from(unhex(h)).toString('latin1');
const fixedRng = (bytes) => (n) => {
  if (n !== bytes.length) throw new Error(`rng asked for ${n} bytes`);
  return Uint8Array.from(bytes);
};

function merlin(label, ops) {
  const t = new scure.__tests.SigningContext(utf8(label));
  const out = [];
  for (const op of ops) {
    const [kind, l, a, b, c] = op.split(':');
    if (kind === 'a') t.appendMessage(utf8(l), unhex(a));
    else if (kind === 'c') out.push(hex(t.challengeBytes(utf8(l), Number(a))));
    else if (kind === 'w') {
      t.rng = fixedRng(unhex(b));
      const seeds = c === undefined || c === '' ? [] : c.split(',').map(unhex);
      out.push(hex(t.witnessBytes(utf8(l), Number(a), seeds)));
    } else throw new Error(`unknown op ${op}`);
  }
  return out.join('') || '-';
}

const pair = (pub, sec) => ({ publicKey: unhex(pub), secretKey: unhex(sec) });

function answer(words) {
  const [cmd, ...a] = words;
  switch (cmd) {
    case 'pair': {
      const p = uc.sr25519PairFromSeed(unhex(a[0]));
      return `${hex(p.publicKey)} ${hex(p.secretKey)}`;
    }
    case 'sign':
      return hex(uc.sr25519Sign(unhex(a[2]), pair(a[0], a[1])));
    case 'signr':
      return hex(scure.sign(unhex(a[0]), unhex(a[1]), fixedRng(unhex(a[2]))));
    case 'verify':
      try {
        return uc.sr25519Verify(unhex(a[1]), unhex(a[2]), unhex(a[0])) ? '1' : '0';
      } catch {
        return '0';
      }
    case 'hard':
    case 'soft': {
      const fn = cmd === 'hard' ? uc.sr25519DeriveHard : uc.sr25519DeriveSoft;
      const p = fn(pair(a[0], a[1]), unhex(a[2]));
      return `${hex(p.publicKey)} ${hex(p.secretKey)}`;
    }
    case 'softr':
      return hex(scure.HDKD.secretSoft(unhex(a[0]), unhex(a[1]), fixedRng(unhex(a[2]))));
    case 'softpub':
      return hex(uc.sr25519DerivePublic(unhex(a[0]), unhex(a[1])));
    case 'path': {
      const { path } = uc.keyExtractPath(a[1]);
      const p = uc.keyFromPath(uc.sr25519PairFromSeed(unhex(a[0])), path, 'sr25519');
      const js = path.map((j) => `${j.isHard ? 'h' : 's'}:${hex(j.chainCode)}`);
      return [hex(p.publicKey), hex(p.secretKey), ...js].join(' ');
    }
    case 'merlin':
      return merlin(a[0], a.slice(1));
    default:
      throw new Error(`unknown request ${cmd}`);
  }
}

await uc.cryptoWaitReady();
const out = [];
for (const line of readFileSync(0, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  try {
    out.push(answer(line.trim().split(/\s+/)));
  } catch (e) {
    out.push(`ERR ${String(e.message || e).replace(/\s+/g, ' ')}`);
  }
}
process.stdout.write(out.join('\n') + '\n');
