import { z } from 'zod';
import { commonEnv, grpcPortEnv } from '@koban/platform';

/** Every variable the fraud service reads; parsed once in main.ts. */
export const configSchema = z.object({
  ...commonEnv,
  GRPC_PORT: grpcPortEnv(50054),
  MYSQL_DATABASE: z.string().default('koban_fraud'),
});

export type Config = z.infer<typeof configSchema>;
