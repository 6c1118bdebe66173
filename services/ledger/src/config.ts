import { z } from 'zod';
import { commonEnv, grpcPortEnv } from '@koban/platform';

/** Every variable the ledger service reads; parsed once in main.ts. */
export const configSchema = z.object({
  ...commonEnv,
  GRPC_PORT: grpcPortEnv(50052),
  MYSQL_DATABASE: z.string().default('koban_ledger'),
});

export type Config = z.infer<typeof configSchema>;
