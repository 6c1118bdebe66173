import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { call, createUser, startGateway, type ErrorBody, type Gateway, type TestUser } from './harness.js';

const limits = { perSecond: 5, burst: 10 };

/** A local port nothing listens on: Redis "down". */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** `count` balance reads at once with the user's token; the answers, and how long they took. */
async function burst(gateway: Gateway, user: TestUser, count: number) {
  const started = Date.now();
  const responses = await Promise.all(
    Array.from({ length: count }, () =>
      call<ErrorBody>(gateway, 'GET', `/v1/users/${user.userId}/balance`, { token: user.token }),
    ),
  );
  return { responses, elapsedMs: Date.now() - started };
}

function assertLimited({ responses, elapsedMs }: Awaited<ReturnType<typeof burst>>): void {
  const allowed = responses.filter((response) => response.status === 200).length;
  const limited = responses.filter((response) => response.status === 429);
  // The bucket holds 10; more trickle in at 5/s while the burst is being answered.
  const refilled = Math.floor((elapsedMs * limits.perSecond) / 1_000);
  assert.ok(
    allowed >= limits.burst && allowed <= limits.burst + refilled + 1,
    `${allowed} allowed in ${elapsedMs} ms`,
  );
  assert.ok(limited.length > 0, 'some were refused');
  assert.equal(allowed + limited.length, responses.length);
  for (const response of limited) {
    assert.equal(response.body.error.code, 'rate_limited');
    assert.equal(response.headers['retry-after'], '1');
    assert.equal(response.body.error.details?.['retryAfterSeconds'], 1);
  }
}

describe('per-token rate limits', { timeout: 60_000 }, () => {
  let gateway: Gateway;
  before(async () => {
    gateway = await startGateway({ rateLimit: limits });
  });
  after(() => gateway.close());

  it('answers a burst beyond the bucket 429 rate_limited with Retry-After; another token is unaffected', async () => {
    const [busy, calm] = await Promise.all([createUser(gateway), createUser(gateway)]);
    assertLimited(await burst(gateway, busy, 20));
    const other = await call(gateway, 'GET', `/v1/users/${calm.userId}/balance`, { token: calm.token });
    assert.equal(other.status, 200);
  });

  it('lets the token through again once its bucket has refilled', async () => {
    const user = await createUser(gateway);
    await burst(gateway, user, 15);
    const deadline = Date.now() + 3_000;
    let status = 429;
    while (status === 429 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await call(gateway, 'GET', `/v1/users/${user.userId}/balance`, { token: user.token })).status;
    }
    assert.equal(status, 200);
  });

  it('keeps the bucket in Redis under the party id, shared by every instance', async () => {
    const user = await createUser(gateway);
    await burst(gateway, user, 3);
    const bucket = await gateway.redis.hgetall(`gateway:ratelimit:${user.userId}`);
    assert.ok(Number(bucket['tokens']) <= limits.burst - 2, JSON.stringify(bucket));
    assert.ok((await gateway.redis.pttl(`gateway:ratelimit:${user.userId}`)) > 0, 'expires once refilled');
  });

  it('does not limit sign-ups, which carry no token', async () => {
    // More sign-ups than one token's burst of 10, one after another (the limiter, not the load,
    // is under test).
    const statuses: number[] = [];
    for (let index = 0; index < 15; index += 1) {
      statuses.push(
        (await call(gateway, 'POST', '/v1/users', { body: { displayName: `signup-${index}` } })).status,
      );
    }
    assert.deepEqual(
      statuses,
      Array.from({ length: 15 }, () => 201),
    );
  });
});

describe('per-token rate limits with Redis down', { timeout: 60_000 }, () => {
  let gateway: Gateway;
  before(async () => {
    gateway = await startGateway({ rateLimit: limits, redisUrl: `redis://127.0.0.1:${await deadPort()}` });
  });
  after(() => gateway.close());

  it('still limits each token, with this instance’s own buckets', async () => {
    const [busy, calm] = await Promise.all([createUser(gateway), createUser(gateway)]);
    assertLimited(await burst(gateway, busy, 20));
    const other = await call(gateway, 'GET', `/v1/users/${calm.userId}/balance`, { token: calm.token });
    assert.equal(other.status, 200);
  });
});
