import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildEnvelope, decodeEnvelope, encodeEnvelope, toTimestamp } from '@koban/platform';
import { completedPaymentOf, emptyProfile, updateProfile } from './profile.js';

void describe('updateProfile', () => {
  void it('starts at the first amount with no variance', () => {
    assert.deepEqual(updateProfile(emptyProfile, 1_200, 0.1), { payments: 1, mean: 1_200, variance: 0 });
  });

  void it('moves the mean by alpha of the difference and decays the variance', () => {
    const next = updateProfile({ payments: 1, mean: 1_000, variance: 0 }, 2_000, 0.1);
    assert.equal(next.payments, 2);
    assert.equal(next.mean, 1_100);
    // (1 − 0.1) × (0 + 1,000 × 100)
    assert.equal(next.variance, 90_000);
  });

  void it('settles on a steady amount with a shrinking variance', () => {
    let profile = updateProfile(emptyProfile, 5_000, 0.1);
    profile = updateProfile(profile, 1_000, 0.1);
    const early = profile.variance;
    for (let n = 0; n < 100; n += 1) profile = updateProfile(profile, 1_000, 0.1);
    assert.ok(Math.abs(profile.mean - 1_000) < 1, `mean ${profile.mean}`);
    assert.ok(profile.variance < early / 100, `variance ${profile.variance}`);
  });
});

/** An envelope as the consumer receives it: encoded, then decoded. */
const delivered = (...args: Parameters<typeof buildEnvelope>) =>
  decodeEnvelope(encodeEnvelope(buildEnvelope(...args)));

void describe('completedPaymentOf', () => {
  const completed = {
    paymentId: 'pay-1',
    payerUserId: 'user-1',
    payerAccountId: 'acc-1',
    merchantId: 'm-1',
    amount: '1500',
    currency: 'JPY',
    completedAt: toTimestamp(1_700_000_000_123),
  };

  void it('reads the payer, merchant, amount and completion time of a completed payment', () => {
    const envelope = delivered('paymentCompleted', completed, { key: 'acc-1', producer: 'payment' });
    assert.deepEqual(completedPaymentOf(envelope), {
      paymentId: 'pay-1',
      userId: 'user-1',
      merchantId: 'm-1',
      amount: 1_500n,
      completedAtMs: 1_700_000_000_123,
    });
  });

  void it('skips other events and completed payments without a payer or amount', () => {
    const refund = delivered(
      'paymentRefunded',
      { refundId: 'r-1', paymentId: 'pay-1', amount: '100' },
      { key: 'acc-1', producer: 'payment' },
    );
    assert.deepEqual(completedPaymentOf(refund), { skip: 'not a completed payment (paymentRefunded)' });
    const noPayer = delivered(
      'paymentCompleted',
      { ...completed, payerUserId: '' },
      { key: 'a', producer: 'p' },
    );
    assert.deepEqual(completedPaymentOf(noPayer), { skip: 'no payer or payment id' });
    const noAmount = delivered(
      'paymentCompleted',
      { ...completed, amount: '0' },
      { key: 'a', producer: 'p' },
    );
    assert.deepEqual(completedPaymentOf(noAmount), { skip: 'no positive amount' });
  });
});
