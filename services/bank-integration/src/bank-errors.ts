import { DomainError } from '@koban/platform';

/**
 * Every domain error code bank-integration answers with (proto/README.md, "Domain errors").
 * `grpc-api.ts` maps each to its gRPC status, exhaustively.
 */
export type BankErrorCode =
  | 'invalid_request'
  | 'not_found'
  | 'invalid_bank_account'
  | 'invalid_card_number'
  | 'card_expired'
  | 'invalid_cvc'
  | 'card_declined'
  | 'account_locked'
  | 'rate_limited'
  | 'unsupported_currency'
  | 'amount_out_of_range'
  | 'idempotency_key_reused'
  | 'refund_exceeds_payment'
  | 'service_unavailable';

/** A business outcome that records nothing, answered as a domain error. */
export class BankError extends DomainError<BankErrorCode> {}

/** `invalid_request` naming each offending field and what is wrong with it. */
export function invalidRequest(fields: Readonly<Record<string, string>>): BankError {
  return new BankError('invalid_request', `invalid ${Object.keys(fields).join(', ')}`, { fields });
}

/** `not_found`, the same for a resource that does not exist and one the caller may not use. */
export function notFound(what: string): BankError {
  return new BankError('not_found', `${what} not found`);
}

/** How long a client should wait before retrying after a dependency failure. */
export const retryAfterSeconds = 1;

/** `service_unavailable`: a required dependency failed; nothing was decided. */
export function serviceUnavailable(what: string, cause?: unknown): BankError {
  return new BankError(
    'service_unavailable',
    `${what} is unavailable; retry later`,
    { retryAfterSeconds },
    cause === undefined ? undefined : { cause },
  );
}
