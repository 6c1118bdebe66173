import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { cvcOf, future, randomCardNumber, wrongCvcOf } from './support/cards.js';
import { lockoutRules } from './support/fake-fraud.js';
import { newUserId, refusal, startHarness, type Harness } from './support/bank-harness.js';

const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const FAILED_PRECONDITION = 9;
const RESOURCE_EXHAUSTED = 8;
const UNAVAILABLE = 14;

/** A client IP per test: the per-IP throttle must not leak from one test into another. */
let ipCounter = 0;
const newIp = () => `198.51.100.${++ipCounter}`;

void describe('card registration', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());
  beforeEach(() => {
    h.fraud.down = false;
    h.fraud.recordDown = false;
    h.fraud.delayMs = 0;
    h.issuerSim.failureRate = 0;
    h.issuerSim.latencyMs = 0;
  });

  const register = (userId: string, number: string, cvc: string, clientIp = newIp(), expiry = future) =>
    h.client.registerCard({ userId, number, cvc, clientIp, ...expiry });

  const recordedFor = (userId: string) =>
    h.fraud.recorded.filter((call) => call.userId === userId).map((call) => call.result);

  void describe('the API.md test cards', () => {
    void it('registers 4111111111111111 / 123 as a VISA showing only its last four digits', async () => {
      const userId = newUserId();
      const { card } = await register(userId, '4111111111111111', '123');
      assert.ok(card);
      assert.match(card.cardId, /^card_[0-9a-f]{24}$/);
      assert.equal(card.userId, userId);
      assert.equal(card.brand, 'CARD_BRAND_VISA');
      assert.equal(card.last4, '1111');
      assert.equal(card.expMonth, future.expMonth);
      assert.equal(card.expYear, future.expYear);
      assert.match(card.fingerprint, /^[0-9a-f]{64}$/);
      assert.equal(JSON.stringify(card).includes('4111111111111111'), false);
      assert.deepEqual((await h.client.getCard({ cardId: card.cardId })).card, card);
      assert.deepEqual(recordedFor(userId), []);
    });

    void it('registers 5555555555554444 / 321 as a Mastercard', async () => {
      const { card } = await register(newUserId(), '5555 5555 5555 4444', '321');
      assert.equal(card?.brand, 'CARD_BRAND_MASTERCARD');
      assert.equal(card.last4, '4444');
    });

    void it('answers card_declined for 4000000000000002, records DECLINED and stores nothing', async () => {
      const userId = newUserId();
      await assert.rejects(register(userId, '4000000000000002', '123'), {
        code: 'card_declined',
        status: FAILED_PRECONDITION,
      });
      assert.deepEqual(recordedFor(userId), ['CARD_CHECK_RESULT_DECLINED']);
      assert.equal((await h.rows('SELECT 1 FROM cards WHERE user_id = ?', [userId])).length, 0);
    });

    void it('approves any other Luhn-valid number with the CVC derived from the issuer secret only', async () => {
      const pan = randomCardNumber('4');
      const { card } = await register(newUserId(), pan, cvcOf(pan));
      assert.equal(card?.last4, pan.slice(-4));
      const userId = newUserId();
      await assert.rejects(register(userId, pan, wrongCvcOf(pan)), { code: 'invalid_cvc' });
      assert.deepEqual(recordedFor(userId), ['CARD_CHECK_RESULT_WRONG_CVC']);
    });
  });

  void describe('every failed check', () => {
    void it('answers invalid_cvc for a wrong CVC and records WRONG_CVC with the card fingerprint and IP', async () => {
      const userId = newUserId();
      const clientIp = newIp();
      await assert.rejects(register(userId, '4111111111111111', '999', clientIp), {
        code: 'invalid_cvc',
        status: FAILED_PRECONDITION,
      });
      const [call] = h.fraud.recorded.filter((each) => each.userId === userId);
      assert.equal(call?.result, 'CARD_CHECK_RESULT_WRONG_CVC');
      assert.match(call.cardFingerprint, /^[0-9a-f]{64}$/);
      assert.equal(call.clientIp, clientIp);
      assert.ok(call.occurredAt);
    });

    void it('answers invalid_card_number for a number failing Luhn, without reaching the issuer', async () => {
      const userId = newUserId();
      const verifies = h.calls.verify;
      for (const number of ['4111111111111112', '1234', '4111-1111-1111-111x']) {
        await assert.rejects(register(userId, number, '123'), {
          code: 'invalid_card_number',
          status: INVALID_ARGUMENT,
        });
      }
      assert.equal(h.calls.verify, verifies);
      assert.deepEqual(recordedFor(userId), Array(3).fill('CARD_CHECK_RESULT_INVALID_NUMBER'));
      // Not a card number: no fingerprint goes to fraud.
      assert.ok(
        h.fraud.recorded
          .filter((each) => each.userId === userId)
          .every((each) => each.cardFingerprint === ''),
      );
    });

    void it('answers card_expired for a card past its expiry and records EXPIRED', async () => {
      const userId = newUserId();
      const lastYear = { expMonth: 1, expYear: new Date().getUTCFullYear() - 1 };
      await assert.rejects(register(userId, '4111111111111111', '123', newIp(), lastYear), {
        code: 'card_expired',
        status: FAILED_PRECONDITION,
      });
      assert.deepEqual(recordedFor(userId), ['CARD_CHECK_RESULT_EXPIRED']);
    });

    void it('answers invalid_request for a malformed CVC, month or year, without asking anyone', async () => {
      const userId = newUserId();
      const before = { verify: h.calls.verify, state: h.fraud.stateCalls.length };
      await assert.rejects(register(userId, '4111111111111111', '12'), {
        code: 'invalid_request',
        status: INVALID_ARGUMENT,
        details: { fields: { cvc: 'must be 3 or 4 digits' } },
      });
      await assert.rejects(
        register(userId, '4111111111111111', '123', newIp(), { expMonth: 13, expYear: 2030 }),
        {
          code: 'invalid_request',
        },
      );
      await assert.rejects(
        register(userId, '4111111111111111', '123', newIp(), { expMonth: 1, expYear: 1999 }),
        {
          code: 'invalid_request',
        },
      );
      assert.deepEqual({ verify: h.calls.verify, state: h.fraud.stateCalls.length }, before);
    });
  });

  void describe('the lockout', () => {
    void it('locks the user after 5 wrong CVCs: the 5th still answers invalid_cvc, the 6th account_locked without the issuer', async () => {
      const userId = newUserId();
      const pan = randomCardNumber();
      for (let attempt = 1; attempt <= lockoutRules.user.locksAt; attempt++) {
        await assert.rejects(
          register(userId, pan, wrongCvcOf(pan)),
          { code: 'invalid_cvc' },
          `attempt ${attempt}`,
        );
      }
      const verifies = h.calls.verify;
      const recorded = h.fraud.recorded.length;
      // Even the right CVC, even another card: the user is locked.
      const error = await refusal(register(userId, randomCardNumber(), '123'));
      assert.equal(error.code, 'account_locked');
      assert.equal(error.status, FAILED_PRECONDITION);
      assert.equal(error.details['scope'], 'user');
      const lockedUntil = Date.parse(String(error.details['lockedUntil']));
      const expected = Date.now() + lockoutRules.user.durationMs;
      assert.ok(
        Math.abs(lockedUntil - expected) < 60_000,
        `lockedUntil ${String(error.details['lockedUntil'])}`,
      );
      await assert.rejects(register(userId, pan, cvcOf(pan)), { code: 'account_locked' });
      assert.equal(h.calls.verify, verifies, 'the issuer was asked while the user was locked');
      assert.equal(h.fraud.recorded.length, recorded, 'a refused attempt is not a card check');
    });

    void it('locks a card for every user after 5 wrong CVCs on it across users', async () => {
      const pan = randomCardNumber('5');
      for (let attempt = 0; attempt < lockoutRules.card.locksAt; attempt++) {
        await assert.rejects(register(newUserId(), pan, wrongCvcOf(pan)), { code: 'invalid_cvc' });
      }
      const verifies = h.calls.verify;
      const error = await refusal(register(newUserId(), pan, cvcOf(pan)));
      assert.equal(error.code, 'account_locked');
      assert.equal(error.details['scope'], 'card');
      assert.ok(Date.parse(String(error.details['lockedUntil'])) > Date.now());
      assert.equal(h.calls.verify, verifies);
      // Another card of those users is not locked by it.
      await register(newUserId(), '4111111111111111', '123');
    });

    void it('throttles a client IP after more than 30 failed checks with rate_limited and retryAfterSeconds', async () => {
      const clientIp = newIp();
      for (let attempt = 0; attempt < lockoutRules.ip.locksAt; attempt++) {
        await assert.rejects(register(newUserId(), '4111111111111112', '123', clientIp), {
          code: 'invalid_card_number',
        });
      }
      const verifies = h.calls.verify;
      const error = await refusal(register(newUserId(), '4111111111111111', '123', clientIp));
      assert.equal(error.code, 'rate_limited');
      assert.equal(error.status, RESOURCE_EXHAUSTED);
      const retryAfter = Number(error.details['retryAfterSeconds']);
      assert.ok(retryAfter > 590 && retryAfter <= 600, `retryAfterSeconds ${retryAfter}`);
      assert.equal(h.calls.verify, verifies);
      // Another address is not throttled.
      await register(newUserId(), '4111111111111111', '123', newIp());
    });

    void it('checks the user and card locks before the IP throttle', async () => {
      const userId = newUserId();
      const clientIp = newIp();
      h.fraud.lock('ip', clientIp);
      h.fraud.lock('user', userId);
      const locked = await refusal(register(userId, '4111111111111111', '123', clientIp));
      assert.equal(locked.code, 'account_locked');
      assert.equal(locked.details['scope'], 'user');
      await assert.rejects(register(newUserId(), '4111111111111111', '123', clientIp), {
        code: 'rate_limited',
      });
    });

    void it('asks fraud with the user, the card fingerprint and the client IP before the issuer', async () => {
      const userId = newUserId();
      const clientIp = newIp();
      const { card } = await register(userId, '4111111111111111', '123', clientIp);
      const call = h.fraud.stateCalls.find((each) => each.userId === userId);
      assert.deepEqual(call, { userId, cardFingerprint: card?.fingerprint, clientIp });
    });

    void it('fails closed with service_unavailable when fraud is down or slow, never reaching the issuer', async () => {
      const verifies = h.calls.verify;
      h.fraud.down = true;
      await assert.rejects(register(newUserId(), '4111111111111111', '123'), {
        code: 'service_unavailable',
        status: UNAVAILABLE,
        details: { retryAfterSeconds: 1 },
      });
      h.fraud.down = false;
      h.fraud.delayMs = 1_000;
      const started = Date.now();
      await assert.rejects(register(newUserId(), '4111111111111111', '123'), { code: 'service_unavailable' });
      assert.ok(Date.now() - started < 900, `answered after ${Date.now() - started} ms`);
      assert.equal(h.calls.verify, verifies);
    });

    void it('still answers the check’s own failure when fraud cannot record it, and logs the miss', async () => {
      const userId = newUserId();
      h.fraud.recordDown = true;
      await assert.rejects(register(userId, '4111111111111111', '000'), { code: 'invalid_cvc' });
      assert.ok(
        h.logs.some(
          (line) => line.msg === 'could not record a failed card check' && line['userId'] === userId,
        ),
      );
    });
  });

  void describe('the issuer', () => {
    void it('answers service_unavailable when the issuer does not answer, recording no card check', async () => {
      const userId = newUserId();
      h.issuerSim.failureRate = 1;
      await assert.rejects(register(userId, '4111111111111111', '123'), {
        code: 'service_unavailable',
        status: UNAVAILABLE,
      });
      assert.deepEqual(recordedFor(userId), []);
    });
  });

  void describe('the vault', () => {
    void it('gives one card the same fingerprint for every user, and each user their own card id', async () => {
      const pan = randomCardNumber();
      const a = await register(newUserId(), pan, cvcOf(pan));
      const b = await register(newUserId(), pan, cvcOf(pan));
      assert.equal(a.card?.fingerprint, b.card?.fingerprint);
      assert.notEqual(a.card?.cardId, b.card?.cardId);
      const other = await register(newUserId(), '4111111111111111', '123');
      assert.notEqual(other.card?.fingerprint, a.card?.fingerprint);
    });

    void it('answers the card a user already has when they register it again, with the new expiry', async () => {
      const userId = newUserId();
      const pan = randomCardNumber();
      const first = await register(userId, pan, cvcOf(pan));
      const { card } = await register(userId, pan, cvcOf(pan), newIp(), {
        expMonth: 6,
        expYear: future.expYear + 1,
      });
      assert.equal(card?.cardId, first.card?.cardId);
      assert.equal(card?.expMonth, 6);
      const { cards } = await h.client.listCards({ userId });
      assert.equal(cards.length, 1);
      assert.equal(cards[0]?.expYear, future.expYear + 1);
    });

    void it('answers not_found for an unknown card', async () => {
      await assert.rejects(h.client.getCard({ cardId: 'card_nope' }), {
        code: 'not_found',
        status: NOT_FOUND,
      });
    });
  });
});
