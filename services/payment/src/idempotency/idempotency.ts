import { createHash } from 'node:crypto';
import { PaymentError, invalidRequest } from '../payment-errors.js';

/**
 * Idempotency keys (API.md, "Idempotency"), scoped to the authenticated caller. Pure rules; the
 * durable state lives in `idempotency_keys` (the truth) and Redis (a fast in-flight marker).
 *
 * A key row goes through:
 *
 *   (none) ──reserve──▶ IN_PROGRESS(owner, lease) ──bind──▶ IN_PROGRESS(resource) ──▶ COMPLETED(response)
 *
 * - reserve: INSERT; the primary key (caller_id, idempotency_key) lets exactly one request win.
 * - bind: in the transaction that creates the payment/refund/transfer row, so one key can only
 *   ever name one resource, hence one ledger transfer id: money moves at most once per key.
 * - complete: in the transaction that records the resource's final state, with the encoded
 *   response, so a replay answers exactly what the first request answered.
 * - An owner that fails before binding deletes the row (nothing was recorded: a retry starts
 *   afresh); one that fails after binding ends its lease, so a retry takes over and drives the
 *   same resource forward instead of waiting for the sweeper.
 * - forget: an owner whose resource turned out to record nothing (a downstream refused it before
 *   anything moved) deletes the resource and unbinds the key in one transaction, then fails like
 *   an owner that never bound: the refusal is answered as an error and a retry starts afresh.
 * - A top-up answers PROCESSING before it is finished: that first answer is recorded as the
 *   key's response (`completeOnce`), and the sweeper finishing the top-up later leaves it alone.
 */

/** The operations that take an idempotency key. */
export type IdempotentOperation = 'CreatePayment' | 'CreateRefund' | 'CreateTransfer' | 'CreateTopup';

/** Who a key belongs to, and the key. */
export interface IdempotencyScope {
  callerId: string;
  key: string;
}

/** One request under a key: what it is, and the digest of everything that defines it. */
export interface IdempotentRequest {
  operation: IdempotentOperation;
  scope: IdempotencyScope;
  requestHash: string;
}

export const MAX_KEY_LENGTH = 255;
/** Caller ids come from the gateway's authentication; the column holds this many characters. */
export const MAX_CALLER_ID_LENGTH = 128;

/** The scope of a request, or `invalid_request` naming the missing or oversized field. */
export function checkScope(callerId: string, key: string): IdempotencyScope {
  if (callerId === '' || callerId.length > MAX_CALLER_ID_LENGTH) {
    throw invalidRequest({ callerId: `required, at most ${MAX_CALLER_ID_LENGTH} characters` });
  }
  if (key === '' || key.length > MAX_KEY_LENGTH) {
    throw invalidRequest({ idempotencyKey: `required, 1 to ${MAX_KEY_LENGTH} characters` });
  }
  return { callerId, key };
}

/**
 * SHA-256 (hex) of the canonical form of a request: the operation and its defining fields with
 * keys sorted, so that field order never matters. The caller leaves out what does not define the
 * request (the key itself, the client IP).
 */
export function requestHash(
  operation: IdempotentOperation,
  fields: Readonly<Record<string, string | number | boolean>>,
): string {
  const canonical = Object.keys(fields)
    .sort()
    .map((name) => [name, fields[name]]);
  return createHash('sha256')
    .update(JSON.stringify([operation, canonical]))
    .digest('hex');
}

/** A key row as read back. */
export interface StoredKey {
  requestHash: string;
  state: 'IN_PROGRESS' | 'COMPLETED';
  owner: string;
  /** Whether the owner's lease has not yet run out (by the database clock). */
  leaseLive: boolean;
  resourceId: string | null;
  response: Buffer | null;
}

/** What to do about a key that already has a row. */
export type ExistingKeyDecision =
  | { kind: 'replay'; response: Buffer }
  | { kind: 'reused' }
  | { kind: 'in_progress' }
  | { kind: 'take_over'; resourceId: string | null };

/**
 * Same key with another request → reused, whatever the state; done → replay; someone holds a
 * live lease → in progress; otherwise its owner gave up or died → take it over.
 */
export function decideExistingKey(stored: StoredKey, hash: string): ExistingKeyDecision {
  if (stored.requestHash !== hash) return { kind: 'reused' };
  if (stored.state === 'COMPLETED' && stored.response !== null) {
    return { kind: 'replay', response: stored.response };
  }
  if (stored.state === 'COMPLETED' || stored.leaseLive) return { kind: 'in_progress' };
  return { kind: 'take_over', resourceId: stored.resourceId };
}

export function keyReusedError(): PaymentError {
  return new PaymentError(
    'idempotency_key_reused',
    'this idempotency key was already used with a different request',
  );
}

export function inProgressError(): PaymentError {
  return new PaymentError(
    'idempotency_in_progress',
    'a request with this idempotency key is still being processed; retry shortly',
  );
}

/** The Redis key of a scope's in-flight marker: hashed, so no separator in ids can collide. */
export function markerKey(scope: IdempotencyScope): string {
  const digest = createHash('sha256').update(`${scope.callerId}\u0000${scope.key}`).digest('hex');
  return `payment:idem:${digest}`;
}

/** The marker's value: who holds it, and which request, so a mismatch answers `reused` at once. */
export function markerValue(owner: string, hash: string): string {
  return `${owner} ${hash}`;
}

/** The request hash held in a marker value. */
export function markerHash(value: string): string {
  return value.slice(value.indexOf(' ') + 1);
}
