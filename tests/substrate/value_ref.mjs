// Reference encodings from polkadot-js (@polkadot/types, in tools/node_modules), an independent
// implementation of SCALE and of the metadata, for tests/substrate/test_value.c.
//
//   node value_ref.mjs METADATA.bin REQUESTS.json
//
// REQUESTS is a JSON array; each element prints one line: "0x…" (an encoding), a JSON text (a
// decoding), or "ERROR <message>". Values are written in templar's JSON shape (src/substrate/value.h)
// and translated to what polkadot-js accepts only where the two differ: a RuntimeCall, which
// polkadot-js builds from {callIndex, args}, and newtypes and options, which it takes as the inner
// value anyway. polkadot-js does all the encoding itself.
//   {"call": [pallet, call], "args": {...}}        the call's encoding (pallet index, call index, args)
//   {"type": id, "value": v}                         the encoding of v as registry type id
//   {"type": id, "decode": "0x…"}                    {"json": polkadot-js's toJSON, "len": bytes used}
//   {"storage": [pallet, entry], "keys": [...]}      the storage key
//   {"hash": "Blake2_128Concat", "data": "0x…"}      a storage hasher's output (@polkadot/util-crypto)
import { createRequire } from 'module';
import fs from 'fs';
import path from 'path';
import { fileURLToPath } from 'url';

const root = process.env.TEMPLAR_ROOT || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let types, util, crypto;
try {
    const require = createRequire(path.join(root, 'tools', 'package.json'));
    types = require('@polkadot/types');
    util = require('@polkadot/util');
    crypto = require('@polkadot/util-crypto');
} catch (e) {
    console.log(`ERROR @polkadot/types is not installed under ${root}/tools (run scripts/install-deps): ${e.message}`);
    process.exit(2);
}
const { TypeRegistry, Metadata, expandMetadata } = types;
const { stringCamelCase, stringLowerFirst, compactStripLength, u8aToHex, u8aConcat, hexToU8a } = util;
const { blake2AsU8a, xxhashAsU8a } = crypto;

const HASHERS = {
    Blake2_128: (d) => blake2AsU8a(d, 128),
    Blake2_256: (d) => blake2AsU8a(d, 256),
    Blake2_128Concat: (d) => u8aConcat(blake2AsU8a(d, 128), d),
    Twox128: (d) => xxhashAsU8a(d, 128),
    Twox256: (d) => xxhashAsU8a(d, 256),
    Twox64Concat: (d) => u8aConcat(xxhashAsU8a(d, 64), d),
    Identity: (d) => d,
};

// polkadot-js warns on stderr about signed extensions it does not know; that is not our concern.
console.warn = () => {};

const registry = new TypeRegistry();
const metadata = new Metadata(registry, new Uint8Array(fs.readFileSync(process.argv[2])));
registry.setMetadata(metadata);
const latest = metadata.asLatest;
const lookup = latest.lookup;

const names = (fields) => fields.map((f) => (f.name.isSome ? f.name.unwrap().toString() : null));

function trFields(fields, v) {
    if (fields.length === 0) return [];
    const n = names(fields);
    if (fields.length === 1 && n[0] === null) return tr(fields[0].type.toNumber(), v);
    if (n.every((x) => x !== null)) {
        const o = {};
        fields.forEach((f, i) => { o[n[i]] = tr(f.type.toNumber(), v[n[i]]); });
        return o;
    }
    return fields.map((f, i) => tr(f.type.toNumber(), v[i]));
}

function findCall(pallet, call) {
    const p = latest.pallets.find((x) => x.name.toString() === pallet);
    if (!p) throw new Error(`no pallet ${pallet}`);
    const variants = lookup.getSiType(p.calls.unwrap().type.toNumber()).def.asVariant.variants;
    const c = variants.find((x) => x.name.toString() === call);
    if (!c) throw new Error(`no call ${pallet}.${call}`);
    return { p, c };
}

// A RuntimeCall in templar's shape {"Pallet": {"call": {args}}} (or {"Pallet": "call"}).
function trCall(v) {
    const pallet = Object.keys(v)[0];
    const inner = v[pallet];
    const call = typeof inner === 'string' ? inner : Object.keys(inner)[0];
    const { p, c } = findCall(pallet, call);
    const args = typeof inner === 'string' ? {} : trFields(c.fields, inner[call]);
    return registry.createType('Call', { callIndex: [p.index.toNumber(), c.index.toNumber()], args });
}

function tr(id, v) {
    if (lookup.getTypeDef(id).type === 'Call') return trCall(v);
    const t = lookup.getSiType(id);
    const def = t.def;
    if (def.isComposite) return trFields(def.asComposite.fields, v);
    if (def.isVariant) {
        const variants = def.asVariant.variants;
        if (t.path.map(String).join('::') === 'Option' && variants.length === 2) {
            const some = variants.find((x) => x.name.toString() === 'Some');
            return v === null ? null : tr(some.fields[0].type.toNumber(), v);
        }
        if (typeof v === 'string') return v;
        const name = Object.keys(v)[0];
        const variant = variants.find((x) => x.name.toString() === name);
        if (!variant) throw new Error(`no variant ${name}`);
        return { [name]: trFields(variant.fields, v[name]) };
    }
    if (def.isSequence || def.isArray) {
        const elem = (def.isSequence ? def.asSequence : def.asArray).type.toNumber();
        return typeof v === 'string' ? v : v.map((x) => tr(elem, x));
    }
    if (def.isTuple) return v === null ? [] : v.map((x, i) => tr(def.asTuple[i].toNumber(), x));
    return v;
}

function run(req) {
    if (req.hash) return u8aToHex(HASHERS[req.hash](hexToU8a(req.data)));
    if (req.call) {
        return trCall({ [req.call[0]]: { [req.call[1]]: req.args } }).toHex();
    }
    if (req.storage) {
        const q = expandMetadata(registry, metadata).query;
        const fn = q[stringCamelCase(req.storage[0])][stringLowerFirst(req.storage[1])];
        const meta = fn.meta.type;
        let keyTypes = [];
        if (meta.isMap) {
            const m = meta.asMap;
            keyTypes = m.hashers.length === 1 ? [m.key.toNumber()] : lookup.getSiType(m.key.toNumber()).def.asTuple.map((x) => x.toNumber());
        }
        const keys = req.keys.map((k, i) => tr(keyTypes[i], k));
        return u8aToHex(compactStripLength(fn(...keys))[1]);
    }
    const typeName = registry.createLookupType(req.type);
    if (req.decode !== undefined) {
        const x = registry.createType(typeName, hexToU8a(req.decode));
        return JSON.stringify({ json: x.toJSON(), len: x.encodedLength });
    }
    return registry.createType(typeName, tr(req.type, req.value)).toHex();
}

for (const req of JSON.parse(fs.readFileSync(process.argv[3], 'utf8'))) {
    try {
        console.log(run(req));
    } catch (e) {
        console.log(`ERROR ${String(e.message).replace(/\n/g, ' ')}`);
    }
}
