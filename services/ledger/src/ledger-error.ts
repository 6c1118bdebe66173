import { DomainError } from '@koban/platform';

/**
 * Every business outcome the ledger answers with instead of a result (proto/README.md, "Domain
 * errors"); `ledger-grpc.ts` maps each to its gRPC status.
 */
export type LedgerErrorCode =
  | 'invalid_request'
  | 'not_found'
  | 'account_not_found'
  | 'currency_mismatch'
  | 'insufficient_funds'
  | 'transfer_id_reused';

export type LedgerError = DomainError<LedgerErrorCode>;

/** The outcome of a pure rule: a value, or the business error to answer with. */
export type Checked<T> = { ok: true; value: T } | { ok: false; error: LedgerError };

export function ledgerError(
  code: LedgerErrorCode,
  message: string,
  details?: Readonly<Record<string, unknown>>,
): LedgerError {
  return new DomainError(code, message, details);
}

/** `invalid_request` with the offending fields (field → problem) in `details.fields`. */
export function invalidRequest(fields: Readonly<Record<string, string>>): LedgerError {
  const names = Object.keys(fields);
  return ledgerError('invalid_request', `invalid ${names.join(', ')}`, { fields });
}

/** `account_not_found` naming the account. */
export function accountNotFound(accountId: string): LedgerError {
  return ledgerError('account_not_found', 'account not found', { accountId });
}

/** Whether `error` is one of the ledger's business outcomes (rather than a failure). */
export function isLedgerError(error: unknown): error is LedgerError {
  return error instanceof DomainError;
}
