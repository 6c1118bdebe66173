// The per-user features kept from completed payments: what an event says, and how the amount
// profile follows it. Pure.
import type { decodeEnvelope } from '@koban/platform';
import type { AmountProfile } from '../scoring/fraud-rules.js';

/** A decoded `koban.events.v1.EventEnvelope`. */
type Envelope = ReturnType<typeof decodeEnvelope>;

/** A completed payment as the features need it. */
export interface CompletedPayment {
  paymentId: string;
  userId: string;
  /** Empty when there is none. */
  merchantId: string;
  amount: bigint;
  completedAtMs: number;
}

/** An empty profile: no payments yet. */
export const emptyProfile: AmountProfile = { payments: 0, mean: 0, variance: 0 };

/**
 * The profile after one more payment of `amount`: an exponentially weighted mean and variance
 * with weight `alpha` for the newest amount (West's incremental form: the variance decays with
 * the mean, so old habits fade at the same pace). The first payment sets the mean, variance 0.
 */
export function updateProfile(profile: AmountProfile, amount: number, alpha: number): AmountProfile {
  if (profile.payments <= 0) return { payments: 1, mean: amount, variance: 0 };
  const difference = amount - profile.mean;
  const increment = alpha * difference;
  return {
    payments: profile.payments + 1,
    mean: profile.mean + increment,
    variance: (1 - alpha) * (profile.variance + difference * increment),
  };
}

/**
 * The completed payment an envelope carries, or why it feeds no feature: another kind of event
 * (or one this build does not know), or one without a payer or a positive amount.
 */
export function completedPaymentOf(envelope: Envelope): CompletedPayment | { skip: string } {
  if (envelope.event !== 'paymentCompleted' || !envelope.paymentCompleted) {
    return { skip: `not a completed payment (${envelope.event ?? 'unknown event'})` };
  }
  const event = envelope.paymentCompleted;
  if (event.payerUserId === '' || event.paymentId === '') return { skip: 'no payer or payment id' };
  if (!/^\d{1,19}$/.test(event.amount) || BigInt(event.amount) <= 0n) return { skip: 'no positive amount' };
  const completedAt = event.completedAt ?? envelope.occurredAt;
  const completedAtMs =
    completedAt === null
      ? Date.now()
      : Number(completedAt.seconds) * 1000 + Math.floor(completedAt.nanos / 1e6);
  return {
    paymentId: event.paymentId,
    userId: event.payerUserId,
    merchantId: event.merchantId,
    amount: BigInt(event.amount),
    completedAtMs,
  };
}
