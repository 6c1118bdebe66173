// `pnpm bench:payments`: QR payments through the gateway at a fixed arrival rate (an open
// model: requests are sent on schedule whether or not earlier ones have answered, as real
// users do), reporting throughput and latency percentiles. A benchmark, not a test.
//
//   RATE=50 DURATION_S=20 PAYERS=100 pnpm bench:payments
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import {
  api,
  createMerchant,
  createQr,
  createUser,
  creditWallet,
  gatewayUrl,
  newKey,
} from '../support/api-client.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: process.env.RATE ?? '50' },
    'duration-s': { type: 'string', default: process.env.DURATION_S ?? '20' },
    payers: { type: 'string', default: process.env.PAYERS ?? '100' },
  },
});
const rate = Number(values.rate);
const durationS = Number(values['duration-s']);
const payerCount = Number(values.payers);
const amount = 100;

console.log(`setting up ${payerCount} funded payers and a merchant at ${gatewayUrl} ...`);
const shop = await createMerchant('Bench Mart');
const staticQr = await createQr(shop);
const payers = [];
for (let i = 0; i < payerCount; i += 1) {
  const payer = await createUser(`bench-${i}`);
  await creditWallet(payer.userId, 1_000_000);
  payers.push(payer);
}

const latency = hdr.build({
  lowestDiscernibleValue: 1,
  highestTrackableValue: 60_000_000,
  numberOfSignificantValueDigits: 3,
});
const statuses = new Map<number, number>();
const total = Math.round(rate * durationS);
const intervalMs = 1_000 / rate;
const inFlight: Promise<void>[] = [];

console.log(`sending ${total} QR payments at ${rate}/s for ${durationS} s ...`);
const started = performance.now();
for (let i = 0; i < total; i += 1) {
  const due = started + i * intervalMs;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const payer = payers[i % payers.length];
  // Latency is measured from the scheduled send time, so a stalled client cannot hide queueing
  // (coordinated omission).
  inFlight.push(
    api('POST', '/v1/payments', {
      token: payer.token,
      idempotencyKey: newKey(),
      body: { userId: payer.userId, qrPayload: staticQr, amount, currency: 'JPY' },
    }).then(
      (response) => {
        latency.recordValue(Math.max(1, Math.round((performance.now() - due) * 1_000)));
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      },
      () => {
        statuses.set(0, (statuses.get(0) ?? 0) + 1);
      },
    ),
  );
}
await Promise.all(inFlight);
const elapsedS = (performance.now() - started) / 1_000;

const ok = statuses.get(201) ?? 0;
const ms = (micros: number) => (micros / 1_000).toFixed(1);
console.log(`
offered rate      ${rate}/s for ${durationS} s (${total} requests)
completed (201)   ${ok}  → ${(ok / elapsedS).toFixed(1)} payments/s
statuses          ${[...statuses.entries()].map(([status, count]) => `${status === 0 ? 'network error' : status}: ${count}`).join(', ')}
latency ms        p50 ${ms(latency.getValueAtPercentile(50))} · p90 ${ms(latency.getValueAtPercentile(90))} · p99 ${ms(latency.getValueAtPercentile(99))} · max ${ms(latency.maxValue)}`);
