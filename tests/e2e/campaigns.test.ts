// Campaigns and cashback against the running platform: points granted with payments, a budget
// never exceeded under concurrency, payments unharmed while campaign-promo is down (cashback
// PENDING, granted exactly once when it returns), and proportional clawback on refunds.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  adminToken,
  api,
  createCampaign,
  createMerchant,
  createUser,
  creditWallet,
  eventually,
  mapLimited,
  newKey,
  userBalance,
  type TestMerchant,
  type TestUser,
} from '../support/api-client.js';
import { assertLedgerInvariants } from '../support/ledger-invariants.js';
import { startService, stopService } from '../support/platform.js';

interface Payment {
  paymentId: string;
  status: string;
  cashback: { status: string; points: number };
}

interface Campaign {
  campaignId: string;
  budgetPoints: number;
  grantedPoints: number;
  remainingPoints: number;
}

async function campaign(campaignId: string): Promise<Campaign> {
  const response = await api<Campaign>('GET', `/v1/campaigns/${campaignId}`, { token: adminToken });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body;
}

function pay(user: TestUser, merchant: TestMerchant, amount: number) {
  return api<Payment>('POST', '/v1/payments', {
    token: user.token,
    idempotencyKey: newKey(),
    body: { userId: user.userId, merchantId: merchant.merchantId, amount, currency: 'JPY' },
  });
}

/**
 * Pays as a well-behaved client under overload: on 503 (or 409 while its first attempt still
 * runs) it retries with the SAME idempotency key, so the payment happens exactly once.
 */
async function payRetrying(user: TestUser, merchant: TestMerchant, amount: number) {
  const idempotencyKey = newKey();
  const deadline = Date.now() + 60_000;
  for (let delayMs = 200; ; delayMs = Math.min(delayMs * 2, 3_000)) {
    const response = await api<Payment>('POST', '/v1/payments', {
      token: user.token,
      idempotencyKey,
      body: { userId: user.userId, merchantId: merchant.merchantId, amount, currency: 'JPY' },
    });
    if ((response.status !== 503 && response.status !== 409) || Date.now() > deadline) return response;
    await new Promise((resolve) => setTimeout(resolve, delayMs * (0.5 + Math.random())));
  }
}

after(async () => {
  await assertLedgerInvariants();
});

describe('cashback', () => {
  it('grants 10 % up to ¥100 per payment, visible in the balance and the campaign', async () => {
    const user = await createUser();
    const shop = await createMerchant();
    const campaignId = await createCampaign(shop, { budgetPoints: 10_000 });
    await creditWallet(user.userId, 5_000);

    const small = await pay(user, shop, 500);
    assert.equal(small.status, 201, JSON.stringify(small.body));
    assert.deepEqual(small.body.cashback, { status: 'GRANTED', points: 50 });
    const capped = await pay(user, shop, 2_000);
    assert.deepEqual(capped.body.cashback, { status: 'GRANTED', points: 100 });
    assert.equal((await userBalance(user)).points, 150);
    const seen = await campaign(campaignId);
    assert.equal(seen.grantedPoints, 150);
    assert.equal(seen.remainingPoints, 9_850);

    const elsewhere = await createMerchant();
    const noCampaign = await pay(user, elsewhere, 500);
    assert.equal(noCampaign.body.cashback.status, 'NONE');
  });

  it('grants exactly 37 of 200 concurrent payments when the budget covers 37 grants', async () => {
    const shop = await createMerchant();
    const campaignId = await createCampaign(shop, { budgetPoints: 37 * 100 });
    const users = await mapLimited(Array.from({ length: 200 }), 10, () => createUser());
    await mapLimited(users, 10, (user) => creditWallet(user.userId, 1_000));

    const responses = await Promise.all(users.map((user) => payRetrying(user, shop, 1_000)));
    for (const response of responses) assert.equal(response.status, 201, JSON.stringify(response.body));
    // Grants deferred to the retry queue (a slow moment) count against the same budget: wait
    // until 37 users hold points, then check that no one else does.
    const rewardedUsers = async () =>
      (await mapLimited(users, 10, (user) => userBalance(user))).filter((b) => b.points > 0).length;
    await eventually('37 users rewarded', 60_000, async () => (await rewardedUsers()) >= 37);
    const points = await mapLimited(users, 10, async (user) => (await userBalance(user)).points);
    const rewarded = points.filter((p) => p > 0);
    assert.equal(rewarded.length, 37, 'exactly 37 users get points');
    assert.ok(rewarded.every((p) => p === 100));
    const seen = await campaign(campaignId);
    assert.equal(seen.grantedPoints, 3_700);
    assert.equal(seen.remainingPoints, 0);
    assert.equal(
      points.reduce((sum, p) => sum + p, 0),
      seen.grantedPoints,
      'the ledger agrees with the campaign',
    );
  });

  it('completes payments in under 2.5 s while campaign-promo is down, and grants each pending cashback once it returns', async () => {
    const user = await createUser();
    const shop = await createMerchant();
    await createCampaign(shop, { budgetPoints: 10_000 });
    await creditWallet(user.userId, 10_000);

    await stopService('campaign-promo');
    const pending: Payment[] = [];
    try {
      for (let i = 0; i < 5; i += 1) {
        const started = performance.now();
        const response = await pay(user, shop, 1_000);
        const elapsed = performance.now() - started;
        assert.equal(response.status, 201, JSON.stringify(response.body));
        assert.equal(response.body.status, 'COMPLETED');
        assert.equal(response.body.cashback.status, 'PENDING');
        assert.ok(elapsed < 2_500, `payment took ${elapsed.toFixed(0)} ms`);
        pending.push(response.body);
      }
    } finally {
      await startService('campaign-promo');
    }
    await eventually('pending cashback granted', 90_000, async () => (await userBalance(user)).points >= 500);
    // A double grant (a redelivered deferred event) would land within moments of the first:
    // a short, deliberate wait for something that must NOT happen.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.equal((await userBalance(user)).points, 500);
  });

  it('claws back the points of the refunded part', async () => {
    const user = await createUser();
    const shop = await createMerchant();
    await createCampaign(shop, { budgetPoints: 10_000, cashbackBps: 1_000, maxPointsPerPayment: 1_000 });
    await creditWallet(user.userId, 5_000);
    const payment = await pay(user, shop, 4_000);
    assert.deepEqual(payment.body.cashback, { status: 'GRANTED', points: 400 });

    const refund = await api('POST', `/v1/payments/${payment.body.paymentId}/refunds`, {
      token: shop.apiKey,
      idempotencyKey: newKey(),
      body: { amount: 1_000 },
    });
    assert.equal(refund.status, 201, JSON.stringify(refund.body));
    await eventually('clawback applied', 30_000, async () => (await userBalance(user)).points === 300);
  });
});
