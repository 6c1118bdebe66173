// Load shedding at the gateway (API.md default limits: "gateway in-flight requests"): beyond
// the bound a request answers 503 with Retry-After at once instead of queueing. The gateway is
// restarted with a small bound and payment slowed through the fault API, so a burst holds the
// bound full; it is restarted with the default afterwards.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, createMerchant, createUser, creditWallet, gatewayUrl, newKey } from '../support/api-client.js';
import { clearFault, latencySummary, payMerchant, setFault, timed } from '../support/resilience.js';
import { restartService } from '../support/platform.js';

const BOUND = 8;
const BURST = 40;

describe('gateway load shedding', () => {
  before(async () => {
    await restartService('gateway', { MAX_IN_FLIGHT_REQUESTS: String(BOUND) });
  });
  after(async () => {
    await restartService('gateway', { MAX_IN_FLIGHT_REQUESTS: '2000' });
  });

  it(`answers 503 with Retry-After at once beyond ${BOUND} in-flight requests, serves the rest, and recovers`, async () => {
    const user = await createUser();
    const shop = await createMerchant();
    await creditWallet(user.userId, 100_000);
    // Warm the freshly restarted gateway and the client's connection pool.
    await Promise.all(Array.from({ length: BOUND }, () => payMerchant(user, shop, 100)));

    await setFault('payment', { method: 'CreatePayment', latencyMs: 1_500, ttlSeconds: 120 });
    const burst = await (async () => {
      try {
        return await Promise.all(
          Array.from({ length: BURST }, () => timed(() => payMerchant(user, shop, 100))),
        );
      } finally {
        await clearFault('payment');
      }
    })();

    const shed = burst.filter((r) => r.value.status === 503);
    const served = burst.filter((r) => r.value.status === 201);
    console.log(
      `[resilience] burst of ${BURST} with a bound of ${BOUND}: ${served.length} served (${latencySummary(served.map((r) => r.ms))}), ${shed.length} shed (${latencySummary(shed.map((r) => r.ms))})`,
    );
    assert.equal(
      served.length + shed.length,
      BURST,
      `only 201 or 503: ${burst.map((r) => r.value.status).join(',')}`,
    );
    assert.ok(served.length >= 1 && served.length <= BOUND, `${served.length} served`);
    assert.ok(shed.length >= BURST - BOUND);
    for (const { value, ms } of shed) {
      assert.equal((value.body as unknown as { error: { code: string } }).error.code, 'service_unavailable');
      assert.ok(Number(value.headers.get('retry-after')) >= 1);
      // At once: the served ones wait out the 1.5 s fault, a shed one never queues behind them.
      assert.ok(ms < 1_000, `a shed request took ${ms.toFixed(0)} ms`);
    }
    for (const { value } of served) assert.equal(value.body.status, 'COMPLETED');

    // Health probes are never shed, and once the burst is over requests are served again.
    const health = await fetch(`${gatewayUrl}/healthz`);
    assert.equal(health.status, 200);
    const later = await api('POST', '/v1/payments', {
      token: user.token,
      idempotencyKey: newKey(),
      body: { userId: user.userId, merchantId: shop.merchantId, amount: 100, currency: 'JPY' },
    });
    assert.equal(later.status, 201, JSON.stringify(later.body));
  });
});
