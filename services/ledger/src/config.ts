import { z } from 'zod';
import { commonEnv, envInt, grpcPortEnv } from '@koban/platform';

/** Every variable the ledger service reads; parsed once in main.ts. */
export const configSchema = z.object({
  ...commonEnv,
  GRPC_PORT: grpcPortEnv(50052),
  MYSQL_DATABASE: z.string().default('koban_ledger'),
  /** How long a cached balance lives in Redis without being refreshed (default 7 days). */
  BALANCE_CACHE_TTL_SECONDS: envInt()
    .min(60)
    .max(90 * 24 * 3600)
    .default(7 * 24 * 3600),
});

export type Config = z.infer<typeof configSchema>;
