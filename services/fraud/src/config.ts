import { z } from 'zod';
import { commonEnv, envInt, grpcPortEnv } from '@koban/platform';
import type { FraudLimits } from './scoring/fraud-rules.js';

/** Every variable the fraud service reads; parsed once in main.ts. */
export const configSchema = z
  .object({
    ...commonEnv,
    GRPC_PORT: grpcPortEnv(50054),
    MYSQL_DATABASE: z.string().default('koban_fraud'),
    /** Velocity rule: more payments than this by one user within 60 s are declined (API.md). */
    FRAUD_MAX_PAYMENTS_PER_MINUTE: envInt().min(1).max(1_000_000).default(120),
    /** Amounts above this (JPY) are declined. */
    FRAUD_DECLINE_AMOUNT: envInt().min(1).max(Number.MAX_SAFE_INTEGER).default(1_000_000),
    /** Amounts above this (JPY), up to the decline amount, are approved for review. */
    FRAUD_REVIEW_AMOUNT: envInt().min(1).max(Number.MAX_SAFE_INTEGER).default(300_000),
  })
  .refine((config) => config.FRAUD_REVIEW_AMOUNT <= config.FRAUD_DECLINE_AMOUNT, {
    message: 'must not exceed FRAUD_DECLINE_AMOUNT',
    path: ['FRAUD_REVIEW_AMOUNT'],
  });

export type Config = z.infer<typeof configSchema>;

/** The scoring limits of a parsed config. */
export function fraudLimits(config: Config): FraudLimits {
  return {
    maxPaymentsPerMinute: config.FRAUD_MAX_PAYMENTS_PER_MINUTE,
    declineAmount: BigInt(config.FRAUD_DECLINE_AMOUNT),
    reviewAmount: BigInt(config.FRAUD_REVIEW_AMOUNT),
  };
}
