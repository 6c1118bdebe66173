import { z } from 'zod';
import { faultCodes, type FaultRequest } from '@koban/platform';

/** API.md "Operations": the services whose gRPC servers can be faulted. */
export const faultableServices = [
  'gateway',
  'payment',
  'ledger',
  'bank-integration',
  'fraud',
  'campaign-promo',
] as const;
export type FaultableService = (typeof faultableServices)[number];

/** Longest injected latency: longer than any deadline in the platform, so "hangs" can be shown. */
export const MAX_FAULT_LATENCY_MS = 120_000;
/** Longest TTL: one day; a fault without ttlSeconds lasts until DELETE. */
export const MAX_FAULT_TTL_SECONDS = 86_400;

export const faultPath = z.object({ service: z.enum(faultableServices) });

/** The body of `PUT /v1/admin/faults/{service}`. */
export const faultBody = z
  .object({
    method: z
      .string()
      .regex(/^(\*|[A-Z][A-Za-z0-9]{0,99})$/, 'must be "*" or an RPC name such as "CreateCharge"')
      .default('*'),
    latencyMs: z.number().int().min(0).max(MAX_FAULT_LATENCY_MS).default(0),
    errorRate: z.number().min(0).max(1).default(0),
    code: z.enum(faultCodes).default('UNAVAILABLE'),
    ttlSeconds: z.number().int().min(1).max(MAX_FAULT_TTL_SECONDS).optional(),
  })
  .strict();

export type FaultBody = z.output<typeof faultBody>;

/** What the store is asked to keep for a validated PUT. */
export function faultRequestOf(service: FaultableService, body: FaultBody): FaultRequest {
  return {
    service,
    method: body.method,
    latencyMs: body.latencyMs,
    errorRate: body.errorRate,
    code: body.code,
    ttlSeconds: body.ttlSeconds,
  };
}
