import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ApiError } from './api-error.js';
import { checkAmount, checkCurrency, checkMoney, idempotencyKeyOf, parseOrReject } from './validation.js';

function rejection(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ApiError);
    return error;
  }
  assert.fail('expected an ApiError');
}

describe('parseOrReject', () => {
  const schema = z.object({ name: z.string(), amount: z.number(), nested: z.object({ id: z.string() }) });

  it('returns the parsed value', () => {
    assert.deepEqual(parseOrReject(schema, { name: 'a', amount: 1, nested: { id: 'x' }, extra: true }), {
      name: 'a',
      amount: 1,
      nested: { id: 'x' },
    });
  });

  it('answers 400 invalid_request naming each missing or mistyped field', () => {
    const error = rejection(() => parseOrReject(schema, { amount: 'ten', nested: {} }));
    assert.deepEqual([error.statusCode, error.code], [400, 'invalid_request']);
    assert.deepEqual(error.details, {
      fields: { name: 'is required', amount: 'expected number, received string', 'nested.id': 'is required' },
    });
  });

  it('names the body itself when it is not an object', () => {
    for (const body of [undefined, null, [], 'text']) {
      const error = rejection(() => parseOrReject(schema, body));
      assert.deepEqual(Object.keys((error.details as { fields: object }).fields), ['body']);
    }
  });
});

describe('money checks', () => {
  it('accepts whole amounts from 1 to 10,000,000', () => {
    for (const amount of [1, 1_500, 10_000_000]) checkAmount(amount);
  });

  it('answers 422 amount_out_of_range otherwise', () => {
    for (const amount of [0, -1, 1.5, 10_000_001, Number.NaN, 2 ** 60]) {
      const error = rejection(() => checkAmount(amount));
      assert.deepEqual(
        [error.statusCode, error.code, error.details],
        [422, 'amount_out_of_range', { min: 1, max: 10_000_000 }],
      );
    }
  });

  it('answers 422 unsupported_currency for anything but JPY, judged before the amount', () => {
    checkCurrency('JPY');
    for (const currency of ['USD', 'jpy', '']) {
      assert.equal(rejection(() => checkCurrency(currency)).code, 'unsupported_currency');
    }
    assert.equal(rejection(() => checkMoney({ amount: 0, currency: 'USD' })).code, 'unsupported_currency');
  });
});

describe('idempotencyKeyOf', () => {
  it('returns a key of 1 to 255 characters', () => {
    assert.equal(idempotencyKeyOf({ 'idempotency-key': 'k' }), 'k');
    assert.equal(idempotencyKeyOf({ 'idempotency-key': 'k'.repeat(255) }).length, 255);
  });

  it('answers 400 idempotency_key_required when missing or empty', () => {
    for (const headers of [{}, { 'idempotency-key': '' }]) {
      const error = rejection(() => idempotencyKeyOf(headers));
      assert.deepEqual([error.statusCode, error.code], [400, 'idempotency_key_required']);
    }
  });

  it('answers 400 invalid_request for a key over 255 characters', () => {
    const error = rejection(() => idempotencyKeyOf({ 'idempotency-key': 'k'.repeat(256) }));
    assert.deepEqual([error.statusCode, error.code], [400, 'invalid_request']);
  });
});
