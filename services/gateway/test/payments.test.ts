import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  call,
  createMerchant,
  createUser,
  credit,
  startGateway,
  walletBalance,
  type ErrorBody,
  type Gateway,
  type TestMerchant,
  type TestUser,
} from './harness.js';

interface PaymentBody {
  paymentId: string;
  status: string;
  amount: number;
  currency: string;
  merchantId: string;
  cashback: { status: string; points: number };
}

describe('payments, refunds and transfers', { timeout: 60_000 }, () => {
  let gateway: Gateway;
  before(async () => {
    gateway = await startGateway();
  });
  after(() => gateway.close());

  function pay(
    user: TestUser,
    body: Record<string, unknown>,
    idempotencyKey: string | undefined = randomUUID(),
  ) {
    return call<PaymentBody & ErrorBody>(gateway, 'POST', '/v1/payments', {
      token: user.token,
      idempotencyKey,
      body: { userId: user.userId, ...body },
    });
  }

  async function fundedPayer(amount = 10_000): Promise<{ payer: TestUser; shop: TestMerchant }> {
    const payer = await createUser(gateway);
    const shop = await createMerchant(gateway);
    await credit(gateway, payer.userId, amount);
    return { payer, shop };
  }

  describe('POST /v1/merchants/{merchantId}/qr-codes', () => {
    it('creates dynamic and static codes for the merchant itself', async () => {
      const shop = await createMerchant(gateway);
      const dynamic = await call<{ qrCodeId: string; payload: string; amount?: number }>(
        gateway,
        'POST',
        `/v1/merchants/${shop.merchantId}/qr-codes`,
        { token: shop.apiKey, body: { amount: 1_500 } },
      );
      assert.equal(dynamic.status, 201);
      assert.ok(dynamic.body.payload);
      assert.equal(dynamic.body.amount, 1_500);
      const staticCode = await call(gateway, 'POST', `/v1/merchants/${shop.merchantId}/qr-codes`, {
        token: shop.apiKey,
      });
      assert.equal(staticCode.status, 201);
      assert.equal(staticCode.body['amount'], undefined);
    });

    it('answers 404 to another merchant and to a user, 422 for a bad amount', async () => {
      const shop = await createMerchant(gateway);
      const other = await createMerchant(gateway);
      const user = await createUser(gateway);
      const url = `/v1/merchants/${shop.merchantId}/qr-codes`;
      assert.equal((await call(gateway, 'POST', url, { token: other.apiKey, body: {} })).status, 404);
      assert.equal((await call(gateway, 'POST', url, { token: user.token, body: {} })).status, 404);
      const zero = await call<ErrorBody>(gateway, 'POST', url, { token: shop.apiKey, body: { amount: 0 } });
      assert.equal(zero.status, 422);
      assert.equal(zero.body.error.code, 'amount_out_of_range');
    });
  });

  describe('POST /v1/payments', () => {
    it('pays by dynamic QR, by static QR with an amount and by merchant id', async () => {
      const { payer, shop } = await fundedPayer();
      const qr = await call<{ payload: string }>(
        gateway,
        'POST',
        `/v1/merchants/${shop.merchantId}/qr-codes`,
        {
          token: shop.apiKey,
          body: { amount: 1_500 },
        },
      );
      const byQr = await pay(payer, { qrPayload: qr.body.payload });
      assert.equal(byQr.status, 201, JSON.stringify(byQr.body));
      assert.deepEqual(
        {
          status: byQr.body.status,
          amount: byQr.body.amount,
          currency: byQr.body.currency,
          merchantId: byQr.body.merchantId,
          cashback: byQr.body.cashback,
        },
        {
          status: 'COMPLETED',
          amount: 1_500,
          currency: 'JPY',
          merchantId: shop.merchantId,
          cashback: { status: 'NONE', points: 0 },
        },
      );
      assert.equal(byQr.headers['idempotent-replayed'], undefined);

      const staticQr = await call<{ payload: string }>(
        gateway,
        'POST',
        `/v1/merchants/${shop.merchantId}/qr-codes`,
        {
          token: shop.apiKey,
          body: {},
        },
      );
      const withoutAmount = await pay(payer, { qrPayload: staticQr.body.payload });
      assert.equal(withoutAmount.status, 400);
      assert.equal(withoutAmount.body.error.code, 'invalid_request');
      const byStatic = await pay(payer, { qrPayload: staticQr.body.payload, amount: 700, currency: 'JPY' });
      assert.equal(byStatic.status, 201);

      const byId = await pay(payer, { merchantId: shop.merchantId, amount: 300, currency: 'JPY' });
      assert.equal(byId.status, 201);
      assert.equal(await walletBalance(gateway, payer), 10_000 - 1_500 - 700 - 300);
    });

    it('passes the key, the caller and the client IP to payment', async () => {
      const { payer, shop } = await fundedPayer();
      const key = randomUUID();
      await pay(payer, { merchantId: shop.merchantId, amount: 100, currency: 'JPY' }, key);
      const sent = gateway.payment.requests.filter((r) => r.rpc === 'CreatePayment').at(-1)?.request;
      assert.deepEqual(
        [
          sent?.['idempotencyKey'],
          sent?.['callerId'],
          sent?.['payerUserId'],
          sent?.['method'],
          sent?.['clientIp'],
        ],
        [key, payer.userId, payer.userId, 'PAYMENT_METHOD_WALLET', '127.0.0.1'],
      );
    });

    it('pays by card: passes method and cardId to payment and leaves the wallet alone', async () => {
      const { payer, shop } = await fundedPayer(1_000);
      const registered = await call<{ cardId: string }>(gateway, 'POST', `/v1/users/${payer.userId}/cards`, {
        token: payer.token,
        body: {
          number: '5555555555554444',
          expMonth: 12,
          expYear: new Date().getUTCFullYear() + 1,
          cvc: '321',
        },
      });
      assert.equal(registered.status, 201);
      const paid = await pay(payer, {
        merchantId: shop.merchantId,
        amount: 2_500,
        currency: 'JPY',
        method: 'card',
        cardId: registered.body.cardId,
      });
      assert.equal(paid.status, 201, JSON.stringify(paid.body));
      assert.equal((paid.body as unknown as { method: string }).method, 'card');
      const sent = gateway.payment.requests.filter((r) => r.rpc === 'CreatePayment').at(-1)?.request;
      assert.deepEqual([sent?.['method'], sent?.['cardId']], ['PAYMENT_METHOD_CARD', registered.body.cardId]);
      assert.equal(await walletBalance(gateway, payer), 1_000);
      const noCard = await pay(payer, {
        merchantId: shop.merchantId,
        amount: 100,
        currency: 'JPY',
        method: 'card',
      });
      assert.deepEqual(
        [noCard.status, noCard.body.error.details],
        [400, { fields: { cardId: 'is required when method is card' } }],
      );
      const notMine = await pay(payer, {
        merchantId: shop.merchantId,
        amount: 100,
        currency: 'JPY',
        method: 'card',
        cardId: 'card_someone_elses',
      });
      assert.equal(notMine.status, 404);
    });

    it('answers cashback as payment reports it: GRANTED with points, PENDING, NONE', async () => {
      const { payer, shop } = await fundedPayer();
      const cases: Array<
        [NonNullable<typeof gateway.payment.cashback.status>, string, { status: string; points: number }]
      > = [
        ['CASHBACK_STATUS_GRANTED', '15', { status: 'GRANTED', points: 15 }],
        ['CASHBACK_STATUS_PENDING', '0', { status: 'PENDING', points: 0 }],
        ['CASHBACK_STATUS_NONE', '0', { status: 'NONE', points: 0 }],
      ];
      try {
        for (const [status, points, expected] of cases) {
          gateway.payment.cashback = { status, points };
          const paid = await pay(payer, { merchantId: shop.merchantId, amount: 1_500, currency: 'JPY' });
          assert.equal(paid.status, 201);
          assert.deepEqual(paid.body.cashback, expected);
          const shown = await call<PaymentBody>(gateway, 'GET', `/v1/payments/${paid.body.paymentId}`, {
            token: payer.token,
          });
          assert.deepEqual(shown.body.cashback, expected);
        }
      } finally {
        gateway.payment.cashback = { status: 'CASHBACK_STATUS_NONE', points: '0' };
      }
    });

    it('replays the original answer with Idempotent-Replayed, and refuses the key with another body', async () => {
      const { payer, shop } = await fundedPayer(5_000);
      const key = randomUUID();
      const body = { merchantId: shop.merchantId, amount: 1_000, currency: 'JPY' };
      const first = await pay(payer, body, key);
      const again = await pay(payer, body, key);
      assert.equal(again.status, 201);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal(again.body.paymentId, first.body.paymentId);
      assert.equal(await walletBalance(gateway, payer), 4_000);

      const reused = await pay(payer, { ...body, amount: 2_000 }, key);
      assert.equal(reused.status, 422);
      assert.equal(reused.body.error.code, 'idempotency_key_reused');
    });

    it('replays a decline with its original status, marked', async () => {
      const { payer, shop } = await fundedPayer(100);
      const key = randomUUID();
      const first = await pay(payer, { merchantId: shop.merchantId, amount: 500, currency: 'JPY' }, key);
      const again = await pay(payer, { merchantId: shop.merchantId, amount: 500, currency: 'JPY' }, key);
      assert.equal(first.status, 402);
      assert.equal(again.status, 402);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal(again.body.error.details?.['paymentId'], first.body.error.details?.['paymentId']);
    });

    it('answers 409 idempotency_in_progress when payment says the first request with the key still runs', async () => {
      const { payer, shop } = await fundedPayer();
      const response = await pay(
        payer,
        { merchantId: shop.merchantId, amount: 100, currency: 'JPY' },
        `busy-${randomUUID()}`,
      );
      assert.equal(response.status, 409);
      assert.equal(response.body.error.code, 'idempotency_in_progress');
    });

    it('answers 402 insufficient_funds and 402 payment_declined with reason risk', async () => {
      const { payer, shop } = await fundedPayer(1_000);
      const poor = await pay(payer, { merchantId: shop.merchantId, amount: 1_001, currency: 'JPY' });
      assert.equal(poor.status, 402);
      assert.equal(poor.body.error.code, 'insufficient_funds');
      assert.equal(poor.body.error.details?.['reason'], 'insufficient_funds');
      const risky = await pay(payer, { merchantId: shop.merchantId, amount: 666, currency: 'JPY' });
      assert.equal(risky.status, 402);
      assert.equal(risky.body.error.code, 'payment_declined');
      assert.equal(risky.body.error.details?.['reason'], 'risk');
      assert.equal(await walletBalance(gateway, payer), 1_000);
    });

    it('answers 422 for amounts out of range, other currencies and a bad QR', async () => {
      const { payer, shop } = await fundedPayer();
      const before = gateway.payment.requests.length;
      for (const amount of [0, -5, 1.5, 10_000_001]) {
        const response = await pay(payer, { merchantId: shop.merchantId, amount, currency: 'JPY' });
        assert.equal(response.status, 422, `amount ${amount}`);
        assert.equal(response.body.error.code, 'amount_out_of_range');
      }
      const usd = await pay(payer, { merchantId: shop.merchantId, amount: 100, currency: 'USD' });
      assert.equal(usd.status, 422);
      assert.equal(usd.body.error.code, 'unsupported_currency');
      assert.equal(gateway.payment.requests.length, before, 'refused before calling payment');
      const bad = await pay(payer, { qrPayload: 'not-a-qr' });
      assert.equal(bad.status, 422);
      assert.equal(bad.body.error.code, 'invalid_qr');
    });

    it('answers 400 invalid_request naming the offending fields', async () => {
      const payer = await createUser(gateway);
      const mistyped = await pay(payer, { merchantId: 42, amount: 'ten', currency: 'JPY' });
      assert.equal(mistyped.status, 400);
      assert.equal(mistyped.body.error.code, 'invalid_request');
      assert.deepEqual(Object.keys(mistyped.body.error.details?.['fields'] as object).sort(), [
        'amount',
        'merchantId',
      ]);
      const neither = await pay(payer, {});
      assert.equal(neither.status, 400);
      assert.match(JSON.stringify(neither.body.error.details), /qrPayload/);
      const malformed = await call<ErrorBody>(gateway, 'POST', '/v1/payments', {
        token: payer.token,
        idempotencyKey: randomUUID(),
        rawBody: '{"userId": ',
      });
      assert.equal(malformed.status, 400);
      assert.equal(malformed.body.error.code, 'invalid_request');
    });

    it('answers 400 idempotency_key_required without a key, before reading the body', async () => {
      const payer = await createUser(gateway);
      for (const idempotencyKey of [undefined, '']) {
        const response = await call<ErrorBody>(gateway, 'POST', '/v1/payments', {
          token: payer.token,
          idempotencyKey,
          rawBody: '{not json',
        });
        assert.equal(response.status, 400);
        assert.equal(response.body.error.code, 'idempotency_key_required');
      }
      const tooLong = await pay(payer, { merchantId: 'm', amount: 1, currency: 'JPY' }, 'k'.repeat(256));
      assert.equal(tooLong.status, 400);
      assert.equal(tooLong.body.error.code, 'invalid_request');
    });

    it('answers 404 when paying as someone else, and 401 before anything without a token', async () => {
      const { payer, shop } = await fundedPayer();
      const mallory = await createUser(gateway);
      const asMallory = await call<ErrorBody>(gateway, 'POST', '/v1/payments', {
        token: mallory.token,
        idempotencyKey: randomUUID(),
        body: { userId: payer.userId, merchantId: shop.merchantId, amount: 100, currency: 'JPY' },
      });
      assert.equal(asMallory.status, 404);
      assert.equal(asMallory.body.error.code, 'not_found');
      const anonymous = await call<ErrorBody>(gateway, 'POST', '/v1/payments', { rawBody: '{bad' });
      assert.equal(anonymous.status, 401);
      assert.equal(await walletBalance(gateway, payer), 10_000);
    });
  });

  describe('GET /v1/payments/{paymentId}', () => {
    it('shows the payment to its payer and its payee only', async () => {
      const { payer, shop } = await fundedPayer();
      const paid = await pay(payer, { merchantId: shop.merchantId, amount: 100, currency: 'JPY' });
      const url = `/v1/payments/${paid.body.paymentId}`;
      const asPayer = await call<PaymentBody>(gateway, 'GET', url, { token: payer.token });
      assert.equal(asPayer.status, 200);
      assert.equal(asPayer.body.paymentId, paid.body.paymentId);
      assert.equal(asPayer.body.status, 'COMPLETED');
      assert.equal((await call(gateway, 'GET', url, { token: shop.apiKey })).status, 200);

      const stranger = await createUser(gateway);
      const otherShop = await createMerchant(gateway);
      for (const token of [stranger.token, otherShop.apiKey]) {
        const response = await call<ErrorBody>(gateway, 'GET', url, { token });
        assert.equal(response.status, 404);
        assert.equal(response.body.error.code, 'not_found');
      }
      const missing = await call<ErrorBody>(gateway, 'GET', '/v1/payments/pay_missing', {
        token: payer.token,
      });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, 'not_found');
    });
  });

  describe('POST /v1/payments/{paymentId}/refunds', () => {
    it('refunds part, then the rest, then refuses more than was paid', async () => {
      const { payer, shop } = await fundedPayer(2_000);
      const paid = await pay(payer, { merchantId: shop.merchantId, amount: 1_500, currency: 'JPY' });
      const url = `/v1/payments/${paid.body.paymentId}/refunds`;
      const partial = await call<{ refundId: string; status: string; amount: number }>(gateway, 'POST', url, {
        token: shop.apiKey,
        idempotencyKey: randomUUID(),
        body: { amount: 500 },
      });
      assert.equal(partial.status, 201);
      assert.deepEqual([partial.body.status, partial.body.amount], ['COMPLETED', 500]);
      const rest = await call<{ amount: number }>(gateway, 'POST', url, {
        token: shop.apiKey,
        idempotencyKey: randomUUID(),
      });
      assert.equal(rest.status, 201);
      assert.equal(rest.body.amount, 1_000);
      const over = await call<ErrorBody>(gateway, 'POST', url, {
        token: shop.apiKey,
        idempotencyKey: randomUUID(),
        body: { amount: 1 },
      });
      assert.equal(over.status, 422);
      assert.equal(over.body.error.code, 'refund_exceeds_payment');
      assert.equal(await walletBalance(gateway, payer), 2_000);
    });

    it('answers 404 to another merchant and to the payer, and needs a key', async () => {
      const { payer, shop } = await fundedPayer();
      const paid = await pay(payer, { merchantId: shop.merchantId, amount: 100, currency: 'JPY' });
      const url = `/v1/payments/${paid.body.paymentId}/refunds`;
      const otherShop = await createMerchant(gateway);
      const byOther = await call<ErrorBody>(gateway, 'POST', url, {
        token: otherShop.apiKey,
        idempotencyKey: randomUUID(),
        body: {},
      });
      assert.equal(byOther.status, 404);
      assert.equal(byOther.body.error.code, 'not_found');
      const byPayer = await call<ErrorBody>(gateway, 'POST', url, {
        token: payer.token,
        idempotencyKey: randomUUID(),
        body: {},
      });
      assert.equal(byPayer.status, 404);
      const noKey = await call<ErrorBody>(gateway, 'POST', url, { token: shop.apiKey, body: {} });
      assert.equal(noKey.status, 400);
      assert.equal(noKey.body.error.code, 'idempotency_key_required');
      assert.equal(await walletBalance(gateway, payer), 9_900);
    });
  });

  describe('POST /v1/transfers', () => {
    function transfer(
      from: TestUser,
      body: Record<string, unknown>,
      idempotencyKey: string | undefined = randomUUID(),
    ) {
      return call<{ transferId: string; status: string; amount: number } & ErrorBody>(
        gateway,
        'POST',
        '/v1/transfers',
        {
          token: from.token,
          idempotencyKey,
          body,
        },
      );
    }

    it('moves money between wallets, once per key', async () => {
      const alice = await createUser(gateway);
      const bob = await createUser(gateway);
      await credit(gateway, alice.userId, 3_000);
      const body = {
        fromUserId: alice.userId,
        toUserId: bob.userId,
        amount: 2_000,
        currency: 'JPY',
        message: 'lunch',
      };
      const key = randomUUID();
      const first = await transfer(alice, body, key);
      assert.equal(first.status, 201);
      assert.deepEqual([first.body.status, first.body.amount], ['COMPLETED', 2_000]);
      const again = await transfer(alice, body, key);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal(again.body.transferId, first.body.transferId);
      assert.equal(await walletBalance(gateway, alice), 1_000);
      assert.equal(await walletBalance(gateway, bob), 2_000);
      const poor = await transfer(alice, { ...body, amount: 5_000 });
      assert.equal(poor.status, 402);
      assert.equal(poor.body.error.code, 'insufficient_funds');
    });

    it('answers 404 for another user’s money or an unknown recipient, 400 and 422 for bad bodies', async () => {
      const alice = await createUser(gateway);
      const mallory = await createUser(gateway);
      await credit(gateway, alice.userId, 1_000);
      const stolen = await transfer(mallory, {
        fromUserId: alice.userId,
        toUserId: mallory.userId,
        amount: 100,
        currency: 'JPY',
      });
      assert.equal(stolen.status, 404);
      assert.equal(stolen.body.error.code, 'not_found');
      const nobody = await transfer(alice, {
        fromUserId: alice.userId,
        toUserId: 'usr_nobody',
        amount: 100,
        currency: 'JPY',
      });
      assert.equal(nobody.status, 404);
      const mistyped = await transfer(alice, { fromUserId: alice.userId, amount: 'ten', currency: 'JPY' });
      assert.equal(mistyped.status, 400);
      assert.deepEqual(Object.keys(mistyped.body.error.details?.['fields'] as object).sort(), [
        'amount',
        'toUserId',
      ]);
      const usd = await transfer(alice, {
        fromUserId: alice.userId,
        toUserId: mallory.userId,
        amount: 1,
        currency: 'USD',
      });
      assert.equal(usd.status, 422);
      assert.equal(usd.body.error.code, 'unsupported_currency');
      const longMessage = await transfer(alice, {
        fromUserId: alice.userId,
        toUserId: mallory.userId,
        amount: 1,
        currency: 'JPY',
        message: 'x'.repeat(141),
      });
      assert.equal(longMessage.status, 400);
      assert.equal(await walletBalance(gateway, alice), 1_000);
    });
  });
});
