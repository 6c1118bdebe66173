import { z } from 'zod';
import { addressEnv, commonEnv, envInt, grpcPortEnv } from '@koban/platform';

/** Dev default, clearly not a secret: production must set ADMIN_TOKEN (enforced below). */
export const DEV_ADMIN_TOKEN = 'koban-dev-admin-token';

/** Every variable the gateway reads; parsed once in main.ts. */
export const configSchema = z
  .object({
    ...commonEnv,
    HTTP_HOST: z.string().min(1).default('0.0.0.0'),
    HTTP_PORT: envInt().min(0).max(65535).default(8080),
    /** PartyService (users, merchants, credential lookups) for tooling and other services. */
    GRPC_PORT: grpcPortEnv(50050),
    MYSQL_DATABASE: z.string().min(1).default('koban_gateway'),
    PAYMENT_ADDR: addressEnv('127.0.0.1:50051'),
    LEDGER_ADDR: addressEnv('127.0.0.1:50052'),
    /** Per-attempt timeout of gateway→payment calls; ARCHITECTURE.md's matrix says 4.5 s. */
    PAYMENT_TIMEOUT_MS: envInt().min(50).max(60_000).default(4_500),
    /** Per-attempt timeout of gateway→ledger calls; ARCHITECTURE.md's matrix says 300 ms. */
    LEDGER_TIMEOUT_MS: envInt().min(50).max(60_000).default(300),
    ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').default(DEV_ADMIN_TOKEN),
    /** API.md: every request answers within its deadline, 5 s by default. */
    REQUEST_TIMEOUT_MS: envInt().min(100).max(60_000).default(5_000),
    /** API.md: beyond this many requests in flight the gateway answers 503 at once. */
    MAX_IN_FLIGHT_REQUESTS: envInt().min(1).default(2_000),
    /** How long a resolved bearer credential stays in the Redis token cache. */
    TOKEN_CACHE_TTL_SECONDS: envInt().min(1).max(3_600).default(60),
    /** How long the last known balance is kept as the fallback when the ledger is down. */
    BALANCE_CACHE_TTL_SECONDS: envInt()
      .min(1)
      .default(7 * 24 * 3_600),
  })
  .refine((config) => config.NODE_ENV !== 'production' || config.ADMIN_TOKEN !== DEV_ADMIN_TOKEN, {
    message: 'must be set to a secret in production (the dev default is not allowed)',
    path: ['ADMIN_TOKEN'],
  });

export type Config = z.infer<typeof configSchema>;
