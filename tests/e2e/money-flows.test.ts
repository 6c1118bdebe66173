// Money moving through gateway → payment → ledger against the running platform: exact
// balances, idempotency under concurrency, no overdraft, and every error row of API.md for
// these routes. The ledger's invariants are checked after every test.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  api,
  createMerchant,
  createQr,
  createUser,
  creditWallet,
  merchantBalance,
  newKey,
  userBalance,
  type TestUser,
} from '../support/api-client.js';
import { assertLedgerInvariants } from '../support/ledger-invariants.js';

interface Payment {
  paymentId: string;
  status: string;
  amount: number;
  currency: string;
  merchantId: string;
  cashback: { status: string; points: number };
}

interface ErrorBody {
  error: {
    code: string;
    message: string;
    requestId: string;
    traceId: string;
    details?: Record<string, unknown>;
  };
}

/** Pays with a fresh idempotency key, the given one, or (null) none at all. */
function pay(user: TestUser, body: Record<string, unknown>, idempotencyKey: string | null = newKey()) {
  return api<Payment & ErrorBody>('POST', '/v1/payments', {
    token: user.token,
    idempotencyKey: idempotencyKey ?? undefined,
    body: { userId: user.userId, ...body },
  });
}

afterEach(async () => {
  await assertLedgerInvariants();
});

describe('the demo happy path', () => {
  it('pays by dynamic and static QR and by merchant id, transfers P2P and refunds, with exact balances', async () => {
    const alice = await createUser('Alice');
    const bob = await createUser('Bob');
    const shop = await createMerchant('Koban Coffee');
    assert.match(alice.walletAccountId, /\S/);

    await creditWallet(alice.userId, 10_000);
    assert.deepEqual(
      { available: (await userBalance(alice)).available, points: (await userBalance(alice)).points },
      { available: 10_000, points: 0 },
    );

    const dynamicQr = await createQr(shop, 1_500);
    const byDynamicQr = await pay(alice, { qrPayload: dynamicQr });
    assert.equal(byDynamicQr.status, 201, JSON.stringify(byDynamicQr.body));
    assert.equal(byDynamicQr.body.status, 'COMPLETED');
    assert.equal(byDynamicQr.body.amount, 1_500);
    assert.equal(byDynamicQr.body.currency, 'JPY');
    assert.equal(byDynamicQr.body.merchantId, shop.merchantId);
    assert.equal(byDynamicQr.body.cashback.status, 'NONE');
    assert.equal((await userBalance(alice)).available, 8_500);
    assert.equal(await merchantBalance(shop), 1_500);

    const staticQr = await createQr(shop);
    const withoutAmount = await pay(alice, { qrPayload: staticQr });
    assert.equal(withoutAmount.status, 400, JSON.stringify(withoutAmount.body));
    const byStaticQr = await pay(alice, { qrPayload: staticQr, amount: 700, currency: 'JPY' });
    assert.equal(byStaticQr.status, 201, JSON.stringify(byStaticQr.body));
    const byMerchantId = await pay(alice, { merchantId: shop.merchantId, amount: 300, currency: 'JPY' });
    assert.equal(byMerchantId.status, 201, JSON.stringify(byMerchantId.body));
    assert.equal((await userBalance(alice)).available, 7_500);
    assert.equal(await merchantBalance(shop), 2_500);

    const seenByPayer = await api<Payment>('GET', `/v1/payments/${byDynamicQr.body.paymentId}`, {
      token: alice.token,
    });
    assert.equal(seenByPayer.status, 200);
    assert.equal(seenByPayer.body.paymentId, byDynamicQr.body.paymentId);
    const seenByPayee = await api<Payment>('GET', `/v1/payments/${byDynamicQr.body.paymentId}`, {
      token: shop.apiKey,
    });
    assert.equal(seenByPayee.status, 200);

    const transfer = await api<{ transferId: string; status: string; amount: number }>(
      'POST',
      '/v1/transfers',
      {
        token: alice.token,
        idempotencyKey: newKey(),
        body: {
          fromUserId: alice.userId,
          toUserId: bob.userId,
          amount: 2_000,
          currency: 'JPY',
          message: 'lunch',
        },
      },
    );
    assert.equal(transfer.status, 201, JSON.stringify(transfer.body));
    assert.equal(transfer.body.status, 'COMPLETED');
    assert.equal((await userBalance(alice)).available, 5_500);
    assert.equal((await userBalance(bob)).available, 2_000);

    const partial = await api<{ refundId: string; status: string; amount: number }>(
      'POST',
      `/v1/payments/${byDynamicQr.body.paymentId}/refunds`,
      { token: shop.apiKey, idempotencyKey: newKey(), body: { amount: 500 } },
    );
    assert.equal(partial.status, 201, JSON.stringify(partial.body));
    assert.equal(partial.body.amount, 500);
    assert.equal((await userBalance(alice)).available, 6_000);
    assert.equal(await merchantBalance(shop), 2_000);

    const rest = await api<{ amount: number }>('POST', `/v1/payments/${byDynamicQr.body.paymentId}/refunds`, {
      token: shop.apiKey,
      idempotencyKey: newKey(),
      body: {},
    });
    assert.equal(rest.status, 201, JSON.stringify(rest.body));
    assert.equal(rest.body.amount, 1_000);
    assert.equal((await userBalance(alice)).available, 7_000);
    assert.equal(await merchantBalance(shop), 1_000);

    const over = await api<ErrorBody>('POST', `/v1/payments/${byDynamicQr.body.paymentId}/refunds`, {
      token: shop.apiKey,
      idempotencyKey: newKey(),
      body: { amount: 1 },
    });
    assert.equal(over.status, 422);
    assert.equal(over.body.error.code, 'refund_exceeds_payment');

    const history = await api<{ items: unknown[]; nextCursor: unknown }>(
      'GET',
      `/v1/users/${alice.userId}/transactions?limit=3`,
      { token: alice.token },
    );
    assert.equal(history.status, 200);
    assert.equal(history.body.items.length, 3);
    assert.ok(history.body.nextCursor, 'a first page of 3 out of 7 entries has a next cursor');
  });
});

describe('idempotency', () => {
  it('moves money once for 50 concurrent requests with one key, and refuses the key with another body', async () => {
    const payer = await createUser();
    const shop = await createMerchant();
    await creditWallet(payer.userId, 5_000);
    const key = newKey();
    const body = { merchantId: shop.merchantId, amount: 1_000, currency: 'JPY' };

    const responses = await Promise.all(Array.from({ length: 50 }, () => pay(payer, body, key)));
    const created = responses.filter((r) => r.status === 201);
    const inProgress = responses.filter((r) => r.status === 409);
    assert.equal(
      created.length + inProgress.length,
      50,
      `statuses: ${responses.map((r) => r.status).join(',')}`,
    );
    for (const response of inProgress) assert.equal(response.body.error.code, 'idempotency_in_progress');
    assert.ok(created.length >= 1);
    assert.equal(new Set(created.map((r) => r.body.paymentId)).size, 1, 'every success is the same payment');
    const firsts = created.filter((r) => r.headers.get('idempotent-replayed') !== 'true');
    assert.ok(firsts.length <= 1, 'at most one response is not a replay');

    const replay = await pay(payer, body, key);
    assert.equal(replay.status, 201);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(replay.body.paymentId, created[0]?.body.paymentId);

    assert.equal((await userBalance(payer)).available, 4_000);
    assert.equal(await merchantBalance(shop), 1_000);

    const reused = await pay(payer, { ...body, amount: 2_000 }, key);
    assert.equal(reused.status, 422);
    assert.equal(reused.body.error.code, 'idempotency_key_reused');
    assert.equal((await userBalance(payer)).available, 4_000);
  });
});

describe('no overdraft under concurrency', () => {
  it('lets exactly 10 of 40 concurrent ¥100 payments through a ¥1,000 wallet', async () => {
    const payer = await createUser();
    const shop = await createMerchant();
    await creditWallet(payer.userId, 1_000);
    const responses = await Promise.all(
      Array.from({ length: 40 }, () =>
        pay(payer, { merchantId: shop.merchantId, amount: 100, currency: 'JPY' }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 201).length, 10, `statuses: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 402).length, 30, `statuses: ${statuses.join(',')}`);
    for (const response of responses.filter((r) => r.status === 402)) {
      assert.equal(response.body.error.code, 'insufficient_funds');
    }
    assert.equal((await userBalance(payer)).available, 0);
    assert.equal(await merchantBalance(shop), 1_000);
  });
});

describe('error rows of API.md', () => {
  it('400 invalid_request for malformed JSON, missing and mistyped fields, with the fields in details', async () => {
    const user = await createUser();
    const malformed = await api<ErrorBody>('POST', '/v1/payments', {
      token: user.token,
      idempotencyKey: newKey(),
      rawBody: '{"userId": ',
    });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, 'invalid_request');

    const mistyped = await api<ErrorBody>('POST', '/v1/transfers', {
      token: user.token,
      idempotencyKey: newKey(),
      body: { fromUserId: user.userId, amount: 'ten', currency: 'JPY' },
    });
    assert.equal(mistyped.status, 400);
    assert.equal(mistyped.body.error.code, 'invalid_request');
    const details = JSON.stringify(mistyped.body.error.details);
    assert.match(details, /toUserId/);
    assert.match(details, /amount/);

    const noName = await api<ErrorBody>('POST', '/v1/users', { body: {} });
    assert.equal(noName.status, 400);
    assert.match(JSON.stringify(noName.body.error.details), /displayName/);
  });

  it('400 idempotency_key_required, 401 unauthenticated, 413 for a body over 64 KiB', async () => {
    const user = await createUser();
    const shop = await createMerchant();
    const noKey = await pay(user, { merchantId: shop.merchantId, amount: 100, currency: 'JPY' }, null);
    assert.equal(noKey.status, 400);
    assert.equal(noKey.body.error.code, 'idempotency_key_required');

    const noToken = await api<ErrorBody>('GET', `/v1/users/${user.userId}/balance`);
    assert.equal(noToken.status, 401);
    assert.equal(noToken.body.error.code, 'unauthenticated');
    const badToken = await api<ErrorBody>('GET', `/v1/users/${user.userId}/balance`, {
      token: 'not-a-token',
    });
    assert.equal(badToken.status, 401);

    const huge = await api<ErrorBody>('POST', '/v1/transfers', {
      token: user.token,
      idempotencyKey: newKey(),
      rawBody: JSON.stringify({ message: 'x'.repeat(70 * 1024) }),
    });
    assert.equal(huge.status, 413);
    assert.equal(typeof huge.body.error.requestId, 'string');
  });

  it('404 for another party’s resources, never a hint that they exist', async () => {
    const alice = await createUser();
    const mallory = await createUser();
    const shop = await createMerchant();
    const otherShop = await createMerchant();
    await creditWallet(alice.userId, 1_000);
    const payment = await pay(alice, { merchantId: shop.merchantId, amount: 100, currency: 'JPY' });
    assert.equal(payment.status, 201);

    const checks = [
      await api<ErrorBody>('GET', `/v1/users/${alice.userId}/balance`, { token: mallory.token }),
      await api<ErrorBody>('GET', `/v1/users/${alice.userId}/transactions`, { token: mallory.token }),
      await api<ErrorBody>('GET', `/v1/payments/${payment.body.paymentId}`, { token: mallory.token }),
      await api<ErrorBody>('GET', `/v1/payments/${payment.body.paymentId}`, { token: otherShop.apiKey }),
      await api<ErrorBody>('GET', `/v1/merchants/${shop.merchantId}/balance`, { token: otherShop.apiKey }),
      await api<ErrorBody>('POST', `/v1/payments/${payment.body.paymentId}/refunds`, {
        token: otherShop.apiKey,
        idempotencyKey: newKey(),
        body: {},
      }),
      await api<ErrorBody>('POST', '/v1/transfers', {
        token: mallory.token,
        idempotencyKey: newKey(),
        body: { fromUserId: alice.userId, toUserId: mallory.userId, amount: 100, currency: 'JPY' },
      }),
      await api<ErrorBody>('GET', '/v1/payments/pay_does_not_exist', { token: alice.token }),
    ];
    for (const response of checks) {
      assert.equal(response.status, 404, JSON.stringify(response.body));
      assert.equal(response.body.error.code, 'not_found');
    }
    assert.equal((await userBalance(alice)).available, 900);
  });

  it('402 insufficient_funds, and 422 for amounts, currencies and a bad QR CRC', async () => {
    const user = await createUser();
    const shop = await createMerchant();
    await creditWallet(user.userId, 500);
    const poor = await pay(user, { merchantId: shop.merchantId, amount: 501, currency: 'JPY' });
    assert.equal(poor.status, 402);
    assert.equal(poor.body.error.code, 'insufficient_funds');

    for (const amount of [0, 10_000_001, -5, 1.5]) {
      const response = await pay(user, { merchantId: shop.merchantId, amount, currency: 'JPY' });
      assert.equal(response.status, 422, `amount ${amount}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.error.code, 'amount_out_of_range');
    }
    const usd = await pay(user, { merchantId: shop.merchantId, amount: 100, currency: 'USD' });
    assert.equal(usd.status, 422);
    assert.equal(usd.body.error.code, 'unsupported_currency');

    const qr = await createQr(shop, 100);
    const lastCrcDigit = qr.at(-1) === '0' ? '1' : '0';
    const tampered = await pay(user, { qrPayload: `${qr.slice(0, -1)}${lastCrcDigit}` });
    assert.equal(tampered.status, 422);
    assert.equal(tampered.body.error.code, 'invalid_qr');

    assert.equal((await userBalance(user)).available, 500);
    assert.equal(await merchantBalance(shop), 0);
  });
});
