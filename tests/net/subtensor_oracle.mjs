// An independent reader (polkadot-js) of a subnet's state, for tests/net/test_subtensor.c to compare
// templar's own SCALE/metadata reading against: node subtensor_oracle.mjs http://127.0.0.1:PORT NETUID
// Prints one JSON object: per uid hotkey (hex), stake (rao), incentive/dividends (u16), emission (rao),
// last update, validator permit, commitment (hex of the Raw field), and each uid's weight row.
import { createRequire } from 'node:module';

// The packages live under tools/ (scripts/install-deps), not beside this script.
const root = process.env.TEMPLAR_ROOT || new URL('../..', import.meta.url).pathname;
const require = createRequire(`${root}/tools/node_modules/`);
const { ApiPromise, HttpProvider } = require('@polkadot/api');
const { u8aToHex } = require('@polkadot/util');

const [url, netuidArg] = process.argv.slice(2);
const netuid = Number(netuidArg);
const api = await ApiPromise.create({ provider: new HttpProvider(url), noInitWarn: true });
const q = api.query.subtensorModule;
const n = (await q.subnetworkN(netuid)).toNumber();
const dtao = !q.totalHotkeyStake;
const vec = async (name) => (await q[name](netuid)).toJSON();
const out = { n, incentive: await vec('incentive'), dividends: await vec('dividends'),
  emission: (await q.emission(netuid)).map(x => x.toString()), lastUpdate: await vec('lastUpdate'),
  validatorPermit: await vec('validatorPermit'), uids: [] };
for (let uid = 0; uid < n; uid++) {
  const hk = await q.keys(netuid, uid);
  const stake = dtao ? await q.totalHotkeyAlpha(hk, netuid) : await q.totalHotkeyStake(hk);
  const c = await api.query.commitments.commitmentOf(netuid, hk);
  let commitment = null;
  if (c.isSome) {
    const f = c.unwrap().info.fields[0];
    commitment = u8aToHex(f.isRaw ? f.asRaw : f.value.toU8a(true));
  }
  const weights = (await q.weights(netuid, uid)).map(([d, w]) => [d.toNumber(), w.toNumber()]);
  out.uids.push({ uid, hotkey: u8aToHex(hk.toU8a()), stake: stake.toString(), commitment, weights });
}
console.log(JSON.stringify(out));
process.exit(0);
