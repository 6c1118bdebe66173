import { z } from 'zod';
import { commonEnv, consumerEnv, envBool, envInt, grpcPortEnv } from '@koban/platform';
import type { LockoutPolicy } from './lockout/lockout.js';
import type { FraudLimits } from './scoring/fraud-rules.js';

const seconds = (max: number) => envInt().min(1).max(max);
const day = 86_400;
/** A decimal from an environment string, e.g. `0.1`. */
const envNumber = () => z.coerce.number().refine(Number.isFinite, 'expected a number');

/** Every variable the fraud service reads; parsed once in main.ts. Defaults: API.md, "Default limits". */
export const configSchema = z
  .object({
    ...commonEnv,
    ...consumerEnv,
    GRPC_PORT: grpcPortEnv(50054),
    MYSQL_DATABASE: z.string().default('koban_fraud'),

    /** Velocity rule: more payments than this by one user within 60 s are declined (API.md). */
    FRAUD_MAX_PAYMENTS_PER_MINUTE: envInt().min(1).max(1_000_000).default(120),
    /** More payments than this with one card (across users) within 60 s are declined; 0: off. */
    FRAUD_MAX_CARD_PAYMENTS_PER_MINUTE: envInt().min(0).max(1_000_000).default(120),
    /** More payments than this from one client IP within 60 s are reviewed (NAT shares IPs); 0: off. */
    FRAUD_MAX_IP_PAYMENTS_PER_MINUTE: envInt().min(0).max(1_000_000).default(600),
    /** Amounts above this (JPY) are declined. */
    FRAUD_DECLINE_AMOUNT: envInt().min(1).max(Number.MAX_SAFE_INTEGER).default(1_000_000),
    /** Amounts above this (JPY), up to the decline amount, are approved for review. */
    FRAUD_REVIEW_AMOUNT: envInt().min(1).max(Number.MAX_SAFE_INTEGER).default(300_000),
    /** A score of at least this from the signals together is reviewed (above 999: never). */
    FRAUD_REVIEW_SCORE: envInt().min(1).max(1000).default(500),

    /** Weight of the newest amount in each user's EWMA amount profile. */
    FRAUD_PROFILE_ALPHA: envNumber().gt(0).max(1).default(0.1),
    /** Completed payments a profile needs before the amount and new card/merchant rules use it. */
    FRAUD_PROFILE_MIN_HISTORY: envInt().min(1).max(1_000_000).default(10),
    /** Amounts more than this many deviations above the user's mean are reviewed... */
    FRAUD_PROFILE_REVIEW_DEVIATIONS: envNumber().gt(0).max(1_000).default(3),
    /** ...and more than this many declined. */
    FRAUD_PROFILE_DECLINE_DEVIATIONS: envNumber().gt(0).max(1_000).default(8),
    /** Amounts (JPY) at or below this are never flagged by the profile rule. */
    FRAUD_PROFILE_MIN_AMOUNT: envInt().min(0).max(Number.MAX_SAFE_INTEGER).default(30_000),
    /** The deviation used is at least this share of the mean (users who always pay the same). */
    FRAUD_PROFILE_MIN_DEVIATION_RATIO: envNumber().min(0).max(100).default(0.5),

    /** Card-check lockouts and the client IP throttle; false: nothing locks, no lock is enforced. */
    LOCKOUT_ENABLED: envBool().default(true),
    /** Wrong CVCs within the window that lock a user, and (across users) a card. */
    LOCKOUT_CVC_FAILURES: envInt().min(1).max(10_000).default(5),
    LOCKOUT_WINDOW_SECONDS: seconds(30 * day).default(3_600),
    LOCKOUT_DURATION_SECONDS: seconds(30 * day).default(1_800),
    /** More failed card checks of any kind than this from one client IP within the window throttle it. */
    IP_THROTTLE_FAILURES: envInt().min(0).max(100_000).default(30),
    IP_THROTTLE_WINDOW_SECONDS: seconds(30 * day).default(600),
    IP_THROTTLE_DURATION_SECONDS: seconds(30 * day).default(600),
  })
  .refine((config) => config.FRAUD_REVIEW_AMOUNT <= config.FRAUD_DECLINE_AMOUNT, {
    message: 'must not exceed FRAUD_DECLINE_AMOUNT',
    path: ['FRAUD_REVIEW_AMOUNT'],
  })
  .refine((config) => config.FRAUD_PROFILE_REVIEW_DEVIATIONS <= config.FRAUD_PROFILE_DECLINE_DEVIATIONS, {
    message: 'must not exceed FRAUD_PROFILE_DECLINE_DEVIATIONS',
    path: ['FRAUD_PROFILE_REVIEW_DEVIATIONS'],
  });

export type Config = z.infer<typeof configSchema>;

/** The scoring limits of a parsed config. */
export function fraudLimits(config: Config): FraudLimits {
  return {
    maxPaymentsPerMinute: config.FRAUD_MAX_PAYMENTS_PER_MINUTE,
    maxCardPaymentsPerMinute: config.FRAUD_MAX_CARD_PAYMENTS_PER_MINUTE,
    maxIpPaymentsPerMinute: config.FRAUD_MAX_IP_PAYMENTS_PER_MINUTE,
    declineAmount: BigInt(config.FRAUD_DECLINE_AMOUNT),
    reviewAmount: BigInt(config.FRAUD_REVIEW_AMOUNT),
    profile: {
      minHistory: config.FRAUD_PROFILE_MIN_HISTORY,
      reviewDeviations: config.FRAUD_PROFILE_REVIEW_DEVIATIONS,
      declineDeviations: config.FRAUD_PROFILE_DECLINE_DEVIATIONS,
      minAmount: BigInt(config.FRAUD_PROFILE_MIN_AMOUNT),
      minDeviationRatio: config.FRAUD_PROFILE_MIN_DEVIATION_RATIO,
    },
    reviewScore: config.FRAUD_REVIEW_SCORE,
    cvcFailuresThreshold: config.LOCKOUT_CVC_FAILURES,
  };
}

/** The lockout policy of a parsed config. The IP throttles "more than" its failures: at one more. */
export function lockoutPolicy(config: Config): LockoutPolicy {
  const cvc = {
    locksAt: config.LOCKOUT_CVC_FAILURES,
    windowMs: config.LOCKOUT_WINDOW_SECONDS * 1000,
    durationMs: config.LOCKOUT_DURATION_SECONDS * 1000,
  };
  return {
    enabled: config.LOCKOUT_ENABLED,
    user: cvc,
    card: cvc,
    ip: {
      locksAt: config.IP_THROTTLE_FAILURES + 1,
      windowMs: config.IP_THROTTLE_WINDOW_SECONDS * 1000,
      durationMs: config.IP_THROTTLE_DURATION_SECONDS * 1000,
    },
  };
}
