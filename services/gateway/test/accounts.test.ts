import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  call,
  createMerchant,
  createUser,
  credit,
  startGateway,
  type ErrorBody,
  type Gateway,
} from './harness.js';

interface Balance {
  currency: string;
  available: number;
  points: number;
  asOf: string;
  stale: boolean;
}

interface Transactions {
  items: Array<{
    id: string;
    type: string;
    direction: string;
    amount: number;
    balanceAfter: number;
    referenceId: string;
    createdAt: string;
  }>;
  nextCursor: string | null;
}

describe('balances and history', { timeout: 60_000 }, () => {
  let gateway: Gateway;
  before(async () => {
    gateway = await startGateway();
  });
  after(() => gateway.close());

  it('answers the wallet and points balance of the user, fresh from the ledger', async () => {
    const user = await createUser(gateway);
    await credit(gateway, user.userId, 1_234);
    const response = await call<Balance>(gateway, 'GET', `/v1/users/${user.userId}/balance`, {
      token: user.token,
    });
    assert.equal(response.status, 200);
    assert.deepEqual(
      { ...response.body, asOf: typeof response.body.asOf },
      { currency: 'JPY', available: 1_234, points: 0, asOf: 'string', stale: false },
    );
    assert.ok(!Number.isNaN(Date.parse(response.body.asOf)));
  });

  it('answers the merchant balance to the merchant only', async () => {
    const shop = await createMerchant(gateway);
    const other = await createMerchant(gateway);
    const url = `/v1/merchants/${shop.merchantId}/balance`;
    const own = await call<Balance>(gateway, 'GET', url, { token: shop.apiKey });
    assert.equal(own.status, 200);
    assert.deepEqual([own.body.currency, own.body.available, own.body.stale], ['JPY', 0, false]);
    const foreign = await call<ErrorBody>(gateway, 'GET', url, { token: other.apiKey });
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.error.code, 'not_found');
  });

  it('answers 404 for another user’s balance and history', async () => {
    const alice = await createUser(gateway);
    const mallory = await createUser(gateway);
    for (const path of ['balance', 'transactions']) {
      const response = await call<ErrorBody>(gateway, 'GET', `/v1/users/${alice.userId}/${path}`, {
        token: mallory.token,
      });
      assert.equal(response.status, 404, path);
      assert.equal(response.body.error.code, 'not_found');
    }
  });

  it('lists wallet entries newest first, page by page', async () => {
    const user = await createUser(gateway);
    for (const amount of [100, 200, 300]) await credit(gateway, user.userId, amount);
    const url = `/v1/users/${user.userId}/transactions`;
    const first = await call<Transactions>(gateway, 'GET', `${url}?limit=2`, { token: user.token });
    assert.equal(first.status, 200);
    assert.deepEqual(
      first.body.items.map((item) => [item.type, item.direction, item.amount, item.balanceAfter]),
      [
        ['ADJUSTMENT', 'CREDIT', 300, 600],
        ['ADJUSTMENT', 'CREDIT', 200, 300],
      ],
    );
    assert.ok(
      first.body.items.every((item) => item.id && item.referenceId.startsWith('credit_') && item.createdAt),
    );
    assert.ok(first.body.nextCursor);
    const second = await call<Transactions>(
      gateway,
      'GET',
      `${url}?limit=2&cursor=${encodeURIComponent(first.body.nextCursor ?? '')}`,
      { token: user.token },
    );
    assert.deepEqual(
      second.body.items.map((item) => item.amount),
      [100],
    );
    assert.equal(second.body.nextCursor, null);
  });

  it('answers 400 for a limit that is not a whole number from 1 to 100', async () => {
    const user = await createUser(gateway);
    for (const limit of ['0', '101', 'ten', '1.5']) {
      const response = await call<ErrorBody>(
        gateway,
        'GET',
        `/v1/users/${user.userId}/transactions?limit=${limit}`,
        {
          token: user.token,
        },
      );
      assert.equal(response.status, 400, limit);
      assert.deepEqual(Object.keys(response.body.error.details?.['fields'] as object), ['limit']);
    }
  });

  describe('when the ledger is down', () => {
    it('answers the last known balance with stale: true', async () => {
      const user = await createUser(gateway);
      await credit(gateway, user.userId, 500);
      const fresh = await call<Balance>(gateway, 'GET', `/v1/users/${user.userId}/balance`, {
        token: user.token,
      });
      assert.equal(fresh.body.stale, false);
      gateway.ledger.setFault({ kind: 'unavailable' });
      try {
        // The cache is written after the answer; wait for it rather than sleep.
        const deadline = Date.now() + 2_000;
        let cached: { status: number; body: Balance };
        do {
          cached = await call<Balance>(gateway, 'GET', `/v1/users/${user.userId}/balance`, {
            token: user.token,
          });
        } while (cached.status !== 200 && Date.now() < deadline);
        assert.equal(cached.status, 200);
        assert.deepEqual([cached.body.available, cached.body.stale], [500, true]);
        assert.equal(cached.body.asOf, fresh.body.asOf);
      } finally {
        gateway.ledger.setFault({ kind: 'none' });
      }
    });

    it('answers 503 with Retry-After when it never saw the balance, and for history', async () => {
      const user = await createUser(gateway);
      gateway.ledger.setFault({ kind: 'slow', ms: 1_000 });
      try {
        const started = Date.now();
        const balance = await call<ErrorBody>(gateway, 'GET', `/v1/users/${user.userId}/balance`, {
          token: user.token,
        });
        assert.equal(balance.status, 503);
        assert.equal(balance.body.error.code, 'service_unavailable');
        assert.ok(Number(balance.headers['retry-after']) >= 1);
        assert.ok(Date.now() - started < 900, 'the 300 ms ledger budget, not the slow answer');
        const history = await call<ErrorBody>(gateway, 'GET', `/v1/users/${user.userId}/transactions`, {
          token: user.token,
        });
        assert.equal(history.status, 503);
      } finally {
        gateway.ledger.setFault({ kind: 'none' });
      }
    });
  });
});
