// Resilience against the running platform (`pnpm run up`, FAULTS_ENABLED=true), with faults set
// through the admin API (API.md "Operations"): bank-integration failing outright and
// campaign-promo slowed to 30 s. Each test clears its faults in `finally`. Timings are measured
// from the client and printed; the bounds allow for a loaded 2-core machine.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  api,
  createCampaign,
  createMerchant,
  createQr,
  createUser,
  creditWallet,
  eventually,
  newKey,
  userBalance,
  type TestUser,
} from '../support/api-client.js';
import { assertLedgerInvariants } from '../support/ledger-invariants.js';
import {
  breaker,
  clearFault,
  latencySummary,
  pay,
  payMerchant,
  setFault,
  timed,
  type Payment,
} from '../support/resilience.js';

interface Topup {
  topupId: string;
  status: string;
  amount: number;
}

after(async () => {
  await assertLedgerInvariants();
});

function topup(user: TestUser, bankAccountId: string, amount: number) {
  return api<Topup>('POST', '/v1/topups', {
    token: user.token,
    idempotencyKey: newKey(),
    body: { userId: user.userId, amount, currency: 'JPY', source: { bankAccountId } },
  });
}

describe('bank-integration failing 100 %', () => {
  it('opens payment→bank-integration, answers top-ups PROCESSING fast, keeps wallet and QR payments working, then completes every top-up exactly once', async () => {
    const user = await createUser();
    const shop = await createMerchant();
    const bank = await api<{ bankAccountId: string }>('POST', `/v1/users/${user.userId}/bank-accounts`, {
      token: user.token,
      body: { bankCode: '0005', accountNumber: '1234567' },
    });
    assert.equal(bank.status, 201, JSON.stringify(bank.body));
    await creditWallet(user.userId, 10_000);
    const name = 'payment→bank-integration';
    const before = await breaker(name);

    const processing: Topup[] = [];
    const fastTopups: number[] = [];
    const paymentTimes: number[] = [];
    let spent = 0;
    const payBoth = async (amount: number) => {
      const byWallet = await timed(() => payMerchant(user, shop, amount));
      assert.equal(byWallet.value.status, 201, JSON.stringify(byWallet.value.body));
      assert.equal(byWallet.value.body.status, 'COMPLETED');
      const qr = await createQr(shop, amount);
      const byQr = await timed(() => pay(user, { qrPayload: qr }));
      assert.equal(byQr.value.status, 201, JSON.stringify(byQr.value.body));
      assert.equal(byQr.value.body.status, 'COMPLETED');
      paymentTimes.push(byWallet.ms, byQr.ms);
      spent += 2 * amount;
    };

    await setFault('bank-integration', { errorRate: 1, code: 'UNAVAILABLE', ttlSeconds: 300 });
    try {
      // Top-ups until the breaker opens; each answers PROCESSING, never an error.
      const openStarted = Date.now();
      const tripping: number[] = [];
      await eventually(`${name} open`, 20_000, async () => {
        const attempt = await timed(() => topup(user, bank.body.bankAccountId, 1_000));
        assert.equal(attempt.value.status, 201, JSON.stringify(attempt.value.body));
        assert.equal(attempt.value.body.status, 'PROCESSING');
        processing.push(attempt.value.body);
        tripping.push(attempt.ms);
        await payBoth(100);
        return (await breaker(name))?.state === 'open';
      });
      console.log(
        `[resilience] ${name} open after ${Date.now() - openStarted} ms and ${tripping.length} top-ups (${latencySummary(tripping)})`,
      );

      // Breaker open: no call reaches bank-integration, the top-up answers at once.
      for (let i = 0; i < 10; i += 1) {
        const attempt = await timed(() => topup(user, bank.body.bankAccountId, 1_000));
        assert.equal(attempt.value.status, 201, JSON.stringify(attempt.value.body));
        assert.equal(attempt.value.body.status, 'PROCESSING');
        processing.push(attempt.value.body);
        fastTopups.push(attempt.ms);
      }
      await payBoth(100);
      console.log(`[resilience] top-ups with the breaker open: ${latencySummary(fastTopups)}`);
      console.log(`[resilience] wallet and QR payments during the fault: ${latencySummary(paymentTimes)}`);
      // Issue 6: under 50 ms with the breaker open. The median is held to it; single requests
      // get a looser bound, for the scheduling noise of a loaded 2-core machine.
      const median = [...fastTopups].sort((a, b) => a - b)[Math.floor(fastTopups.length / 2)] ?? NaN;
      assert.ok(median < 50, `top-ups took a median ${median.toFixed(1)} ms with the breaker open`);
      for (const ms of fastTopups)
        assert.ok(ms < 250, `a top-up took ${ms.toFixed(1)} ms with the breaker open`);
      const opened = await breaker(name);
      assert.ok((opened?.rejections ?? 0) > (before?.rejections ?? 0), 'the open breaker rejected calls');
      assert.ok((opened?.trips ?? 0) > (before?.trips ?? 0));
    } finally {
      await clearFault('bank-integration');
    }

    // Recovery: the retrier's trial call half-opens the breaker, its success closes it.
    const states = new Set<string>();
    const clearedAt = Date.now();
    await eventually(`${name} closed again`, 60_000, async () => {
      const state = (await breaker(name))?.state ?? 'missing';
      states.add(state);
      return state === 'closed';
    });
    const closed = await breaker(name);
    assert.ok(
      Date.parse(closed?.lastTransitionAt ?? '') >= clearedAt - 1_000,
      'it closed after the fault was cleared',
    );
    console.log(
      `[resilience] ${name} closed ${Date.now() - clearedAt} ms after the fault was cleared (states seen: ${[...states].join(', ')})`,
    );

    await eventually('every PROCESSING top-up COMPLETED', 120_000, async () => {
      for (const pending of processing) {
        const seen = await api<Topup>('GET', `/v1/topups/${pending.topupId}`, { token: user.token });
        assert.equal(seen.status, 200);
        assert.notEqual(seen.body.status, 'FAILED', `top-up ${pending.topupId} failed`);
        if (seen.body.status !== 'COMPLETED') return false;
      }
      return true;
    });
    const expected = 10_000 - spent + processing.reduce((sum, t) => sum + t.amount, 0);
    assert.equal((await userBalance(user)).available, expected);
    // A second credit of one top-up would come from a late retrier pass: a short, deliberate
    // wait for something that must NOT happen.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.equal((await userBalance(user)).available, expected, 'each top-up credited exactly once');
  });
});

describe('campaign-promo slowed to 30 s', () => {
  it('completes payments in under 2.5 s with cashback PENDING, at no extra cost once the breaker is open, and grants the pending cashback after recovery', async () => {
    const user = await createUser();
    const shop = await createMerchant();
    await createCampaign(shop);
    await creditWallet(user.userId, 100_000);
    const name = 'payment→campaign-promo';

    const pending: Payment[] = [];
    const beforeOpen: number[] = [];
    const whileOpen: number[] = [];
    await setFault('campaign-promo', { latencyMs: 30_000, ttlSeconds: 300 });
    try {
      await eventually(`${name} open`, 60_000, async () => {
        const attempt = await timed(() => payMerchant(user, shop, 1_000));
        assert.equal(attempt.value.status, 201, JSON.stringify(attempt.value.body));
        assert.equal(attempt.value.body.status, 'COMPLETED');
        assert.equal(attempt.value.body.cashback.status, 'PENDING');
        assert.ok(attempt.ms < 2_500, `a payment took ${attempt.ms.toFixed(0)} ms`);
        pending.push(attempt.value.body);
        beforeOpen.push(attempt.ms);
        return (await breaker(name))?.state === 'open';
      });
      for (let i = 0; i < 5; i += 1) {
        const attempt = await timed(() => payMerchant(user, shop, 1_000));
        assert.equal(attempt.value.status, 201, JSON.stringify(attempt.value.body));
        assert.equal(attempt.value.body.cashback.status, 'PENDING');
        pending.push(attempt.value.body);
        whileOpen.push(attempt.ms);
      }
      console.log(`[resilience] payments before ${name} opened: ${latencySummary(beforeOpen)}`);
      console.log(`[resilience] payments with ${name} open: ${latencySummary(whileOpen)}`);
      // "No extra time": well under the 2 s campaign-promo budget the first payments waited out.
      for (const ms of whileOpen)
        assert.ok(ms < 500, `a payment took ${ms.toFixed(0)} ms with the breaker open`);
    } finally {
      await clearFault('campaign-promo');
    }

    const points = pending.length * 100;
    await eventually(`${pending.length} pending cashbacks granted`, 120_000, async () => {
      return (await userBalance(user)).points >= points;
    });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.equal((await userBalance(user)).points, points, 'each pending cashback granted once');
  });
});
