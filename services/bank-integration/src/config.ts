import { z } from 'zod';
import { commonEnv, grpcPortEnv } from '@koban/platform';

/** Every variable the bank-integration service reads; parsed once in main.ts. */
export const configSchema = z.object({
  ...commonEnv,
  GRPC_PORT: grpcPortEnv(50053),
  MYSQL_DATABASE: z.string().default('koban_bank'),
});

export type Config = z.infer<typeof configSchema>;
