import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError, decodeEnvelope } from '@koban/platform';
import { newKey, startHarness, type Harness } from './support/payment-harness.js';

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** A user with an empty wallet and a linked bank account (bank code `bankCode`) and a card. */
function customer(h: Harness, bankCode = '0001') {
  const user = h.newUser(0);
  return {
    ...user,
    bankAccountId: h.bank.linkBankAccount(user.userId, bankCode),
    cardId: h.bank.registerCard(user.userId),
  };
}

const topupRequest = (
  user: { userId: string },
  source: { bankAccountId: string } | { cardId: string },
  amount = 5_000,
) => ({
  idempotencyKey: newKey(),
  callerId: user.userId,
  userId: user.userId,
  amount,
  currency: 'JPY',
  ...source,
  clientIp: '203.0.113.9',
});

const topupRow = async (h: Harness, topupId: string) =>
  (await h.rows('SELECT status, failure_reason FROM topups WHERE topup_id = ?', [topupId]))[0];

const events = (h: Harness, key: string) =>
  h.rows(
    'SELECT topic, event_type, payload, traceparent FROM outbox WHERE event_key = ? ORDER BY created_at',
    [key],
  );

/** Ledger Transfer calls that carried a top-up's transfer id, and whether it was applied. */
const credits = (h: Harness, topupId: string) => ({
  calls: h.ledger.transferCalls.filter((call) => call.transferId === `topup_${topupId}`).length,
  applied: h.ledger.applied.get(`topup_${topupId}`),
});

void describe('top-ups', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  void it('tops up from a bank account: charge approved, wallet credited exactly once from bank-settlement, TopupCompleted announced', async () => {
    const user = customer(h);
    const request = topupRequest(user, { bankAccountId: user.bankAccountId }, 5_000);
    const { topup, replayed } = await h.client.createTopup(request, h.withMetadata({ traceparent }));
    assert.ok(topup);
    assert.equal(replayed, false);
    assert.match(topup.topupId, /^top_/);
    assert.equal(topup.status, 'TOPUP_STATUS_COMPLETED');
    assert.equal(topup.amount, '5000');
    assert.equal(topup.source, 'bankAccountId');
    assert.equal(topup.bankAccountId, user.bankAccountId);
    assert.equal(topup.failureReason, 'TOPUP_FAILURE_REASON_UNSPECIFIED');
    assert.ok(topup.finishedAt);

    const [charge] = h.bank.createChargeCalls.filter((call) => call.userId === user.userId);
    assert.equal(charge?.chargeId, `topup_${topup.topupId}`);
    assert.equal(charge.purpose, 'CHARGE_PURPOSE_TOPUP');
    assert.equal(charge.bankAccountId, user.bankAccountId);
    assert.equal(charge.amount, '5000');
    assert.equal(charge.clientIp, '203.0.113.9');

    const credit = credits(h, topup.topupId);
    assert.equal(credit.applied?.kind, 'TRANSFER_KIND_TOPUP');
    assert.deepEqual(credit.applied.postings, [
      {
        fromAccountId: h.ledger.settlement.bank,
        toAccountId: user.accountId,
        amount: '5000',
        currency: 'JPY',
      },
    ]);
    assert.equal(h.ledger.balance(user.accountId), 5_000);

    const rows = await events(h, user.accountId);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.['topic'], 'payments.v1');
    assert.equal(rows[0]?.['event_type'], 'TopupCompleted');
    assert.equal(rows[0]?.['traceparent'], traceparent);
    const event = decodeEnvelope(rows[0]?.['payload'] as Buffer).topupCompleted;
    assert.deepEqual(
      { ...event, completedAt: undefined },
      {
        topupId: topup.topupId,
        userId: user.userId,
        accountId: user.accountId,
        amount: '5000',
        currency: 'JPY',
        source: 'bankAccountId',
        bankAccountId: user.bankAccountId,
        ledgerTransferId: `topup_${topup.topupId}`,
        completedAt: undefined,
      },
    );
  });

  void it('tops up from a card through card-settlement', async () => {
    const user = customer(h);
    const { topup } = await h.client.createTopup(topupRequest(user, { cardId: user.cardId }, 3_000));
    assert.equal(topup?.status, 'TOPUP_STATUS_COMPLETED');
    assert.equal(topup.cardId, user.cardId);
    const charge = h.bank.createChargeCalls.find((call) => call.chargeId === `topup_${topup.topupId}`);
    assert.equal(charge?.source, 'cardId');
    assert.equal(charge.cardId, user.cardId);
    assert.deepEqual(credits(h, topup.topupId).applied?.postings, [
      {
        fromAccountId: h.ledger.settlement.card,
        toAccountId: user.accountId,
        amount: '3000',
        currency: 'JPY',
      },
    ]);
    assert.equal(h.ledger.balance(user.accountId), 3_000);
  });

  void it('records a debit bank 0999 declines as a FAILED top-up that credits nothing and announces TopupFailed', async () => {
    const user = customer(h, '0999');
    const request = topupRequest(user, { bankAccountId: user.bankAccountId });
    const { topup } = await h.client.createTopup(request);
    assert.equal(topup?.status, 'TOPUP_STATUS_FAILED');
    assert.equal(topup.failureReason, 'TOPUP_FAILURE_REASON_BANK_DECLINED');
    assert.deepEqual(credits(h, topup.topupId), { calls: 0, applied: undefined });
    assert.equal(h.ledger.balance(user.accountId), 0);
    const rows = await events(h, user.accountId);
    assert.deepEqual(
      rows.map((row) => row['event_type']),
      ['TopupFailed'],
    );
    assert.equal(decodeEnvelope(rows[0]?.['payload'] as Buffer).topupFailed?.reason, 'bank_declined');

    const again = await h.client.createTopup(request);
    assert.equal(again.replayed, true);
    assert.deepEqual(again.topup, topup);
  });

  void it('replays a top-up for the same key without charging again, and refuses the key with another amount', async () => {
    const user = customer(h);
    const request = topupRequest(user, { bankAccountId: user.bankAccountId }, 1_000);
    const first = await h.client.createTopup(request);
    const again = await h.client.createTopup(request);
    assert.equal(again.replayed, true);
    assert.deepEqual(again.topup, first.topup);
    assert.equal(h.bank.createChargeCalls.filter((call) => call.userId === user.userId).length, 1);
    assert.equal(h.ledger.balance(user.accountId), 1_000);
    await assert.rejects(h.client.createTopup({ ...request, amount: 1_001 }), {
      code: 'idempotency_key_reused',
    });
  });

  void it('answers PROCESSING at once while bank-integration fails, and the retrier completes it exactly once after it recovers', async () => {
    const user = customer(h);
    const request = topupRequest(user, { bankAccountId: user.bankAccountId }, 7_000);
    h.bank.mode = 'unavailable';
    let topupId: string;
    try {
      const started = Date.now();
      const { topup } = await h.client.createTopup(request);
      assert.ok(Date.now() - started < 1_000, 'answered without waiting for the bank');
      assert.equal(topup?.status, 'TOPUP_STATUS_PROCESSING');
      assert.equal(topup.finishedAt, null);
      topupId = topup.topupId;

      // Still down: the retrier leaves it PROCESSING.
      await h.app.sweeper.runOnce();
      assert.equal((await topupRow(h, topupId))?.['status'], 'PROCESSING');
    } finally {
      h.bank.mode = 'ok';
    }
    await h.db.query('UPDATE topups SET next_sweep_at = NOW(3) WHERE topup_id = ?', [topupId]);
    await h.app.sweeper.runOnce();
    assert.equal((await topupRow(h, topupId))?.['status'], 'COMPLETED');
    await h.app.sweeper.runOnce();

    const charges = h.bank.createChargeCalls.filter((call) => call.chargeId === `topup_${topupId}`);
    assert.ok(charges.length >= 2, 'the same charge id was sent again');
    assert.equal(credits(h, topupId).calls, 1, 'credited once');
    assert.equal(h.ledger.balance(user.accountId), 7_000);
    assert.deepEqual(
      (await events(h, user.accountId)).map((row) => row['event_type']),
      ['TopupCompleted'],
    );

    const { topup } = await h.client.getTopup(
      { topupId },
      h.withMetadata({ 'koban-caller-id': user.userId }),
    );
    assert.equal(topup?.status, 'TOPUP_STATUS_COMPLETED');
    // The key answers what the request answered first.
    const replay = await h.client.createTopup(request);
    assert.equal(replay.replayed, true);
    assert.equal(replay.topup?.status, 'TOPUP_STATUS_PROCESSING');
  });

  void it('finishes a top-up whose approval was lost on the way back without charging again', async () => {
    const user = customer(h);
    h.bank.mode = 'lose_answer';
    let topupId: string;
    try {
      const { topup } = await h.client.createTopup(topupRequest(user, { cardId: user.cardId }, 2_000));
      assert.equal(topup?.status, 'TOPUP_STATUS_PROCESSING');
      topupId = topup.topupId;
    } finally {
      h.bank.mode = 'ok';
    }
    await h.app.sweeper.runOnce();
    assert.equal((await topupRow(h, topupId))?.['status'], 'COMPLETED');
    assert.equal(h.bank.createChargeCalls.filter((call) => call.chargeId === `topup_${topupId}`).length, 1);
    assert.ok(h.bank.getChargeCalls.includes(`topup_${topupId}`));
    assert.equal(h.ledger.balance(user.accountId), 2_000);
  });

  void it('answers PROCESSING when the ledger cannot credit an approved charge, and credits it later', async () => {
    const user = customer(h);
    h.ledger.down = true;
    let topupId: string;
    try {
      const { topup } = await h.client.createTopup(
        topupRequest(user, { bankAccountId: user.bankAccountId }, 900),
      );
      assert.equal(topup?.status, 'TOPUP_STATUS_PROCESSING');
      topupId = topup.topupId;
    } finally {
      h.ledger.down = false;
    }
    await h.app.sweeper.runOnce();
    assert.equal((await topupRow(h, topupId))?.['status'], 'COMPLETED');
    assert.equal(h.bank.createChargeCalls.filter((call) => call.chargeId === `topup_${topupId}`).length, 1);
    assert.equal(h.ledger.balance(user.accountId), 900);
  });

  void it('has a retry with the same key finish a top-up whose request failed after the credit, crediting once', async () => {
    const user = customer(h);
    const request = topupRequest(user, { bankAccountId: user.bankAccountId }, 1_200);
    await h.db.query('RENAME TABLE outbox TO outbox_away');
    try {
      await assert.rejects(h.client.createTopup(request), { code: 13 });
    } finally {
      await h.db.query('RENAME TABLE outbox_away TO outbox');
    }
    const [row] = await h.rows('SELECT topup_id, status FROM topups WHERE user_id = ?', [user.userId]);
    assert.equal(row?.['status'], 'PROCESSING', 'neither the completion nor its event was recorded');
    const topupId = String(row?.['topup_id']);

    const { topup, replayed } = await h.client.createTopup(request);
    assert.equal(replayed, false);
    assert.equal(topup?.topupId, topupId);
    assert.equal(topup.status, 'TOPUP_STATUS_COMPLETED');
    assert.equal(h.bank.createChargeCalls.filter((call) => call.chargeId === `topup_${topupId}`).length, 1);
    assert.equal(h.ledger.balance(user.accountId), 1_200, 'credited once');
    assert.equal((await events(h, user.accountId)).length, 1);
    const replay = await h.client.createTopup(request);
    assert.equal(replay.replayed, true);
    assert.deepEqual(replay.topup, topup);
  });

  void it('passes lockouts and throttles through as domain errors, recording nothing, and frees the key', async () => {
    const user = customer(h);
    const lockedUntil = new Date(Date.now() + 1_800_000).toISOString();
    h.bank.decide = (call) =>
      call.userId === user.userId
        ? {
            refuse: new DomainError('account_locked', 'card operations are locked', {
              lockedUntil,
              scope: 'user',
            }),
          }
        : 'APPROVED';
    const request = topupRequest(user, { cardId: user.cardId }, 1_500);
    try {
      await assert.rejects(h.client.createTopup(request), {
        code: 'account_locked',
        status: 9,
        details: { lockedUntil, scope: 'user' },
      });
      assert.equal((await h.rows('SELECT topup_id FROM topups WHERE user_id = ?', [user.userId])).length, 0);

      h.bank.decide = () => ({
        refuse: new DomainError('rate_limited', 'too many', { retryAfterSeconds: 600 }),
      });
      await assert.rejects(h.client.createTopup({ ...request, idempotencyKey: newKey() }), {
        code: 'rate_limited',
        status: 8,
        details: { retryAfterSeconds: 600 },
      });
    } finally {
      h.bank.decide = () => 'APPROVED';
    }
    // Nothing was recorded under the key: the same request now goes through.
    const { topup, replayed } = await h.client.createTopup(request);
    assert.equal(replayed, false);
    assert.equal(topup?.status, 'TOPUP_STATUS_COMPLETED');
    assert.equal(h.ledger.balance(user.accountId), 1_500);
  });

  void it("refuses topping up someone else's wallet, a missing source and another currency", async () => {
    const user = customer(h);
    const request = topupRequest(user, { bankAccountId: user.bankAccountId });
    await assert.rejects(h.client.createTopup({ ...request, callerId: h.newUser().userId }), {
      code: 'not_found',
    });
    const { idempotencyKey, callerId, userId, amount, currency } = request;
    await assert.rejects(h.client.createTopup({ idempotencyKey, callerId, userId, amount, currency }), {
      code: 'invalid_request',
      details: { fields: { source: 'give bankAccountId or cardId' } },
    });
    await assert.rejects(h.client.createTopup({ ...request, currency: 'USD' }), {
      code: 'unsupported_currency',
    });
    await assert.rejects(h.client.createTopup({ ...request, amount: 0 }), { code: 'amount_out_of_range' });
    // A source that is not the user's: bank-integration refuses it, nothing is recorded.
    const other = customer(h);
    await assert.rejects(h.client.createTopup({ ...request, bankAccountId: other.bankAccountId }), {
      code: 'not_found',
    });
    assert.equal((await h.rows('SELECT topup_id FROM topups WHERE user_id = ?', [user.userId])).length, 0);
  });

  void it('shows a top-up to its user only', async () => {
    const user = customer(h);
    const { topup } = await h.client.createTopup(topupRequest(user, { bankAccountId: user.bankAccountId }));
    assert.ok(topup);
    const asCaller = (callerId: string) =>
      h.client.getTopup({ topupId: topup.topupId }, h.withMetadata({ 'koban-caller-id': callerId }));
    assert.deepEqual((await asCaller(user.userId)).topup, topup);
    await assert.rejects(asCaller(h.newUser().userId), { code: 'not_found', status: 5 });
    await assert.rejects(h.client.getTopup({ topupId: 'top_unknown' }), { code: 'not_found' });
  });
});

void describe('top-ups against a slow or broken bank-integration', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ bankTimeoutMs: 300, breakers: { bank: {} } });
  });
  after(() => h.close());

  void it('answers PROCESSING at the budget when bank-integration is slow, then completes with the charge the slow call made', async () => {
    const user = customer(h);
    h.bank.delayMs = 800;
    let topupId: string;
    try {
      const started = Date.now();
      const { topup } = await h.client.createTopup(
        topupRequest(user, { bankAccountId: user.bankAccountId }, 4_000),
      );
      assert.ok(Date.now() - started < 700, 'answered at the budget, not at the slow answer');
      assert.equal(topup?.status, 'TOPUP_STATUS_PROCESSING');
      topupId = topup.topupId;
    } finally {
      h.bank.delayMs = 0;
    }
    await new Promise((resolve) => setTimeout(resolve, 600));
    await h.app.sweeper.runOnce();
    assert.equal((await topupRow(h, topupId))?.['status'], 'COMPLETED');
    assert.equal(h.bank.createChargeCalls.filter((call) => call.chargeId === `topup_${topupId}`).length, 1);
    assert.equal(h.ledger.balance(user.accountId), 4_000);
  });

  void it('answers PROCESSING at once, without calling bank-integration, while its breaker is open', async () => {
    const user = customer(h);
    h.bank.mode = 'unavailable';
    try {
      for (let i = 0; i < 5; i += 1) {
        const { topup } = await h.client.createTopup(
          topupRequest(user, { bankAccountId: user.bankAccountId }, 100),
        );
        assert.equal(topup?.status, 'TOPUP_STATUS_PROCESSING');
      }
      assert.equal(h.policies.bank.snapshot().state, 'open');
      const calls = h.bank.createChargeCalls.length;
      const started = Date.now();
      const { topup } = await h.client.createTopup(
        topupRequest(user, { bankAccountId: user.bankAccountId }, 100),
      );
      assert.equal(topup?.status, 'TOPUP_STATUS_PROCESSING');
      assert.ok(Date.now() - started < 200, 'fails fast');
      assert.equal(h.bank.createChargeCalls.length, calls, 'the open breaker kept the call from going out');
    } finally {
      h.bank.mode = 'ok';
    }
  });
});

void describe('the top-up retrier giving up', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { TOPUP_RETRY_DEADLINE_MS: 200, PENDING_FAIL_QUIET_MS: 200 } });
  });
  after(() => h.close());

  void it('fails a top-up as TIMED_OUT once bank-integration never recorded its charge by the deadline, crediting nothing', async () => {
    const user = customer(h);
    h.bank.mode = 'unavailable';
    const { topup } = await h.client.createTopup(topupRequest(user, { bankAccountId: user.bankAccountId }));
    assert.equal(topup?.status, 'TOPUP_STATUS_PROCESSING');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // bank-integration answers again, and has no charge under the id.
    h.bank.mode = 'ok';
    h.bank.decide = () => 'APPROVED';
    await h.app.sweeper.runOnce();
    assert.deepEqual(
      { ...(await topupRow(h, topup.topupId)) },
      { status: 'FAILED', failure_reason: 'TIMED_OUT' },
    );
    assert.equal(h.ledger.balance(user.accountId), 0);
    const [event] = await events(h, user.accountId);
    assert.equal(decodeEnvelope(event?.['payload'] as Buffer).topupFailed?.reason, 'timed_out');
  });

  void it('never abandons a top-up whose charge was approved, however late', async () => {
    const user = customer(h);
    h.bank.decide = () => 'PENDING';
    try {
      const { topup } = await h.client.createTopup(topupRequest(user, { cardId: user.cardId }, 600));
      assert.equal(topup?.status, 'TOPUP_STATUS_PROCESSING');
      await new Promise((resolve) => setTimeout(resolve, 300));
      await h.app.sweeper.runOnce();
      assert.equal(
        (await topupRow(h, topup.topupId))?.['status'],
        'PROCESSING',
        'the issuer has not answered',
      );
      h.bank.settle(`topup_${topup.topupId}`, 'CHARGE_STATUS_APPROVED');
      await h.db.query('UPDATE topups SET next_sweep_at = NOW(3) WHERE topup_id = ?', [topup.topupId]);
      await h.app.sweeper.runOnce();
      assert.equal((await topupRow(h, topup.topupId))?.['status'], 'COMPLETED');
      assert.equal(h.ledger.balance(user.accountId), 600);
    } finally {
      h.bank.decide = () => 'APPROVED';
    }
  });
});
