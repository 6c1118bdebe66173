import type { IncomingHttpHeaders } from 'node:http';
import type { onRequestHookHandler } from 'fastify';
import type { z } from 'zod';
import type { ApiError } from './api-error.js';
import { apiError } from './error-status.js';

/** API.md: the only currency. */
export const CURRENCY = 'JPY';
/** API.md: amounts are whole numbers from 1 to 10,000,000 (minor units; JPY has none). */
export const MIN_AMOUNT = 1;
export const MAX_AMOUNT = 10_000_000;
/** API.md: `Idempotency-Key` is 1–255 characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** What went wrong with each offending field, keyed by its dotted path (`source.cardId`). */
export function fieldProblems(error: z.ZodError): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : 'body';
    // Parsed with reportInput; JSON has no undefined, so an undefined input is a missing field.
    const missing = issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined;
    fields[path] ??= missing ? 'is required' : issue.message.replace(/^Invalid input: /, '');
  }
  return fields;
}

/** `400 invalid_request` naming the offending fields in `details.fields`. */
export function invalidRequest(fields: Record<string, string>, message = 'invalid request'): ApiError {
  return apiError('invalid_request', message, { fields });
}

/**
 * Parses a body, query or path with its schema; anything missing or wrongly typed is a
 * `400 invalid_request` with the offending fields in `details.fields`.
 */
export function parseOrReject<Schema extends z.ZodType>(schema: Schema, value: unknown): z.output<Schema> {
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) throw invalidRequest(fieldProblems(result.error));
  return result.data;
}

/** `422 unsupported_currency` unless JPY. */
export function checkCurrency(currency: string): void {
  if (currency !== CURRENCY) {
    throw apiError('unsupported_currency', `currency ${JSON.stringify(currency)} is not supported; use JPY`, {
      supported: [CURRENCY],
    });
  }
}

/** `422 amount_out_of_range` unless a whole number from 1 to 10,000,000. */
export function checkAmount(amount: number): void {
  if (!Number.isInteger(amount) || amount < MIN_AMOUNT || amount > MAX_AMOUNT) {
    throw apiError(
      'amount_out_of_range',
      `amount must be a whole number from ${MIN_AMOUNT} to ${MAX_AMOUNT}`,
      {
        min: MIN_AMOUNT,
        max: MAX_AMOUNT,
      },
    );
  }
}

/** The checks of a money field pair, currency first (a USD amount is judged as USD, not yen). */
export function checkMoney(money: { amount: number; currency: string }): void {
  checkCurrency(money.currency);
  checkAmount(money.amount);
}

/**
 * The `Idempotency-Key` of a money-moving POST: missing or empty → `400 idempotency_key_required`,
 * longer than 255 characters → `400 invalid_request`.
 */
export function idempotencyKeyOf(headers: IncomingHttpHeaders): string {
  const value = headers['idempotency-key'];
  const key = Array.isArray(value) ? value[0] : value;
  if (key === undefined || key.length === 0) {
    throw apiError('idempotency_key_required', 'this request moves money: send an Idempotency-Key header');
  }
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw invalidRequest(
      { 'Idempotency-Key': `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters` },
      'invalid Idempotency-Key header',
    );
  }
  return key;
}

/**
 * The `onRequest` hook of every money-moving POST: the key is checked before the body is read,
 * right after authentication.
 */
export const requireIdempotencyKey: onRequestHookHandler = (request, _reply, done) => {
  try {
    idempotencyKeyOf(request.headers);
    done();
  } catch (error) {
    done(error as Error);
  }
};
