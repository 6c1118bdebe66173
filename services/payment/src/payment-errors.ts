import { DomainError } from '@koban/platform';

/**
 * Every domain error code the payment service answers with (proto/README.md, "Domain errors").
 * `grpc-api.ts` maps each to its gRPC status, exhaustively. The card and bank codes are
 * bank-integration's refusals of a charge, passed through as they came (`downstream/bank-port.ts`).
 */
export type PaymentErrorCode =
  | 'invalid_request'
  | 'not_found'
  | 'unsupported_currency'
  | 'amount_out_of_range'
  | 'invalid_qr'
  | 'idempotency_key_reused'
  | 'idempotency_in_progress'
  | 'refund_exceeds_payment'
  | 'invalid_bank_account'
  | 'invalid_card_number'
  | 'card_expired'
  | 'invalid_cvc'
  | 'card_declined'
  | 'account_locked'
  | 'rate_limited'
  | 'service_unavailable';

/** A business outcome that records nothing, answered as a domain error. */
export class PaymentError extends DomainError<PaymentErrorCode> {}

/** `invalid_request` naming each offending field and what is wrong with it. */
export function invalidRequest(fields: Readonly<Record<string, string>>): PaymentError {
  return new PaymentError('invalid_request', 'the request is invalid', { fields });
}

/** `not_found`, the same for a resource that does not exist and one the caller may not see. */
export function notFound(what: string): PaymentError {
  return new PaymentError('not_found', `${what} not found`);
}

/** How long a client should wait before retrying after a dependency failure. */
export const retryAfterSeconds = 1;

/** `service_unavailable`: a required dependency failed; nothing or a recoverable state was recorded. */
export function serviceUnavailable(cause?: unknown): PaymentError {
  return new PaymentError(
    'service_unavailable',
    'a required dependency is unavailable; retry with the same idempotency key',
    { retryAfterSeconds },
    cause === undefined ? undefined : { cause },
  );
}
