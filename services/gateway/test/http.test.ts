import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import {
  call,
  createMerchant,
  createUser,
  credit,
  startGateway,
  walletBalance,
  type ErrorBody,
  type Gateway,
} from './harness.js';

/** A local port nothing listens on: payment "down". */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function assertIds(headers: Record<string, unknown>, body?: ErrorBody): void {
  assert.match(String(headers['x-request-id']), /\S/);
  assert.match(String(headers['x-trace-id']), /^[0-9a-f]{32}$/);
  if (body) {
    assert.equal(body.error.requestId, headers['x-request-id']);
    assert.equal(body.error.traceId, headers['x-trace-id']);
  }
}

describe('the HTTP surface', { timeout: 60_000 }, () => {
  let gateway: Gateway;
  before(async () => {
    gateway = await startGateway({ requestTimeoutMs: 400 });
  });
  after(() => gateway.close());

  it('puts X-Request-Id and X-Trace-Id on successes and on every kind of error', async () => {
    const user = await createUser(gateway);
    const ok = await call(gateway, 'GET', `/v1/users/${user.userId}/balance`, { token: user.token });
    assertIds(ok.headers);
    const errors = [
      await call<ErrorBody>(gateway, 'GET', '/v1/nowhere'),
      await call<ErrorBody>(gateway, 'GET', `/v1/users/${user.userId}/balance`),
      await call<ErrorBody>(gateway, 'POST', '/v1/users', { rawBody: '{' }),
      await call<ErrorBody>(gateway, 'POST', '/v1/transfers', { token: user.token }),
    ];
    assert.deepEqual(
      errors.map((response) => [response.status, response.body.error.code]),
      [
        [404, 'not_found'],
        [401, 'unauthenticated'],
        [400, 'invalid_request'],
        [400, 'idempotency_key_required'],
      ],
    );
    for (const response of errors) assertIds(response.headers, response.body);
  });

  it('echoes a well-formed X-Request-Id given by the client', async () => {
    const response = await call<ErrorBody>(gateway, 'GET', '/v1/nowhere', {
      headers: { 'x-request-id': 'client-id-1' },
    });
    assert.equal(response.headers['x-request-id'], 'client-id-1');
    assert.equal(response.body.error.requestId, 'client-id-1');
  });

  it('answers 413 for a body over 64 KiB', async () => {
    const user = await createUser(gateway);
    const response = await call<ErrorBody>(gateway, 'POST', '/v1/transfers', {
      token: user.token,
      idempotencyKey: randomUUID(),
      rawBody: JSON.stringify({ message: 'x'.repeat(70 * 1024) }),
    });
    assert.equal(response.status, 413);
    assert.equal(response.body.error.code, 'payload_too_large');
    assertIds(response.headers, response.body);
  });

  it('answers 503 with Retry-After within the deadline when payment is slower than the request budget', async () => {
    const user = await createUser(gateway);
    const shop = await createMerchant(gateway);
    await credit(gateway, user.userId, 1_000);
    gateway.payment.setFault({ kind: 'slow', ms: 2_000 });
    try {
      const started = Date.now();
      const response = await call<ErrorBody>(gateway, 'POST', '/v1/payments', {
        token: user.token,
        idempotencyKey: randomUUID(),
        body: { userId: user.userId, merchantId: shop.merchantId, amount: 100, currency: 'JPY' },
      });
      const elapsed = Date.now() - started;
      assert.equal(response.status, 503);
      assert.equal(response.body.error.code, 'service_unavailable');
      assert.ok(Number(response.headers['retry-after']) >= 1);
      assert.ok(elapsed < 1_000, `answered after ${elapsed} ms with a 400 ms budget`);
      const budget = gateway.payment.requests.at(-1)?.budgetMs ?? Infinity;
      assert.ok(
        budget <= 400,
        `payment was given ${budget} ms: the request's remaining budget, not its own 4.5 s`,
      );
    } finally {
      gateway.payment.setFault({ kind: 'none' });
    }
  });

  it('serves /healthz and /readyz', async () => {
    assert.equal((await call(gateway, 'GET', '/healthz')).status, 200);
    const ready = await call<{ status: string }>(gateway, 'GET', '/readyz');
    assert.deepEqual([ready.status, ready.body.status], [200, 'ready']);
  });
});

describe('with payment down', { timeout: 60_000 }, () => {
  let gateway: Gateway;
  before(async () => {
    gateway = await startGateway({ paymentAddress: `127.0.0.1:${await deadPort()}` });
  });
  after(() => gateway.close());

  it('answers 503 service_unavailable with Retry-After, fast once the breaker is open, and moves nothing', async () => {
    const user = await createUser(gateway);
    await credit(gateway, user.userId, 1_000);
    const statuses: Array<[number, string, string | undefined]> = [];
    for (let attempt = 0; attempt < 7; attempt += 1) {
      const started = Date.now();
      const response = await call<ErrorBody>(gateway, 'POST', '/v1/payments', {
        token: user.token,
        idempotencyKey: randomUUID(),
        body: { userId: user.userId, merchantId: 'mch_x', amount: 100, currency: 'JPY' },
      });
      statuses.push([response.status, response.body.error.code, response.headers['retry-after']]);
      assert.ok(Date.now() - started < 2_000);
    }
    assert.ok(
      statuses.every(
        ([status, code, retryAfter]) =>
          status === 503 && code === 'service_unavailable' && Number(retryAfter) >= 1,
      ),
    );
    assert.equal(statuses.at(-1)?.[2], '5', 'an open breaker says when it will try again');
    // Balances come from the ledger, which is up: the rest of the API keeps working.
    assert.equal(await walletBalance(gateway, user), 1_000);
  });
});

describe('load shedding', { timeout: 60_000 }, () => {
  let gateway: Gateway;
  before(async () => {
    gateway = await startGateway({ maxInFlightRequests: 1 });
  });
  after(() => gateway.close());

  it('answers 503 at once beyond the in-flight limit, and serves again afterwards', async () => {
    const user = await createUser(gateway);
    gateway.ledger.setFault({ kind: 'slow', ms: 200 });
    const slow = call(gateway, 'GET', `/v1/users/${user.userId}/transactions`, { token: user.token });
    // Let the first request in before the second one.
    await new Promise((resolve) => setImmediate(resolve));
    const shed = await call<ErrorBody>(gateway, 'GET', `/v1/users/${user.userId}/balance`, {
      token: user.token,
    });
    assert.equal(shed.status, 503);
    assert.equal(shed.body.error.code, 'service_unavailable');
    assert.equal(shed.headers['retry-after'], '1');
    assert.equal((await slow).status, 200);
    gateway.ledger.setFault({ kind: 'none' });
    assert.equal(
      (await call(gateway, 'GET', `/v1/users/${user.userId}/balance`, { token: user.token })).status,
      200,
    );
  });
});
