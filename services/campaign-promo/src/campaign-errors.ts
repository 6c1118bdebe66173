import { DomainError } from '@koban/platform';

/**
 * Every domain error code campaign-promo answers with (campaign.proto; proto/README.md,
 * "Domain errors"). `grpc-api.ts` maps each to its gRPC status, exhaustively.
 */
export type CampaignErrorCode = 'invalid_request' | 'not_found' | 'service_unavailable';

/** A business outcome that records nothing, answered as a domain error. */
export class CampaignError extends DomainError<CampaignErrorCode> {}

/** `invalid_request` naming each offending field and what is wrong with it. */
export function invalidRequest(fields: Readonly<Record<string, string>>): CampaignError {
  return new CampaignError('invalid_request', `invalid ${Object.keys(fields).join(', ')}`, { fields });
}

export function notFound(what: string): CampaignError {
  return new CampaignError('not_found', `${what} not found`);
}

/** How long a client should wait before retrying after a dependency failure. */
export const retryAfterSeconds = 1;

/**
 * `service_unavailable`: the ledger (or the database) could not be reached. Whatever was recorded
 * is finished later by this service; a retry with the same payment or refund id is safe.
 */
export function serviceUnavailable(message: string, cause?: unknown): CampaignError {
  return new CampaignError(
    'service_unavailable',
    message,
    { retryAfterSeconds },
    cause === undefined ? undefined : { cause },
  );
}
