import { z } from 'zod';
import { commonEnv, grpcPortEnv, addressEnv } from '@koban/platform';

/** Every variable the payment service reads; parsed once in main.ts. */
export const configSchema = z.object({
  ...commonEnv,
  GRPC_PORT: grpcPortEnv(50051),
  MYSQL_DATABASE: z.string().default('koban_payment'),
  LEDGER_ADDR: addressEnv('127.0.0.1:50052'),
  FRAUD_ADDR: addressEnv('127.0.0.1:50054'),
  BANK_INTEGRATION_ADDR: addressEnv('127.0.0.1:50053'),
  CAMPAIGN_ADDR: addressEnv('127.0.0.1:50055'),
});

export type Config = z.infer<typeof configSchema>;
