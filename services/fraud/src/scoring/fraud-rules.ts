// The fraud rules: what a payment is, what was measured about it, and the decision. Pure: no
// I/O, no clock, so that every rule is tested alone.

/** The domain error codes the fraud service answers with (proto/koban/fraud/v1/fraud.proto). */
export type FraudErrorCode = 'invalid_request';

/** How long the per-user velocity window reaches back (API.md: payments in 60 s). */
export const VELOCITY_WINDOW_MS = 60_000;

/** The only currency Koban moves; the amount limits are in its unit (JPY has no minor unit). */
export const SCORED_CURRENCY = 'JPY';

/** The longest id the decisions table stores. */
export const MAX_ID_LENGTH = 64;

/**
 * Why a decision came out as it did, recorded with it and answered in `reasons`:
 * - `velocity_user`: more payments by the user within 60 s than allowed — declined;
 * - `amount_limit`: amount above the decline limit — declined;
 * - `amount_review`: amount above the review limit — approved, flagged for review;
 * - `velocity_unavailable`: the velocity window could not be read (Redis down), so the velocity
 *   rule was skipped.
 */
export type FraudReason = 'velocity_user' | 'amount_limit' | 'amount_review' | 'velocity_unavailable';

/** `review` is approved (the caller goes ahead) and kept for a person to look at. */
export type FraudOutcome = 'approve' | 'review' | 'decline';

/** The configured limits. */
export interface FraudLimits {
  /** More payments than this by one user within the window decline. */
  maxPaymentsPerMinute: number;
  /** Amounts above this decline. */
  declineAmount: bigint;
  /** Amounts above this (and not above `declineAmount`) are approved for review. */
  reviewAmount: bigint;
}

/** A payment about to be made, as the rules see it. */
export interface PaymentToScore {
  paymentId: string;
  userId: string;
  merchantId: string;
  /** In the currency's unit (JPY: yen). */
  amount: bigint;
  currency: string;
}

/** The user's payments in the window, this one included, or unknown when the window is down. */
export type VelocityReading = { available: true; userPaymentsLastMinute: number } | { available: false };

/** What the rules decided. */
export interface FraudVerdict {
  outcome: FraudOutcome;
  /** 0 (no risk) to 1000 (certain fraud); 1000 for a decline by a hard rule. */
  score: number;
  reasons: FraudReason[];
  /** The velocity feature used; null when it could not be read. */
  userPaymentsLastMinute: number | null;
}

const maxInt64 = 2n ** 63n - 1n;
const scoreWeight = 300;
const reviewFloor = 500;
const declineScore = 1000;

/**
 * The request fields that make no sense, as field → problem (empty when the payment can be
 * scored). The amount arrives as the decimal string of an int64.
 */
export function checkPaymentFields(fields: {
  paymentId: string;
  userId: string;
  merchantId: string;
  amount: string;
  currency: string;
}): Record<string, string> {
  const problems: Record<string, string> = {};
  const checkId = (name: string, value: string, required: boolean): void => {
    if (required && value.length === 0) problems[name] = 'required';
    else if (value.length > MAX_ID_LENGTH) problems[name] = `longer than ${MAX_ID_LENGTH} characters`;
  };
  checkId('paymentId', fields.paymentId, true);
  checkId('userId', fields.userId, true);
  checkId('merchantId', fields.merchantId, false);
  if (!/^\d{1,19}$/.test(fields.amount) || BigInt(fields.amount) <= 0n || BigInt(fields.amount) > maxInt64) {
    problems['amount'] = 'must be a positive integer';
  }
  if (fields.currency !== SCORED_CURRENCY) problems['currency'] = `must be ${SCORED_CURRENCY}`;
  return problems;
}

/** Part of the score (0..weight) for how close `value` is to `limit`. */
function proportion(value: bigint, limit: bigint, weight: number): number {
  if (limit <= 0n) return weight;
  const capped = value < limit ? value : limit;
  return Number((capped * BigInt(weight)) / limit);
}

/**
 * Decides on a payment from its amount and the user's velocity:
 *
 * 1. velocity: more than `maxPaymentsPerMinute` payments by the user in the window → decline
 *    (`velocity_user`); an unreadable window skips the rule (`velocity_unavailable`);
 * 2. amount above `declineAmount` → decline (`amount_limit`);
 * 3. amount above `reviewAmount` → review (`amount_review`), an approval kept for the record;
 * 4. otherwise approve.
 *
 * The score grows with the amount (up to 300 at the decline limit) and the velocity (up to 300
 * at the velocity limit); a review scores at least 500, a decline 1000.
 */
export function decide(amount: bigint, velocity: VelocityReading, limits: FraudLimits): FraudVerdict {
  const reasons: FraudReason[] = [];
  let declined = false;
  if (!velocity.available) {
    reasons.push('velocity_unavailable');
  } else if (velocity.userPaymentsLastMinute > limits.maxPaymentsPerMinute) {
    reasons.push('velocity_user');
    declined = true;
  }
  if (amount > limits.declineAmount) {
    reasons.push('amount_limit');
    declined = true;
  } else if (amount > limits.reviewAmount) {
    reasons.push('amount_review');
  }

  const userPaymentsLastMinute = velocity.available ? velocity.userPaymentsLastMinute : null;
  const base =
    proportion(amount, limits.declineAmount, scoreWeight) +
    (userPaymentsLastMinute === null
      ? 0
      : proportion(BigInt(userPaymentsLastMinute), BigInt(limits.maxPaymentsPerMinute), scoreWeight));

  if (declined) return { outcome: 'decline', score: declineScore, reasons, userPaymentsLastMinute };
  if (reasons.includes('amount_review')) {
    return { outcome: 'review', score: Math.max(base, reviewFloor), reasons, userPaymentsLastMinute };
  }
  return { outcome: 'approve', score: Math.min(base, reviewFloor - 1), reasons, userPaymentsLastMinute };
}
