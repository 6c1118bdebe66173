import { z } from 'zod';
import { addressEnv, commonEnv, envInt } from '@koban/platform';

/** Dev default, clearly not a secret: production must set ADMIN_TOKEN (enforced below). */
export const DEV_ADMIN_TOKEN = 'koban-dev-admin-token';

/** Every variable the gateway reads; parsed once in main.ts. */
export const configSchema = z
  .object({
    ...commonEnv,
    HTTP_HOST: z.string().min(1).default('0.0.0.0'),
    HTTP_PORT: envInt().min(0).max(65535).default(8080),
    PAYMENT_ADDR: addressEnv('127.0.0.1:50051'),
    LEDGER_ADDR: addressEnv('127.0.0.1:50052'),
    ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').default(DEV_ADMIN_TOKEN),
    /** API.md: every request answers within its deadline, 5 s by default. */
    REQUEST_TIMEOUT_MS: envInt().min(100).max(60_000).default(5_000),
    /** API.md: beyond this many requests in flight the gateway answers 503 at once. */
    MAX_IN_FLIGHT_REQUESTS: envInt().min(1).default(2_000),
  })
  .refine((config) => config.NODE_ENV !== 'production' || config.ADMIN_TOKEN !== DEV_ADMIN_TOKEN, {
    message: 'must be set to a secret in production (the dev default is not allowed)',
    path: ['ADMIN_TOKEN'],
  });

export type Config = z.infer<typeof configSchema>;
