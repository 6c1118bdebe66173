import { z } from 'zod';
import { commonEnv, grpcPortEnv, addressEnv } from '@koban/platform';

/** Every variable the campaign-promo service reads; parsed once in main.ts. */
export const configSchema = z.object({
  ...commonEnv,
  GRPC_PORT: grpcPortEnv(50055),
  MYSQL_DATABASE: z.string().default('koban_campaign'),
  LEDGER_ADDR: addressEnv('127.0.0.1:50052'),
});

export type Config = z.infer<typeof configSchema>;
