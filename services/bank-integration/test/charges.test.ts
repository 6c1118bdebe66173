import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { cvcOf, future, randomCardNumber } from './support/cards.js';
import {
  eventually,
  newChargeId,
  newUserId,
  refusal,
  startHarness,
  type Harness,
} from './support/bank-harness.js';

const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const FAILED_PRECONDITION = 9;
const UNAVAILABLE = 14;
const BANK_TIMEOUT_MS = 300;

let ipCounter = 0;
const newIp = () => `203.0.113.${++ipCounter}`;

void describe('charges', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ bankTimeoutMs: BANK_TIMEOUT_MS, issuerTimeoutMs: BANK_TIMEOUT_MS });
  });
  after(() => h.close());
  beforeEach(() => {
    h.fraud.down = false;
    h.bankSim.latencyMs = 0;
    h.bankSim.failureRate = 0;
    h.issuerSim.latencyMs = 0;
    h.issuerSim.failureRate = 0;
    h.scriptAuthorize = undefined;
    h.clock.offsetMs = 0;
  });

  const linkAccount = async (userId: string, bankCode = '0001') =>
    (await h.client.linkBankAccount({ userId, bankCode, accountNumber: '1234567' })).bankAccount
      ?.bankAccountId ?? assert.fail('no bank account');

  const registerCard = async (userId: string, pan = randomCardNumber()) =>
    (await h.client.registerCard({ userId, number: pan, cvc: cvcOf(pan), clientIp: newIp(), ...future }))
      .card ?? assert.fail('no card');

  const bankCharge = (userId: string, bankAccountId: string, amount = 5_000, chargeId = newChargeId()) => ({
    chargeId,
    userId,
    amount: String(amount),
    currency: 'JPY',
    bankAccountId,
    purpose: 'CHARGE_PURPOSE_TOPUP' as const,
    clientIp: newIp(),
  });

  const cardCharge = (userId: string, cardId: string, amount = 2_000, clientIp = newIp()) => ({
    chargeId: newChargeId(),
    userId,
    amount: String(amount),
    currency: 'JPY',
    cardId,
    purpose: 'CHARGE_PURPOSE_PAYMENT' as const,
    clientIp,
  });

  const chargeRows = (chargeId: string) =>
    h.rows('SELECT status FROM charges WHERE charge_id = ?', [chargeId]);

  void describe('from a bank account', () => {
    void it('approves a top-up with the bank’s reference, and answers a repeat with the stored charge without asking the bank again', async () => {
      const userId = newUserId();
      const request = bankCharge(userId, await linkAccount(userId), 7_500);
      const first = await h.client.createCharge(request);
      assert.equal(first.replayed, false);
      assert.ok(first.charge);
      assert.equal(first.charge.status, 'CHARGE_STATUS_APPROVED');
      assert.equal(first.charge.declineReason, 'CHARGE_DECLINE_REASON_UNSPECIFIED');
      assert.equal(first.charge.amount, '7500');
      assert.equal(first.charge.currency, 'JPY');
      assert.equal(first.charge.source, 'bankAccountId');
      assert.equal(first.charge.bankAccountId, request.bankAccountId);
      assert.equal(first.charge.purpose, 'CHARGE_PURPOSE_TOPUP');
      assert.match(first.charge.authorizationCode, /^0001-[0-9A-F]{16}$/);
      assert.equal(first.charge.refundedAmount, '0');

      const debits = h.calls.debit;
      const again = await h.client.createCharge(request);
      assert.equal(again.replayed, true);
      assert.deepEqual(again.charge, first.charge);
      assert.equal(h.calls.debit, debits);
      assert.deepEqual((await h.client.getCharge({ chargeId: request.chargeId })).charge, first.charge);
    });

    void it('records a DECLINED charge with reason bank_declined at bank 0999, and replays it', async () => {
      const userId = newUserId();
      const request = bankCharge(userId, await linkAccount(userId, '0999'));
      const { charge } = await h.client.createCharge(request);
      assert.equal(charge?.status, 'CHARGE_STATUS_DECLINED');
      assert.equal(charge.declineReason, 'CHARGE_DECLINE_REASON_BANK_DECLINED');
      assert.equal(charge.authorizationCode, '');
      const again = await h.client.createCharge(request);
      assert.equal(again.replayed, true);
      assert.equal(again.charge?.status, 'CHARGE_STATUS_DECLINED');
    });

    void it('moves money once when one charge id arrives many times at once', async () => {
      const userId = newUserId();
      const request = bankCharge(userId, await linkAccount(userId));
      h.bankSim.latencyMs = 50;
      const answers = await Promise.all(Array.from({ length: 8 }, () => h.client.createCharge(request)));
      assert.equal(answers.filter((answer) => !answer.replayed).length, 1);
      assert.equal(new Set(answers.map((answer) => answer.charge?.authorizationCode)).size, 1);
      assert.ok(answers.every((answer) => answer.charge?.status === 'CHARGE_STATUS_APPROVED'));
      assert.equal((await chargeRows(request.chargeId)).length, 1);
    });

    void it('refuses a charge id reused for another charge with idempotency_key_reused', async () => {
      const userId = newUserId();
      const request = bankCharge(userId, await linkAccount(userId));
      await h.client.createCharge(request);
      await assert.rejects(h.client.createCharge({ ...request, amount: '5001' }), {
        code: 'idempotency_key_reused',
        status: ALREADY_EXISTS,
      });
    });

    void it('answers PENDING when the bank does not answer in time, and GetCharge reports the outcome later', async () => {
      const userId = newUserId();
      const request = bankCharge(userId, await linkAccount(userId));
      h.bankSim.latencyMs = BANK_TIMEOUT_MS + 300;
      const started = Date.now();
      const { charge } = await h.client.createCharge(request);
      assert.equal(charge?.status, 'CHARGE_STATUS_PENDING');
      assert.ok(Date.now() - started < BANK_TIMEOUT_MS + 250, `answered after ${Date.now() - started} ms`);
      assert.equal((await chargeRows(request.chargeId))[0]?.['status'], 'PENDING');

      h.bankSim.latencyMs = 0;
      const settled = await eventually(async () => {
        const { charge: now } = await h.client.getCharge({ chargeId: request.chargeId });
        return now?.status === 'CHARGE_STATUS_PENDING' ? undefined : now;
      });
      assert.equal(settled?.status, 'CHARGE_STATUS_APPROVED');
      assert.equal((await chargeRows(request.chargeId))[0]?.['status'], 'APPROVED');
    });

    void it('keeps a charge whose answer was lost PENDING, and the bank’s remembered decision settles it', async () => {
      const userId = newUserId();
      const request = bankCharge(userId, await linkAccount(userId, '0999'));
      h.bankSim.failureRate = 1;
      assert.equal((await h.client.createCharge(request)).charge?.status, 'CHARGE_STATUS_PENDING');
      assert.equal(
        (await h.client.getCharge({ chargeId: request.chargeId })).charge?.status,
        'CHARGE_STATUS_PENDING',
      );
      h.bankSim.failureRate = 0;
      const replay = await h.client.createCharge(request);
      assert.equal(replay.replayed, true);
      assert.equal(replay.charge?.status, 'CHARGE_STATUS_DECLINED');
      assert.equal(replay.charge.declineReason, 'CHARGE_DECLINE_REASON_BANK_DECLINED');
    });

    void it('answers not_found for an account of another user or no account, recording nothing', async () => {
      const owner = newUserId();
      const accountId = await linkAccount(owner);
      const intruder = newUserId();
      const request = bankCharge(intruder, accountId);
      await assert.rejects(h.client.createCharge(request), { code: 'not_found', status: NOT_FOUND });
      await assert.rejects(h.client.createCharge(bankCharge(intruder, 'ba_nope')), { code: 'not_found' });
      assert.equal((await chargeRows(request.chargeId)).length, 0);
      await assert.rejects(h.client.getCharge({ chargeId: request.chargeId }), { code: 'not_found' });
    });

    void it('refuses other currencies, amounts out of range and a missing source', async () => {
      const userId = newUserId();
      const accountId = await linkAccount(userId);
      await assert.rejects(h.client.createCharge({ ...bankCharge(userId, accountId), currency: 'USD' }), {
        code: 'unsupported_currency',
        status: INVALID_ARGUMENT,
      });
      await assert.rejects(h.client.createCharge(bankCharge(userId, accountId, 0)), {
        code: 'amount_out_of_range',
      });
      await assert.rejects(h.client.createCharge(bankCharge(userId, accountId, 10_000_001)), {
        code: 'amount_out_of_range',
      });
      const { chargeId, amount, currency, purpose, clientIp } = bankCharge(userId, accountId);
      await assert.rejects(h.client.createCharge({ chargeId, userId, amount, currency, purpose, clientIp }), {
        code: 'invalid_request',
        details: { fields: { source: 'a bank account id or a card id is required' } },
      });
    });
  });

  void describe('from a card', () => {
    void it('approves a card payment with the issuer’s authorisation code', async () => {
      const userId = newUserId();
      const card = await registerCard(userId);
      const request = cardCharge(userId, card.cardId);
      const { charge, replayed } = await h.client.createCharge(request);
      assert.equal(replayed, false);
      assert.equal(charge?.status, 'CHARGE_STATUS_APPROVED');
      assert.equal(charge.source, 'cardId');
      assert.equal(charge.cardId, card.cardId);
      assert.equal(charge.purpose, 'CHARGE_PURPOSE_PAYMENT');
      assert.match(charge.authorizationCode, /^[0-9A-F]{8}$/);
    });

    void it('answers account_locked for a locked user without reaching the issuer or recording a charge', async () => {
      const userId = newUserId();
      const card = await registerCard(userId);
      h.fraud.lock('user', userId);
      const authorizations = h.calls.authorize;
      const request = cardCharge(userId, card.cardId);
      const error = await refusal(h.client.createCharge(request));
      assert.equal(error.code, 'account_locked');
      assert.equal(error.status, FAILED_PRECONDITION);
      assert.equal(error.details['scope'], 'user');
      assert.ok(Date.parse(String(error.details['lockedUntil'])) > Date.now());
      assert.equal(h.calls.authorize, authorizations);
      assert.equal((await chargeRows(request.chargeId)).length, 0);
    });

    void it('answers account_locked with scope card for a card locked across users', async () => {
      const userId = newUserId();
      const card = await registerCard(userId);
      h.fraud.lock('card', card.fingerprint);
      const authorizations = h.calls.authorize;
      const error = await refusal(h.client.createCharge(cardCharge(userId, card.cardId)));
      assert.equal(error.code, 'account_locked');
      assert.equal(error.details['scope'], 'card');
      assert.equal(h.calls.authorize, authorizations);
    });

    void it('answers rate_limited for a throttled client IP', async () => {
      const userId = newUserId();
      const card = await registerCard(userId);
      const clientIp = newIp();
      h.fraud.lock('ip', clientIp, 120_000);
      const error = await refusal(h.client.createCharge(cardCharge(userId, card.cardId, 500, clientIp)));
      assert.equal(error.code, 'rate_limited');
      assert.ok(Number(error.details['retryAfterSeconds']) <= 120);
    });

    void it('fails closed with service_unavailable when fraud is down, recording no charge', async () => {
      const userId = newUserId();
      const card = await registerCard(userId);
      h.fraud.down = true;
      const request = cardCharge(userId, card.cardId);
      await assert.rejects(h.client.createCharge(request), {
        code: 'service_unavailable',
        status: UNAVAILABLE,
      });
      assert.equal((await chargeRows(request.chargeId)).length, 0);
    });

    void it('records an issuer decline as a DECLINED charge and reports the failed check to fraud', async () => {
      const userId = newUserId();
      const card = await registerCard(userId);
      h.scriptAuthorize = { outcome: 'declined', reason: 'card_declined' };
      const request = cardCharge(userId, card.cardId);
      const { charge } = await h.client.createCharge(request);
      assert.equal(charge?.status, 'CHARGE_STATUS_DECLINED');
      assert.equal(charge.declineReason, 'CHARGE_DECLINE_REASON_CARD_DECLINED');
      const recorded = h.fraud.recorded.filter((call) => call.userId === userId);
      assert.deepEqual(
        recorded.map((call) => [call.result, call.cardFingerprint, call.clientIp]),
        [['CARD_CHECK_RESULT_DECLINED', card.fingerprint, request.clientIp]],
      );
    });

    void it('declines a card that has expired since it was registered with reason card_expired', async () => {
      const userId = newUserId();
      const card = await registerCard(userId);
      h.clock.offsetMs = 5 * 366 * 24 * 3_600_000;
      const { charge } = await h.client.createCharge(cardCharge(userId, card.cardId));
      assert.equal(charge?.status, 'CHARGE_STATUS_DECLINED');
      assert.equal(charge.declineReason, 'CHARGE_DECLINE_REASON_CARD_EXPIRED');
      assert.equal(
        h.fraud.recorded.filter((call) => call.userId === userId).at(-1)?.result,
        'CARD_CHECK_RESULT_EXPIRED',
      );
    });

    void it('answers PENDING when the issuer is slow, and settles it on GetCharge with the same key', async () => {
      const userId = newUserId();
      const card = await registerCard(userId);
      const request = cardCharge(userId, card.cardId);
      h.issuerSim.latencyMs = BANK_TIMEOUT_MS + 200;
      assert.equal((await h.client.createCharge(request)).charge?.status, 'CHARGE_STATUS_PENDING');
      h.issuerSim.latencyMs = 0;
      const settled = await eventually(async () => {
        const { charge } = await h.client.getCharge({ chargeId: request.chargeId });
        return charge?.status === 'CHARGE_STATUS_PENDING' ? undefined : charge;
      });
      assert.equal(settled?.status, 'CHARGE_STATUS_APPROVED');
    });

    void it('answers not_found for another user’s card', async () => {
      const card = await registerCard(newUserId());
      await assert.rejects(h.client.createCharge(cardCharge(newUserId(), card.cardId)), {
        code: 'not_found',
      });
    });
  });

  void describe('refunds', () => {
    const approvedBankCharge = async (amount = 5_000) => {
      const userId = newUserId();
      const request = bankCharge(userId, await linkAccount(userId), amount);
      await h.client.createCharge(request);
      return request.chargeId;
    };

    void it('refund parts of a charge, each refund id at most once, never more than was charged', async () => {
      const chargeId = await approvedBankCharge(5_000);
      const first = await h.client.refundCharge({ refundId: `${chargeId}-r1`, chargeId, amount: '2000' });
      assert.equal(first.replayed, false);
      assert.equal(first.charge?.refundedAmount, '2000');

      const refunds = h.calls.bankRefund;
      const replay = await h.client.refundCharge({ refundId: `${chargeId}-r1`, chargeId, amount: '2000' });
      assert.equal(replay.replayed, true);
      assert.equal(replay.charge?.refundedAmount, '2000');
      assert.equal(h.calls.bankRefund, refunds);

      const tooMuch = await refusal(
        h.client.refundCharge({ refundId: `${chargeId}-r2`, chargeId, amount: '3001' }),
      );
      assert.equal(tooMuch.code, 'refund_exceeds_payment');
      assert.equal(tooMuch.status, FAILED_PRECONDITION);
      assert.deepEqual(tooMuch.details, { refundable: 3000 });

      const rest = await h.client.refundCharge({ refundId: `${chargeId}-r2`, chargeId, amount: '3000' });
      assert.equal(rest.charge?.refundedAmount, '5000');
      await assert.rejects(h.client.refundCharge({ refundId: `${chargeId}-r1`, chargeId, amount: '1000' }), {
        code: 'idempotency_key_reused',
      });
      const rows = await h.rows('SELECT status FROM charge_refunds WHERE charge_id = ?', [chargeId]);
      assert.deepEqual(
        rows.map((row) => row['status']),
        ['COMPLETED', 'COMPLETED'],
      );
    });

    void it('refund concurrent requests within the charge: the sum never exceeds it', async () => {
      const chargeId = await approvedBankCharge(1_000);
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          h.client.refundCharge({ refundId: `${chargeId}-c${i}`, chargeId, amount: '300' }),
        ),
      );
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 3);
      const [row] = await h.rows('SELECT refunded_amount FROM charges WHERE charge_id = ?', [chargeId]);
      assert.equal(Number(row?.['refunded_amount']), 900);
    });

    void it('refuse refunds of a declined charge and of an unknown one', async () => {
      const userId = newUserId();
      const declined = bankCharge(userId, await linkAccount(userId, '0999'));
      await h.client.createCharge(declined);
      const error = await refusal(
        h.client.refundCharge({ refundId: newChargeId(), chargeId: declined.chargeId, amount: '1' }),
      );
      assert.equal(error.code, 'refund_exceeds_payment');
      assert.deepEqual(error.details, { refundable: 0 });
      await assert.rejects(
        h.client.refundCharge({ refundId: newChargeId(), chargeId: 'chg_nope', amount: '1' }),
        {
          code: 'not_found',
        },
      );
    });

    void it('keep a refund the bank did not confirm and send it again, once, under the same refund id', async () => {
      const chargeId = await approvedBankCharge(4_000);
      h.bankSim.failureRate = 1;
      await assert.rejects(h.client.refundCharge({ refundId: `${chargeId}-r`, chargeId, amount: '4000' }), {
        code: 'service_unavailable',
      });
      h.bankSim.failureRate = 0;
      const retried = await h.client.refundCharge({ refundId: `${chargeId}-r`, chargeId, amount: '4000' });
      assert.equal(retried.replayed, true);
      assert.equal(retried.charge?.refundedAmount, '4000');
      const [refund] = await h.rows('SELECT status FROM charge_refunds WHERE refund_id = ?', [
        `${chargeId}-r`,
      ]);
      assert.equal(refund?.['status'], 'COMPLETED');
    });

    void it('refund a card charge through the issuer', async () => {
      const userId = newUserId();
      const card = await registerCard(userId);
      const request = cardCharge(userId, card.cardId, 800);
      await h.client.createCharge(request);
      const issuerRefunds = h.calls.issuerRefund;
      const { charge } = await h.client.refundCharge({
        refundId: newChargeId(),
        chargeId: request.chargeId,
        amount: '800',
      });
      assert.equal(charge?.refundedAmount, '800');
      assert.equal(h.calls.issuerRefund, issuerRefunds + 1);
    });
  });
});
