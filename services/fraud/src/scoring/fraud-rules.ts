// The fraud rules: what a payment is, the features measured about it, and the decision. Pure:
// no I/O, no clock, so that every rule is tested alone.
import { looksLikeCardNumber } from '../lockout/lockout.js';

/** How long the velocity windows reach back (API.md: payments in 60 s). */
export const VELOCITY_WINDOW_MS = 60_000;

/** How long the spending window (amount and merchants paid) reaches back. */
export const SPEND_WINDOW_MS = 24 * 3_600_000;

/** The only currency Koban moves; the amount limits are in its unit (JPY has no minor unit). */
export const SCORED_CURRENCY = 'JPY';

/** The longest payment, user and merchant id the decisions table stores. */
export const MAX_ID_LENGTH = 64;

/**
 * Why a decision came out as it did, recorded with it and answered in `reasons`.
 *
 * Declines: `user_locked` (the user is locked out of card operations; a card payment),
 * `card_locked` (the card is locked), `velocity_user` / `velocity_card` (more payments by the
 * user / with the card within 60 s than allowed), `amount_limit` (above the decline amount),
 * `amount_outlier` (far above the user's own usual amount).
 *
 * Reviews (approved, kept for a person to look at): `amount_review` (above the review amount),
 * `amount_unusual` (well above the user's usual amount), `velocity_ip` (many payments from one
 * client IP, which NAT may share), `user_locked` on a wallet payment, `risk_score` (the signals
 * together score at least the review score).
 *
 * Signals that only raise the score: `new_card`, `new_merchant` (the user has a history, but
 * never paid with this card / this merchant).
 *
 * `velocity_unavailable`: the Redis windows could not be read, so the velocity rules were
 * skipped and the window features are unknown.
 */
export type FraudReason =
  | 'velocity_unavailable'
  | 'user_locked'
  | 'card_locked'
  | 'velocity_user'
  | 'velocity_card'
  | 'velocity_ip'
  | 'amount_limit'
  | 'amount_review'
  | 'amount_outlier'
  | 'amount_unusual'
  | 'new_card'
  | 'new_merchant'
  | 'risk_score';

/** Every reason, in the order a decision lists them. */
export const FRAUD_REASONS: readonly FraudReason[] = [
  'velocity_unavailable',
  'user_locked',
  'card_locked',
  'velocity_user',
  'velocity_card',
  'velocity_ip',
  'amount_limit',
  'amount_review',
  'amount_outlier',
  'amount_unusual',
  'new_card',
  'new_merchant',
  'risk_score',
];

/** `review` is approved (the caller goes ahead) and kept for a person to look at. */
export type FraudOutcome = 'approve' | 'review' | 'decline';

export type PaymentMethod = 'wallet' | 'card';

/** The user's amount profile rule (an EWMA mean and deviation kept per user). */
export interface ProfileLimits {
  /** Completed payments the profile needs before the rule applies. */
  minHistory: number;
  /** Amounts more than this many deviations above the mean are reviewed... */
  reviewDeviations: number;
  /** ...and more than this many declined. */
  declineDeviations: number;
  /** Amounts at or below this are never flagged by the profile rule. */
  minAmount: bigint;
  /** The deviation used is at least this fraction of the mean (a user who always pays ¥500). */
  minDeviationRatio: number;
}

/** The configured limits. */
export interface FraudLimits {
  /** More payments than this by one user within 60 s decline. */
  maxPaymentsPerMinute: number;
  /** More payments than this with one card (across users) within 60 s decline; 0: no limit. */
  maxCardPaymentsPerMinute: number;
  /** More payments than this from one client IP within 60 s are reviewed; 0: no limit. */
  maxIpPaymentsPerMinute: number;
  /** Amounts above this decline. */
  declineAmount: bigint;
  /** Amounts above this (and not above `declineAmount`) are approved for review. */
  reviewAmount: bigint;
  profile: ProfileLimits;
  /** A score of at least this (0–999) from the signals together is reviewed. */
  reviewScore: number;
  /** Wrong CVCs that lock a user (the lockout threshold): scales the CVC part of the score. */
  cvcFailuresThreshold: number;
}

/** A payment about to be made, as the rules see it. */
export interface PaymentToScore {
  paymentId: string;
  userId: string;
  /** Empty when there is none (not a merchant payment). */
  merchantId: string;
  /** In the currency's unit (JPY: yen). */
  amount: bigint;
  currency: string;
  method: PaymentMethod;
  /** Empty unless a card payment. */
  cardFingerprint: string;
  /** Empty when the caller does not know it. */
  clientIp: string;
}

/** Payments in the last 60 s per subject, this one included; null for a subject not given. */
export interface VelocityCounts {
  user: number;
  card: number | null;
  ip: number | null;
  merchant: number | null;
}

/** What the user paid in the last 24 h (completed payments, from `payments.v1`). */
export interface SpendReading {
  amount: bigint;
  merchants: number;
}

/** The user's amount profile, kept from completed payments. */
export interface AmountProfile {
  /** Completed payments it was built from (0: none yet). */
  payments: number;
  /** Exponentially weighted mean and variance of the amounts. */
  mean: number;
  variance: number;
}

/** Everything measured about a payment before deciding. */
export interface ScoringInput {
  /** Undefined when the Redis windows could not be read. */
  velocity: VelocityCounts | undefined;
  spend: SpendReading | undefined;
  profile: AmountProfile;
  /** Whether the user paid this merchant / with this card before; null when there is none. */
  knownMerchant: boolean | null;
  knownCard: boolean | null;
  userLocked: boolean;
  cardLocked: boolean;
  /** Wrong CVCs of the user within the lockout window. */
  userCvcFailures: number;
}

/** The features a decision was made on, recorded with it; null where unknown or not applicable. */
export interface ScoringFeatures {
  userPaymentsLastMinute: number | null;
  cardPaymentsLastMinute: number | null;
  ipPaymentsLastMinute: number | null;
  merchantPaymentsLastMinute: number | null;
  userAmountLastDay: bigint | null;
  userMerchantsLastDay: number | null;
  firstPaymentToMerchant: boolean | null;
  firstPaymentWithCard: boolean | null;
  userCvcFailuresLastHour: number;
  userLocked: boolean;
  cardLocked: boolean;
  /** The profile: payments it holds, mean, deviation used, and this amount in deviations above the mean. */
  profilePayments: number;
  profileMean: number | null;
  profileDeviation: number | null;
  amountDeviations: number | null;
}

/** What the rules decided. */
export interface FraudVerdict {
  outcome: FraudOutcome;
  /** 0 (no risk) to 1000 (certain fraud); 1000 for a decline, 500–999 for a review, below 500 otherwise. */
  score: number;
  reasons: FraudReason[];
  features: ScoringFeatures;
}

const maxInt64 = 2n ** 63n - 1n;
const reviewFloor = 500;
const declineScore = 1000;
/** The most each signal adds to the score (0–1000 before clamping). */
const weights = {
  amount: 200,
  velocity: 200,
  profile: 200,
  cvcFailures: 150,
  newCard: 150,
  newMerchant: 75,
  ipVelocity: 100,
} as const;

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
  cardFingerprint?: string;
  clientIp?: string;
}): Record<string, string> {
  const problems: Record<string, string> = {};
  const checkId = (name: string, value: string, required: boolean, max = MAX_ID_LENGTH): void => {
    if (required && value.length === 0) problems[name] = 'required';
    else if (value.length > max) problems[name] = `longer than ${max} characters`;
  };
  checkId('paymentId', fields.paymentId, true);
  checkId('userId', fields.userId, true);
  checkId('merchantId', fields.merchantId, false);
  checkId('cardFingerprint', fields.cardFingerprint ?? '', false, 128);
  checkId('clientIp', fields.clientIp ?? '', false);
  if (looksLikeCardNumber(fields.cardFingerprint ?? '')) {
    problems['cardFingerprint'] = 'must be a card fingerprint, never a card number';
  }
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

/** Over a limit that may be off (0). */
function over(count: number | null, limit: number): boolean {
  return limit > 0 && count !== null && count > limit;
}

/**
 * Where the amount stands against the user's profile: the deviation used (at least
 * `minDeviationRatio` of the mean, and 1) and how many of them the amount is above the mean.
 * Null until the profile has `minHistory` payments.
 */
export function amountDeviation(
  amount: bigint,
  profile: AmountProfile,
  limits: ProfileLimits,
): { deviation: number; deviations: number } | null {
  if (profile.payments < limits.minHistory) return null;
  const deviation = Math.max(
    Math.sqrt(Math.max(profile.variance, 0)),
    profile.mean * limits.minDeviationRatio,
    1,
  );
  return { deviation, deviations: (Number(amount) - profile.mean) / deviation };
}

/**
 * Decides on a payment from its features:
 *
 * 1. locks: a locked card declines (`card_locked`); a locked user declines a card payment and
 *    flags a wallet payment for review (`user_locked`: the lockout is of card operations);
 * 2. velocity: more than the limit of payments in 60 s by the user or with the card declines,
 *    from one IP reviews; unreadable windows skip these rules (`velocity_unavailable`);
 * 3. amount: above the decline limit declines, above the review limit reviews;
 * 4. profile: after enough history and above its minimum amount, an amount more than the
 *    decline (review) number of deviations above the user's EWMA mean declines (reviews);
 * 5. a new card or merchant for a user with a history raises the score, and a score of at least
 *    the review score reviews (`risk_score`).
 *
 * Every rule that fired is a reason. The score adds up to 200 for the amount (against the
 * decline limit), 200 for the user's or card's velocity, 200 for the profile deviation, 150
 * for the user's wrong CVCs, 150 for a new card, 75 for a new merchant, 100 for the IP's
 * velocity: clamped below 500 for an approval, to 500–999 for a review, and 1000 for a decline.
 */
export function decide(payment: PaymentToScore, input: ScoringInput, limits: FraudLimits): FraudVerdict {
  const reasons = new Set<FraudReason>();
  let declined = false;
  let reviewed = false;
  const decline = (reason: FraudReason): void => {
    reasons.add(reason);
    declined = true;
  };
  const review = (reason: FraudReason): void => {
    reasons.add(reason);
    reviewed = true;
  };

  if (input.cardLocked) decline('card_locked');
  if (input.userLocked) {
    if (payment.method === 'card') decline('user_locked');
    else review('user_locked');
  }

  const velocity = input.velocity;
  if (velocity === undefined || input.spend === undefined) reasons.add('velocity_unavailable');
  if (velocity !== undefined) {
    if (velocity.user > limits.maxPaymentsPerMinute) decline('velocity_user');
    if (over(velocity.card, limits.maxCardPaymentsPerMinute)) decline('velocity_card');
    if (over(velocity.ip, limits.maxIpPaymentsPerMinute)) review('velocity_ip');
  }

  if (payment.amount > limits.declineAmount) decline('amount_limit');
  else if (payment.amount > limits.reviewAmount) review('amount_review');

  const standing = amountDeviation(payment.amount, input.profile, limits.profile);
  if (standing !== null && payment.amount > limits.profile.minAmount) {
    if (standing.deviations > limits.profile.declineDeviations) decline('amount_outlier');
    else if (standing.deviations > limits.profile.reviewDeviations) review('amount_unusual');
  }

  const hasHistory = input.profile.payments >= limits.profile.minHistory;
  const newCard = hasHistory && payment.method === 'card' && input.knownCard === false;
  const newMerchant = hasHistory && input.knownMerchant === false;
  if (newCard) reasons.add('new_card');
  if (newMerchant) reasons.add('new_merchant');

  const velocityRatio = (count: number | null, limit: number): number =>
    count === null || limit <= 0 ? 0 : Math.min(1, count / limit);
  const score = Math.round(
    proportion(payment.amount, limits.declineAmount, weights.amount) +
      weights.velocity *
        Math.max(
          velocityRatio(velocity?.user ?? null, limits.maxPaymentsPerMinute),
          velocityRatio(velocity?.card ?? null, limits.maxCardPaymentsPerMinute),
        ) +
      (standing === null
        ? 0
        : weights.profile *
          Math.min(1, Math.max(0, standing.deviations) / Math.max(limits.profile.declineDeviations, 1))) +
      weights.cvcFailures * Math.min(1, input.userCvcFailures / Math.max(limits.cvcFailuresThreshold, 1)) +
      (newCard ? weights.newCard : 0) +
      (newMerchant ? weights.newMerchant : 0) +
      weights.ipVelocity * velocityRatio(velocity?.ip ?? null, limits.maxIpPaymentsPerMinute),
  );
  if (!declined && !reviewed && score >= limits.reviewScore) review('risk_score');

  const features: ScoringFeatures = {
    userPaymentsLastMinute: velocity?.user ?? null,
    cardPaymentsLastMinute: velocity?.card ?? null,
    ipPaymentsLastMinute: velocity?.ip ?? null,
    merchantPaymentsLastMinute: velocity?.merchant ?? null,
    userAmountLastDay: input.spend?.amount ?? null,
    userMerchantsLastDay: input.spend?.merchants ?? null,
    firstPaymentToMerchant: input.knownMerchant === null ? null : !input.knownMerchant,
    firstPaymentWithCard: input.knownCard === null ? null : !input.knownCard,
    userCvcFailuresLastHour: input.userCvcFailures,
    userLocked: input.userLocked,
    cardLocked: input.cardLocked,
    profilePayments: input.profile.payments,
    profileMean: input.profile.payments > 0 ? input.profile.mean : null,
    profileDeviation: standing?.deviation ?? null,
    amountDeviations: standing?.deviations ?? null,
  };
  const ordered = FRAUD_REASONS.filter((reason) => reasons.has(reason));
  if (declined) return { outcome: 'decline', score: declineScore, reasons: ordered, features };
  if (reviewed) {
    return {
      outcome: 'review',
      score: Math.min(Math.max(score, reviewFloor), declineScore - 1),
      reasons: ordered,
      features,
    };
  }
  return { outcome: 'approve', score: Math.min(score, reviewFloor - 1), reasons: ordered, features };
}
