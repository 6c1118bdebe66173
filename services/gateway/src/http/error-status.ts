import * as grpc from '@grpc/grpc-js';
import {
  DatabaseUnavailableError,
  DomainError,
  GrpcCallError,
  failureKind,
  isDatabaseUnavailableError,
  statusName,
  type Logger,
} from '@koban/platform';

/** Where unexpected failures are logged (a pino logger, e.g. fastify's `request.log`). */
export type ErrorLog = Pick<Logger, 'warn' | 'error'>;
import { ApiError } from './api-error.js';

/**
 * Every error code the gateway answers with: the domain codes of proto/README.md that can travel
 * over gRPC, plus the gateway's own (`idempotency_key_required`, `payload_too_large`, `internal`).
 */
export const errorCodes = [
  'invalid_request',
  'idempotency_key_required',
  'unauthenticated',
  'not_found',
  'account_not_found',
  'payload_too_large',
  'currency_mismatch',
  'insufficient_funds',
  'payment_declined',
  'bank_declined',
  'invalid_cvc',
  'card_declined',
  'transfer_id_reused',
  'unsupported_currency',
  'amount_out_of_range',
  'invalid_qr',
  'idempotency_key_reused',
  'refund_exceeds_payment',
  'invalid_bank_account',
  'invalid_card_number',
  'card_expired',
  'idempotency_in_progress',
  'account_locked',
  'rate_limited',
  'internal',
  'service_unavailable',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

/**
 * THE mapping to HTTP: a domain error code (the `koban-error-code` a downstream sent, or one the
 * gateway raises itself) or, for an error without a code, the bare gRPC status. Exhaustive by
 * type: a new code or status does not compile until it is placed here.
 *
 * A bare status is an infrastructure failure or a bug, never a business outcome (those always
 * carry a code), so only "try again later" statuses become 503 and the rest 500.
 */
export const httpStatusOf: Readonly<Record<grpc.status | ErrorCode, number>> = {
  invalid_request: 400,
  idempotency_key_required: 400,
  unauthenticated: 401,
  insufficient_funds: 402,
  payment_declined: 402,
  bank_declined: 402,
  invalid_cvc: 402,
  card_declined: 402,
  not_found: 404,
  account_not_found: 404,
  idempotency_in_progress: 409,
  payload_too_large: 413,
  currency_mismatch: 422,
  transfer_id_reused: 422,
  unsupported_currency: 422,
  amount_out_of_range: 422,
  invalid_qr: 422,
  idempotency_key_reused: 422,
  refund_exceeds_payment: 422,
  invalid_bank_account: 422,
  invalid_card_number: 422,
  card_expired: 422,
  account_locked: 423,
  rate_limited: 429,
  internal: 500,
  service_unavailable: 503,

  [grpc.status.OK]: 500,
  [grpc.status.CANCELLED]: 503,
  [grpc.status.UNKNOWN]: 500,
  [grpc.status.INVALID_ARGUMENT]: 500,
  [grpc.status.DEADLINE_EXCEEDED]: 503,
  [grpc.status.NOT_FOUND]: 500,
  [grpc.status.ALREADY_EXISTS]: 500,
  [grpc.status.PERMISSION_DENIED]: 500,
  [grpc.status.RESOURCE_EXHAUSTED]: 503,
  [grpc.status.FAILED_PRECONDITION]: 500,
  [grpc.status.ABORTED]: 500,
  [grpc.status.OUT_OF_RANGE]: 500,
  [grpc.status.UNIMPLEMENTED]: 500,
  [grpc.status.INTERNAL]: 500,
  [grpc.status.UNAVAILABLE]: 503,
  [grpc.status.DATA_LOSS]: 500,
  [grpc.status.UNAUTHENTICATED]: 500,
};

/** Public codes that stand for an internal one: a ledger account is an implementation detail. */
const publicCodeOf: Partial<Record<ErrorCode, ErrorCode>> = { account_not_found: 'not_found' };

/** Seconds a client should wait before retrying after a 503 (an open breaker: its half-open delay). */
export const retryAfterSeconds = { unavailable: 1, breakerOpen: 5 } as const;

// A type guard rather than a bare instanceof, which would narrow to DomainError<any>.
const isDomainError = (error: unknown): error is DomainError => error instanceof DomainError;

const knownCodes: ReadonlySet<string> = new Set(errorCodes);

function isErrorCode(code: string): code is ErrorCode {
  return knownCodes.has(code);
}

/** The ApiError a code is answered with, its status from {@link httpStatusOf}. */
export function apiError(
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
  retryAfter?: number,
): ApiError {
  return new ApiError(httpStatusOf[code], code, message, details, { retryAfterSeconds: retryAfter });
}

function unavailable(retryAfter: number): ApiError {
  return apiError(
    'service_unavailable',
    'a service needed for this request is unavailable; try again later',
    undefined,
    retryAfter,
  );
}

function internal(): ApiError {
  return apiError('internal', 'internal error');
}

function retryAfterFrom(details: Readonly<Record<string, unknown>> | undefined): number {
  const seconds = details?.['retryAfterSeconds'];
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0
    ? Math.ceil(seconds)
    : retryAfterSeconds.unavailable;
}

function fromDomainError(error: DomainError, log: ErrorLog, traceId: string): ApiError {
  if (!isErrorCode(error.code)) {
    log.error(
      { err: error, code: error.code, trace_id: traceId },
      'domain error code the gateway cannot map',
    );
    return internal();
  }
  const code = publicCodeOf[error.code] ?? error.code;
  const status = httpStatusOf[code];
  if (status >= 500) {
    log.warn({ code, trace_id: traceId }, 'a dependency answered that it cannot serve the request');
    return unavailable(retryAfterFrom(error.details));
  }
  const details = code === error.code && error.details ? { ...error.details } : undefined;
  return new ApiError(status, code, error.message, details, {
    retryAfterSeconds: status === 429 ? retryAfterFrom(error.details) : undefined,
  });
}

/**
 * The public answer for anything a handler threw. Business outcomes keep their code and message
 * (downstream messages are written to be shown); dependency failures become 503 with
 * `Retry-After`; anything else is a 500 that says nothing internal and is logged here, once,
 * with the trace id.
 */
export function toApiError(error: unknown, log: ErrorLog, traceId: string): ApiError {
  if (error instanceof ApiError) return error;
  if (isDomainError(error)) return fromDomainError(error, log, traceId);
  if (error instanceof GrpcCallError) {
    if (httpStatusOf[error.code] === 503) {
      log.warn(
        { downstream: error.method, status: statusName(error.code), trace_id: traceId },
        'downstream call failed',
      );
      return unavailable(retryAfterSeconds.unavailable);
    }
    log.error({ err: error, trace_id: traceId }, 'downstream call failed unexpectedly');
    return internal();
  }
  const kind = failureKind(error);
  if (kind !== 'failure') {
    log.warn({ failure: kind, trace_id: traceId }, 'downstream call refused or timed out');
    return unavailable(kind === 'open' ? retryAfterSeconds.breakerOpen : retryAfterSeconds.unavailable);
  }
  if (isDatabaseUnavailableError(error)) {
    log.warn({ err: error, trace_id: traceId }, 'the gateway database is unreachable');
    const breakerOpen = error instanceof DatabaseUnavailableError && error.code === 'DB_BREAKER_OPEN';
    return unavailable(breakerOpen ? retryAfterSeconds.breakerOpen : retryAfterSeconds.unavailable);
  }
  log.error({ err: error, trace_id: traceId }, 'unhandled error');
  return internal();
}

/**
 * Whether `error` says a dependency could not serve the call (down, slow, breaker open, or it
 * said so itself): what a fallback may stand in for, and what is otherwise answered with 503.
 */
export function isDependencyFailure(error: unknown): boolean {
  if (error instanceof GrpcCallError) return httpStatusOf[error.code] === 503;
  if (isDomainError(error)) return error.code === 'service_unavailable';
  return failureKind(error) !== 'failure' || isDatabaseUnavailableError(error);
}
