import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  amountDeviation,
  checkPaymentFields,
  decide,
  type AmountProfile,
  type FraudLimits,
  type PaymentToScore,
  type ScoringInput,
} from './fraud-rules.js';

const limits: FraudLimits = {
  maxPaymentsPerMinute: 120,
  maxCardPaymentsPerMinute: 120,
  maxIpPaymentsPerMinute: 600,
  declineAmount: 1_000_000n,
  reviewAmount: 300_000n,
  profile: {
    minHistory: 10,
    reviewDeviations: 3,
    declineDeviations: 8,
    minAmount: 30_000n,
    minDeviationRatio: 0.5,
  },
  reviewScore: 500,
  cvcFailuresThreshold: 5,
};

const noHistory: AmountProfile = { payments: 0, mean: 0, variance: 0 };
/** Twenty payments of about ¥1,000 (deviation ¥200). */
const coffeeHabit: AmountProfile = { payments: 20, mean: 1_000, variance: 200 ** 2 };

function payment(overrides: Partial<PaymentToScore> = {}): PaymentToScore {
  return {
    paymentId: 'p-1',
    userId: 'u-1',
    merchantId: 'm-1',
    amount: 1_500n,
    currency: 'JPY',
    method: 'wallet',
    cardFingerprint: '',
    clientIp: '',
    ...overrides,
  };
}

function input(overrides: Partial<ScoringInput> = {}): ScoringInput {
  return {
    velocity: { user: 1, card: null, ip: null, merchant: 1 },
    spend: { amount: 0n, merchants: 0 },
    profile: noHistory,
    knownMerchant: false,
    knownCard: null,
    userLocked: false,
    cardLocked: false,
    userCvcFailures: 0,
    ...overrides,
  };
}

const velocity = (user: number, card: number | null = null, ip: number | null = null) => ({
  user,
  card,
  ip,
  merchant: 1,
});

void describe('decide', () => {
  void it('approves an ordinary payment with a low score and no reasons, with its features', () => {
    const verdict = decide(payment(), input(), limits);
    assert.equal(verdict.outcome, 'approve');
    assert.deepEqual(verdict.reasons, []);
    assert.equal(verdict.features.userPaymentsLastMinute, 1);
    assert.equal(verdict.features.firstPaymentToMerchant, true);
    assert.ok(verdict.score >= 0 && verdict.score < 100, `score ${verdict.score}`);
  });

  void it('declines the payment that takes the user above the velocity limit, not the one reaching it', () => {
    assert.equal(decide(payment(), input({ velocity: velocity(120) }), limits).outcome, 'approve');
    const verdict = decide(payment(), input({ velocity: velocity(121) }), limits);
    assert.deepEqual(
      { outcome: verdict.outcome, reasons: verdict.reasons, score: verdict.score },
      { outcome: 'decline', reasons: ['velocity_user'], score: 1000 },
    );
  });

  void it('declines above the card velocity limit across users, and turns the card rule off at 0', () => {
    const card = payment({ method: 'card', cardFingerprint: 'fp-1' });
    assert.equal(decide(card, input({ velocity: velocity(1, 120) }), limits).outcome, 'approve');
    assert.deepEqual(decide(card, input({ velocity: velocity(1, 121) }), limits).reasons, ['velocity_card']);
    assert.equal(decide(card, input({ velocity: velocity(1, 121) }), limits).outcome, 'decline');
    const off = { ...limits, maxCardPaymentsPerMinute: 0 };
    assert.equal(decide(card, input({ velocity: velocity(1, 10_000) }), off).outcome, 'approve');
  });

  void it('reviews, never declines, above the client IP velocity limit', () => {
    const verdict = decide(payment(), input({ velocity: velocity(1, null, 601) }), limits);
    assert.equal(verdict.outcome, 'review');
    assert.deepEqual(verdict.reasons, ['velocity_ip']);
    assert.ok(verdict.score >= 500 && verdict.score < 1000);
    assert.equal(decide(payment(), input({ velocity: velocity(1, null, 600) }), limits).outcome, 'approve');
  });

  void it('declines an amount above the decline limit, and reviews one at it', () => {
    assert.deepEqual(decide(payment({ amount: 1_000_001n }), input(), limits).reasons, ['amount_limit']);
    assert.equal(decide(payment({ amount: 1_000_001n }), input(), limits).outcome, 'decline');
    assert.equal(decide(payment({ amount: 1_000_000n }), input(), limits).outcome, 'review');
  });

  void it('approves the review band for the record, with a score of at least 500', () => {
    const verdict = decide(payment({ amount: 300_001n }), input(), limits);
    assert.equal(verdict.outcome, 'review');
    assert.deepEqual(verdict.reasons, ['amount_review']);
    assert.ok(verdict.score >= 500 && verdict.score < 1000);
    assert.equal(decide(payment({ amount: 300_000n }), input(), limits).outcome, 'approve');
  });

  void it('declines a card payment of a locked user or with a locked card, and reviews a wallet payment of a locked user', () => {
    const card = payment({ method: 'card', cardFingerprint: 'fp-1' });
    assert.deepEqual(decide(card, input({ userLocked: true }), limits).reasons, ['user_locked']);
    assert.equal(decide(card, input({ userLocked: true }), limits).outcome, 'decline');
    assert.deepEqual(decide(card, input({ cardLocked: true }), limits).reasons, ['card_locked']);
    assert.equal(decide(card, input({ cardLocked: true }), limits).outcome, 'decline');
    const wallet = decide(payment(), input({ userLocked: true }), limits);
    assert.equal(wallet.outcome, 'review');
    assert.deepEqual(wallet.reasons, ['user_locked']);
  });

  void it('names every rule that fired', () => {
    assert.deepEqual(
      decide(payment({ amount: 2_000_000n }), input({ velocity: velocity(500), cardLocked: true }), limits)
        .reasons,
      ['card_locked', 'velocity_user', 'amount_limit'],
    );
  });

  void it('skips the velocity rules when the windows are unavailable, and says so', () => {
    const verdict = decide(payment(), input({ velocity: undefined }), limits);
    assert.equal(verdict.outcome, 'approve');
    assert.deepEqual(verdict.reasons, ['velocity_unavailable']);
    assert.equal(verdict.features.userPaymentsLastMinute, null);
    assert.deepEqual(
      decide(payment({ amount: 5_000_000n }), input({ velocity: undefined }), limits).reasons,
      ['velocity_unavailable', 'amount_limit'],
    );
    assert.deepEqual(decide(payment(), input({ spend: undefined }), limits).reasons, [
      'velocity_unavailable',
    ]);
  });

  void it("declines an amount far above the user's usual ones after enough history, reviews a large one", () => {
    // ¥1,000 ± ¥200 (the deviation used is at least half the mean: ¥500).
    const outlier = decide(
      payment({ amount: 50_000n }),
      input({ profile: coffeeHabit, knownMerchant: true }),
      limits,
    );
    assert.equal(outlier.outcome, 'decline');
    assert.deepEqual(outlier.reasons, ['amount_outlier']);
    assert.equal(outlier.features.profileDeviation, 500);
    assert.equal(outlier.features.amountDeviations, 98);

    const wealthy: AmountProfile = { payments: 20, mean: 20_000, variance: 5_000 ** 2 };
    // 20,000 + 3 × 10,000 < 51,000 ≤ 20,000 + 8 × 10,000.
    const unusual = decide(
      payment({ amount: 51_000n }),
      input({ profile: wealthy, knownMerchant: true }),
      limits,
    );
    assert.equal(unusual.outcome, 'review');
    assert.deepEqual(unusual.reasons, ['amount_unusual']);
  });

  void it('leaves the profile rule out before enough history and at or below its minimum amount', () => {
    const young: AmountProfile = { ...coffeeHabit, payments: 9 };
    assert.equal(decide(payment({ amount: 50_000n }), input({ profile: young }), limits).outcome, 'approve');
    assert.equal(
      decide(payment({ amount: 30_000n }), input({ profile: coffeeHabit, knownMerchant: true }), limits)
        .outcome,
      'approve',
    );
  });

  void it('raises the score for a new card and merchant of a user with history, reviewing them with other signals', () => {
    const card = payment({ method: 'card', cardFingerprint: 'fp-new' });
    const known = decide(card, input({ profile: coffeeHabit, knownMerchant: true, knownCard: true }), limits);
    const fresh = decide(
      card,
      input({ profile: coffeeHabit, knownMerchant: false, knownCard: false }),
      limits,
    );
    assert.deepEqual(fresh.reasons, ['new_card', 'new_merchant']);
    assert.equal(fresh.outcome, 'approve');
    assert.equal(fresh.score - known.score, 225);
    assert.equal(fresh.features.firstPaymentWithCard, true);

    // A user without history: everything is new, nothing is a signal.
    assert.deepEqual(decide(card, input({ knownCard: false }), limits).reasons, []);

    // With wrong CVCs and a busy minute on top, the signals together are reviewed.
    const together = decide(
      card,
      input({ profile: coffeeHabit, knownCard: false, velocity: velocity(100), userCvcFailures: 4 }),
      limits,
    );
    assert.equal(together.outcome, 'review');
    assert.deepEqual(together.reasons, ['new_card', 'new_merchant', 'risk_score']);
  });

  void it('scores higher as the amount, the velocity and the wrong CVCs grow, staying below the review floor', () => {
    const low = decide(payment({ amount: 1_000n }), input(), limits).score;
    const busier = decide(payment({ amount: 1_000n }), input({ velocity: velocity(100) }), limits).score;
    const larger = decide(payment({ amount: 290_000n }), input(), limits).score;
    const cvc = decide(payment({ amount: 1_000n }), input({ userCvcFailures: 3 }), limits).score;
    assert.ok(busier > low && larger > low && cvc > low, `${low} ${busier} ${larger} ${cvc}`);
    assert.ok(decide(payment({ amount: 300_000n }), input({ velocity: velocity(120) }), limits).score <= 499);
  });

  void it('compares amounts beyond 2^53 exactly', () => {
    const huge = { ...limits, declineAmount: 9_007_199_254_740_993n, reviewAmount: 9_007_199_254_740_992n };
    assert.equal(decide(payment({ amount: 9_007_199_254_740_993n }), input(), huge).outcome, 'review');
    assert.equal(decide(payment({ amount: 9_007_199_254_740_994n }), input(), huge).outcome, 'decline');
  });
});

void describe('amountDeviation', () => {
  void it('uses the deviation, but at least the configured share of the mean and at least 1', () => {
    const profileLimits = limits.profile;
    assert.deepEqual(
      amountDeviation(3_000n, { payments: 10, mean: 1_000, variance: 1_000 ** 2 }, profileLimits),
      {
        deviation: 1_000,
        deviations: 2,
      },
    );
    assert.equal(
      amountDeviation(1_500n, { payments: 10, mean: 1_000, variance: 0 }, profileLimits)?.deviation,
      500,
    );
    assert.equal(amountDeviation(5n, { payments: 10, mean: 1, variance: 0 }, profileLimits)?.deviation, 1);
    assert.equal(amountDeviation(5n, { payments: 9, mean: 1, variance: 0 }, profileLimits), null);
  });
});

void describe('checkPaymentFields', () => {
  const valid = { paymentId: 'p-1', userId: 'u-1', merchantId: 'm-1', amount: '1500', currency: 'JPY' };

  void it('accepts a complete payment, with or without a merchant, card or IP', () => {
    assert.deepEqual(checkPaymentFields(valid), {});
    assert.deepEqual(checkPaymentFields({ ...valid, merchantId: '' }), {});
    assert.deepEqual(
      checkPaymentFields({ ...valid, cardFingerprint: 'fp_9a8b', clientIp: '203.0.113.7' }),
      {},
    );
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

  void it('refuses a card number where a fingerprint belongs', () => {
    for (const cardFingerprint of ['4111111111111111', '4111 1111 1111 1111', '4111-1111-1111-1111']) {
      assert.equal(
        checkPaymentFields({ ...valid, cardFingerprint })['cardFingerprint'],
        'must be a card fingerprint, never a card number',
      );
    }
  });

  void it('rejects amounts that are negative, fractional or beyond int64', () => {
    for (const amount of ['-1', '1.5', '', '9223372036854775808', '99999999999999999999']) {
      assert.equal(checkPaymentFields({ ...valid, amount })['amount'], 'must be a positive integer', amount);
    }
    assert.deepEqual(checkPaymentFields({ ...valid, amount: '9223372036854775807' }), {});
  });
});
