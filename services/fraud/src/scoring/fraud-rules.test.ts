import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkPaymentFields, decide, type FraudLimits, type VelocityReading } from './fraud-rules.js';

const limits: FraudLimits = { maxPaymentsPerMinute: 120, declineAmount: 1_000_000n, reviewAmount: 300_000n };
const velocity = (count: number): VelocityReading => ({ available: true, userPaymentsLastMinute: count });
const unavailable: VelocityReading = { available: false };

void describe('decide', () => {
  void it('approves an ordinary payment with a low score and no reasons', () => {
    const verdict = decide(1_500n, velocity(1), limits);
    assert.equal(verdict.outcome, 'approve');
    assert.deepEqual(verdict.reasons, []);
    assert.equal(verdict.userPaymentsLastMinute, 1);
    assert.ok(verdict.score >= 0 && verdict.score < 100, `score ${verdict.score}`);
  });

  void it('declines the payment that takes the user above the velocity limit, not the one reaching it', () => {
    assert.equal(decide(1_500n, velocity(120), limits).outcome, 'approve');
    const verdict = decide(1_500n, velocity(121), limits);
    assert.deepEqual(
      { outcome: verdict.outcome, reasons: verdict.reasons, score: verdict.score },
      { outcome: 'decline', reasons: ['velocity_user'], score: 1000 },
    );
  });

  void it('declines an amount above the decline limit, and reviews one at it', () => {
    assert.deepEqual(decide(1_000_001n, velocity(1), limits).reasons, ['amount_limit']);
    assert.equal(decide(1_000_001n, velocity(1), limits).outcome, 'decline');
    assert.equal(decide(1_000_000n, velocity(1), limits).outcome, 'review');
  });

  void it('approves the review band for the record, with a score of at least 500', () => {
    const verdict = decide(300_001n, velocity(1), limits);
    assert.equal(verdict.outcome, 'review');
    assert.deepEqual(verdict.reasons, ['amount_review']);
    assert.ok(verdict.score >= 500 && verdict.score < 1000);
    assert.equal(decide(300_000n, velocity(1), limits).outcome, 'approve');
  });

  void it('names every rule that fired', () => {
    assert.deepEqual(decide(2_000_000n, velocity(500), limits).reasons, ['velocity_user', 'amount_limit']);
  });

  void it('skips the velocity rule when the window is unavailable, and says so', () => {
    const verdict = decide(1_500n, unavailable, limits);
    assert.equal(verdict.outcome, 'approve');
    assert.deepEqual(verdict.reasons, ['velocity_unavailable']);
    assert.equal(verdict.userPaymentsLastMinute, null);
    assert.deepEqual(decide(5_000_000n, unavailable, limits).reasons, [
      'velocity_unavailable',
      'amount_limit',
    ]);
  });

  void it('scores higher as the amount and the velocity grow, staying below the review floor', () => {
    const low = decide(1_000n, velocity(1), limits).score;
    const busier = decide(1_000n, velocity(100), limits).score;
    const larger = decide(290_000n, velocity(1), limits).score;
    assert.ok(busier > low && larger > low, `${low} ${busier} ${larger}`);
    assert.ok(decide(300_000n, velocity(120), limits).score <= 499);
  });

  void it('compares amounts beyond 2^53 exactly', () => {
    const huge = { ...limits, declineAmount: 9_007_199_254_740_993n, reviewAmount: 9_007_199_254_740_992n };
    assert.equal(decide(9_007_199_254_740_993n, velocity(1), huge).outcome, 'review');
    assert.equal(decide(9_007_199_254_740_994n, velocity(1), huge).outcome, 'decline');
  });
});

void describe('checkPaymentFields', () => {
  const valid = { paymentId: 'p-1', userId: 'u-1', merchantId: 'm-1', amount: '1500', currency: 'JPY' };

  void it('accepts a complete payment, with or without a merchant', () => {
    assert.deepEqual(checkPaymentFields(valid), {});
    assert.deepEqual(checkPaymentFields({ ...valid, merchantId: '' }), {});
  });

  void it('names each missing or malformed field', () => {
    assert.deepEqual(
      checkPaymentFields({
        paymentId: '',
        userId: 'u'.repeat(65),
        merchantId: '',
        amount: '0',
        currency: 'USD',
      }),
      {
        paymentId: 'required',
        userId: 'longer than 64 characters',
        amount: 'must be a positive integer',
        currency: 'must be JPY',
      },
    );
  });

  void it('rejects amounts that are negative, fractional or beyond int64', () => {
    for (const amount of ['-1', '1.5', '', '9223372036854775808', '99999999999999999999']) {
      assert.equal(checkPaymentFields({ ...valid, amount })['amount'], 'must be a positive integer', amount);
    }
    assert.deepEqual(checkPaymentFields({ ...valid, amount: '9223372036854775807' }), {});
  });
});
