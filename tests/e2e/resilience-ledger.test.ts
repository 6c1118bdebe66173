// The ledger failing outright (every RPC answers UNAVAILABLE, through the admin fault API):
// balance reads fall back to the cached balance with `stale: true`, payments answer 503 fast
// and record nothing, and after recovery the same idempotency keys pay exactly once.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import {
  api,
  createMerchant,
  createUser,
  creditWallet,
  eventually,
  merchantBalance,
  newKey,
  userBalance,
} from '../support/api-client.js';
import { assertLedgerInvariants } from '../support/ledger-invariants.js';
import { breaker, clearFault, latencySummary, payMerchant, setFault, timed } from '../support/resilience.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Balance {
  currency: string;
  available: number;
  points: number;
  asOf: string;
  stale: boolean;
}

after(async () => {
  await assertLedgerInvariants();
});

/** The payment rows payment recorded for a payer, by status (payment's own table). */
async function paymentRows(userId: string): Promise<Record<string, number>> {
  const connection = await mysql.createConnection({
    host: process.env.MYSQL_HOST ?? '127.0.0.1',
    port: Number(process.env.MYSQL_PORT ?? 3306),
    user: process.env.MYSQL_USER ?? 'root',
    password: process.env.MYSQL_PASSWORD ?? '',
  });
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      'SELECT status, COUNT(*) AS n FROM koban_payment.payments WHERE payer_user_id = ? GROUP BY status',
      [userId],
    );
    return Object.fromEntries(rows.map((row) => [String(row.status), Number(row.n)]));
  } finally {
    await connection.end();
  }
}

describe('ledger failing', () => {
  it('serves stale cached balances, answers payments 503 fast with nothing recorded, and pays each key once after recovery', async () => {
    const user = await createUser();
    const shop = await createMerchant();
    await creditWallet(user.userId, 5_000);
    const fresh = await api<Balance>('GET', `/v1/users/${user.userId}/balance`, { token: user.token });
    assert.equal(fresh.status, 200);
    assert.equal(fresh.body.stale, false);
    const shopBefore = await merchantBalance(shop);

    const refusedKeys: string[] = [];
    const paymentTimes: number[] = [];
    const balanceTimes: number[] = [];
    const faultSetAt = Date.now();
    await setFault('ledger', { errorRate: 1, code: 'UNAVAILABLE', ttlSeconds: 300 });
    try {
      for (let i = 0; i < 12; i += 1) {
        const key = newKey();
        const attempt = await timed(() => payMerchant(user, shop, 300, key));
        assert.equal(attempt.value.status, 503, JSON.stringify(attempt.value.body));
        assert.equal(
          (attempt.value.body as unknown as { error: { code: string } }).error.code,
          'service_unavailable',
        );
        assert.ok(Number(attempt.value.headers.get('retry-after')) >= 1, 'a 503 says when to come back');
        refusedKeys.push(key);
        paymentTimes.push(attempt.ms);

        const read = await timed(() =>
          api<Balance>('GET', `/v1/users/${user.userId}/balance`, { token: user.token }),
        );
        assert.equal(read.value.status, 200, JSON.stringify(read.value.body));
        assert.equal(read.value.body.stale, true);
        assert.equal(read.value.body.available, 5_000);
        assert.equal(read.value.body.asOf, fresh.body.asOf, 'asOf is when the cached figure was true');
        assert.ok(Date.parse(read.value.body.asOf) <= faultSetAt);
        balanceTimes.push(read.ms);
      }
      const merchantRead = await api<Balance>('GET', `/v1/merchants/${shop.merchantId}/balance`, {
        token: shop.apiKey,
      });
      assert.equal(merchantRead.status, 200, JSON.stringify(merchantRead.body));
      assert.equal(merchantRead.body.stale, true);
      assert.equal(merchantRead.body.available, shopBefore);

      assert.equal((await breaker('payment→ledger'))?.state, 'open');
      assert.equal((await breaker('gateway→ledger'))?.state, 'open');
      // The trip is a log line carrying the trace id of the call that tripped it.
      const trip = readFileSync(path.join(root, '.run/logs/payment.log'), 'utf8')
        .split('\n')
        .filter((line) => line.includes('"breaker":"payment→ledger"') && line.includes('"to":"open"'))
        .map((line) => JSON.parse(line) as { time: string; trace_id?: string })
        .filter((line) => Date.parse(line.time) >= faultSetAt)
        .at(-1);
      assert.match(trip?.trace_id ?? '', /^[0-9a-f]{32}$/, 'the trip log line names the tripping trace');
      console.log(`[resilience] payments with the ledger failing (all 503): ${latencySummary(paymentTimes)}`);
      console.log(
        `[resilience] balance reads with the ledger failing (stale): ${latencySummary(balanceTimes)}`,
      );
      // Fast: no attempt waits out the 1 s ledger budget (let alone the gateway's 4.5 s).
      for (const ms of paymentTimes) assert.ok(ms < 500, `a refused payment took ${ms.toFixed(0)} ms`);
      for (const ms of balanceTimes) assert.ok(ms < 500, `a stale balance read took ${ms.toFixed(0)} ms`);
      assert.deepEqual(await paymentRows(user.userId), {}, 'no payment was recorded while the ledger failed');
    } finally {
      await clearFault('ledger');
    }

    // Recovery: once the breakers let calls through, balances are live again.
    await eventually('a live balance', 30_000, async () => !(await userBalance(user)).stale);
    assert.equal((await userBalance(user)).available, 5_000, 'no money moved during the outage');
    assert.equal(await merchantBalance(shop), shopBefore);

    // The client retries every refused payment with its key: each pays exactly once.
    for (const key of refusedKeys) {
      await eventually('the retried payment', 30_000, async () => {
        const retried = await payMerchant(user, shop, 300, key);
        if (retried.status === 503) return false;
        assert.equal(retried.status, 201, JSON.stringify(retried.body));
        assert.equal(retried.body.status, 'COMPLETED');
        return true;
      });
    }
    const replay = await payMerchant(user, shop, 300, refusedKeys[0]);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    const paid = 300 * refusedKeys.length;
    assert.equal((await userBalance(user)).available, 5_000 - paid);
    assert.equal(await merchantBalance(shop), shopBefore + paid);
    assert.deepEqual(await paymentRows(user.userId), { COMPLETED: refusedKeys.length });
  });
});
