import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import {
  DatabaseUnavailableError,
  DomainError,
  GrpcCallError,
  createDependencyPolicy,
  createLogger,
  type DependencyPolicy,
} from '@koban/platform';
import { ApiError } from './api-error.js';
import { errorCodes, httpStatusOf, isDependencyFailure, toApiError, type ErrorLog } from './error-status.js';

function recordingLog(): ErrorLog & { lines: Array<{ level: 'warn' | 'error'; fields: unknown }> } {
  const lines: Array<{ level: 'warn' | 'error'; fields: unknown }> = [];
  return {
    lines,
    warn: (fields: unknown) => void lines.push({ level: 'warn', fields }),
    error: (fields: unknown) => void lines.push({ level: 'error', fields }),
  };
}

const grpcStatuses = Object.values(grpc.status).filter((value): value is number => typeof value === 'number');
const traceId = 'a'.repeat(32);

describe('httpStatusOf', () => {
  it('maps every gRPC status and every error code to an HTTP error status', () => {
    assert.equal(grpcStatuses.length, 17);
    for (const key of [...grpcStatuses, ...errorCodes]) {
      const status = httpStatusOf[key as keyof typeof httpStatusOf];
      assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${String(key)} → ${status}`);
    }
    assert.equal(Object.keys(httpStatusOf).length, grpcStatuses.length + errorCodes.length);
  });

  it('answers the statuses of API.md', () => {
    const expected: Record<string, number> = {
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
      invalid_qr: 422,
      unsupported_currency: 422,
      amount_out_of_range: 422,
      idempotency_key_reused: 422,
      refund_exceeds_payment: 422,
      invalid_bank_account: 422,
      invalid_card_number: 422,
      card_expired: 422,
      account_locked: 423,
      rate_limited: 429,
      internal: 500,
      service_unavailable: 503,
    };
    for (const [code, status] of Object.entries(expected)) {
      assert.equal(httpStatusOf[code as keyof typeof httpStatusOf], status, code);
    }
  });

  it('treats bare statuses as failures: "try again later" ones 503, the rest 500', () => {
    for (const status of grpcStatuses) {
      const retryLater = [
        grpc.status.UNAVAILABLE,
        grpc.status.DEADLINE_EXCEEDED,
        grpc.status.RESOURCE_EXHAUSTED,
        grpc.status.CANCELLED,
      ].includes(status);
      assert.equal(httpStatusOf[status as grpc.status], retryLater ? 503 : 500, grpc.status[status]);
    }
  });
});

describe('toApiError', () => {
  it('keeps a business outcome’s code, message and details', () => {
    const log = recordingLog();
    const error = toApiError(
      new DomainError('insufficient_funds', 'not enough money', { available: '5' }, { status: 9 }),
      log,
      traceId,
    );
    assert.deepEqual(
      [error.statusCode, error.code, error.message, error.details],
      [402, 'insufficient_funds', 'not enough money', { available: '5' }],
    );
    assert.equal(log.lines.length, 0);
  });

  it('answers account_not_found as a plain not_found, without the account id', () => {
    const error = toApiError(
      new DomainError('account_not_found', 'no account', { accountId: 'acc_1' }),
      recordingLog(),
      traceId,
    );
    assert.deepEqual([error.statusCode, error.code, error.details], [404, 'not_found', undefined]);
  });

  it('passes a lockout on as 423 with details.lockedUntil and scope', () => {
    const lockedUntil = '2030-01-01T00:30:00.000Z';
    const error = toApiError(
      new DomainError('account_locked', 'locked', { lockedUntil, scope: 'user' }, { status: 9 }),
      recordingLog(),
      traceId,
    );
    assert.deepEqual(
      [error.statusCode, error.code, error.details, error.retryAfterSeconds],
      [423, 'account_locked', { lockedUntil, scope: 'user' }, undefined],
    );
  });

  it('answers the card and bank outcomes with their codes', () => {
    const cases: Array<[string, number]> = [
      ['invalid_cvc', 402],
      ['card_declined', 402],
      ['bank_declined', 402],
      ['card_expired', 422],
      ['invalid_card_number', 422],
      ['invalid_bank_account', 422],
    ];
    for (const [code, status] of cases) {
      const error = toApiError(new DomainError(code, 'no'), recordingLog(), traceId);
      assert.deepEqual([error.statusCode, error.code], [status, code]);
    }
  });

  it('passes rate limits on with Retry-After from the details', () => {
    const error = toApiError(
      new DomainError('rate_limited', 'slow down', { retryAfterSeconds: 42 }),
      recordingLog(),
      traceId,
    );
    assert.deepEqual([error.statusCode, error.retryAfterSeconds], [429, 42]);
  });

  it('answers a downstream service_unavailable as 503 with its Retry-After, hiding its message', () => {
    const error = toApiError(
      new DomainError('service_unavailable', 'bank x is down', { retryAfterSeconds: 7 }),
      recordingLog(),
      traceId,
    );
    assert.deepEqual(
      [error.statusCode, error.code, error.retryAfterSeconds],
      [503, 'service_unavailable', 7],
    );
    assert.doesNotMatch(error.message, /bank/);
  });

  it('answers an unknown domain code as a logged 500', () => {
    const log = recordingLog();
    const error = toApiError(new DomainError('brand_new_code', 'x'), log, traceId);
    assert.deepEqual([error.statusCode, error.code, error.message], [500, 'internal', 'internal error']);
    assert.deepEqual(
      log.lines.map((line) => line.level),
      ['error'],
    );
  });

  it('answers UNAVAILABLE and DEADLINE_EXCEEDED with 503 and Retry-After', () => {
    for (const status of [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]) {
      const error = toApiError(new GrpcCallError(status, '/x/Y', 'down'), recordingLog(), traceId);
      assert.deepEqual(
        [error.statusCode, error.code, error.retryAfterSeconds],
        [503, 'service_unavailable', 1],
      );
    }
  });

  it('answers INTERNAL and unexpected errors with a 500 that leaks nothing, logged once with the trace id', () => {
    for (const thrown of [
      new GrpcCallError(grpc.status.INTERNAL, '/x/Y', 'secret detail'),
      new TypeError('secret detail'),
    ]) {
      const log = recordingLog();
      const error = toApiError(thrown, log, traceId);
      assert.deepEqual(
        [error.statusCode, error.code, error.message, error.details],
        [500, 'internal', 'internal error', undefined],
      );
      assert.equal(log.lines.length, 1);
      assert.equal((log.lines[0]?.fields as { trace_id?: string }).trace_id, traceId);
    }
  });

  it('answers a database connection failure with 503', () => {
    const error = toApiError(
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      recordingLog(),
      traceId,
    );
    assert.equal(error.statusCode, 503);
  });

  it('answers the open gateway→tidb breaker with 503 and Retry-After 5', () => {
    const error = toApiError(
      new DatabaseUnavailableError('DB_BREAKER_OPEN', { cause: new Error('open') }),
      recordingLog(),
      traceId,
    );
    assert.deepEqual(
      [error.statusCode, error.code, error.retryAfterSeconds],
      [503, 'service_unavailable', 5],
    );
  });

  it('returns an ApiError unchanged', () => {
    const given = new ApiError(418, 'teapot', 'short and stout');
    assert.equal(toApiError(given, recordingLog(), traceId), given);
  });

  describe('for the resilience policy’s refusals', () => {
    const logger = createLogger({ service: 'test', level: 'silent' });
    const policy = (timeoutMs: number): DependencyPolicy =>
      createDependencyPolicy(
        { caller: 'test', callee: `dep-${timeoutMs}`, timeoutMs, retry: false },
        { logger },
      );

    it('answers a timed-out attempt with 503 and an open breaker with 503 and Retry-After 5', async () => {
      const slow = policy(5);
      const timeout = await slow
        .execute(() => new Promise((resolve) => setTimeout(resolve, 100)), { idempotent: false })
        .catch((error: unknown) => error);
      assert.ok(isDependencyFailure(timeout));
      assert.deepEqual([toApiError(timeout, recordingLog(), traceId).statusCode], [503]);

      const failing = policy(1_000);
      const boom = () => Promise.reject(new Error('down'));
      for (let i = 0; i < 5; i += 1)
        await failing.execute(boom, { idempotent: false }).catch(() => undefined);
      const refused = await failing.execute(boom, { idempotent: false }).catch((error: unknown) => error);
      const error = toApiError(refused, recordingLog(), traceId);
      assert.deepEqual([error.statusCode, error.retryAfterSeconds], [503, 5]);
      slow.dispose();
      failing.dispose();
    });
  });
});
