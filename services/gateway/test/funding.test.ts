import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import {
  call,
  createMerchant,
  createUser,
  credit,
  startGateway,
  walletBalance,
  type ErrorBody,
  type Gateway,
  type TestUser,
} from './harness.js';

const VISA = '4111111111111111';
const MASTERCARD = '5555555555554444';
const DECLINED = '4000000000000002';
/** Luhn-valid, but not a simulator card: no CVC is right for it. */
const UNKNOWN_CARD = '4012888888881881';
const nextYear = new Date().getUTCFullYear() + 1;

interface CardAnswer {
  cardId: string;
  brand: string;
  last4: string;
}

interface TopupAnswer {
  topupId: string;
  status: string;
  amount: number;
  failureReason?: string;
}

/** A client address of its own, so that the per-IP card-check throttle of one test stays there. */
function freshIp(): string {
  return `10.${randomInt(1, 255)}.${randomInt(1, 255)}.${randomInt(1, 255)}`;
}

function card(number: string, cvc: string, overrides: Record<string, unknown> = {}) {
  return { number, expMonth: 12, expYear: nextYear, cvc, ...overrides };
}

describe('funding', { timeout: 60_000 }, () => {
  let gateway: Gateway;
  before(async () => {
    gateway = await startGateway();
  });
  after(() => gateway.close());

  function registerCard(user: TestUser, body: unknown, remoteAddress = freshIp()) {
    return call<CardAnswer & ErrorBody>(gateway, 'POST', `/v1/users/${user.userId}/cards`, {
      token: user.token,
      body,
      remoteAddress,
    });
  }

  function linkBankAccount(user: TestUser, bankCode = '0001', accountNumber = '1234567') {
    return call<{ bankAccountId: string; accountNumberLast4: string } & ErrorBody>(
      gateway,
      'POST',
      `/v1/users/${user.userId}/bank-accounts`,
      { token: user.token, body: { bankCode, accountNumber } },
    );
  }

  /** A top-up request; `null` sends no Idempotency-Key. */
  function topup(
    user: TestUser,
    body: Record<string, unknown>,
    idempotencyKey: string | null = randomUUID(),
  ) {
    return call<TopupAnswer & ErrorBody>(gateway, 'POST', '/v1/topups', {
      token: user.token,
      idempotencyKey: idempotencyKey ?? undefined,
      body: { userId: user.userId, currency: 'JPY', ...body },
    });
  }

  async function bankAccountOf(user: TestUser, bankCode = '0001'): Promise<string> {
    const linked = await linkBankAccount(user, bankCode);
    assert.equal(linked.status, 201, JSON.stringify(linked.body));
    return linked.body.bankAccountId;
  }

  async function cardOf(user: TestUser): Promise<string> {
    const registered = await registerCard(user, card(VISA, '123'));
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    return registered.body.cardId;
  }

  describe('POST /v1/users/{userId}/bank-accounts', () => {
    it('links a 4-digit bank code with a 7-digit account number', async () => {
      const user = await createUser(gateway);
      const linked = await linkBankAccount(user, '0001', '7654321');
      assert.equal(linked.status, 201);
      assert.match(linked.body.bankAccountId, /\S/);
      assert.equal(linked.body.accountNumberLast4, '4321');
      assert.equal(gateway.bankIntegration.bankAccounts.get(linked.body.bankAccountId)?.userId, user.userId);
    });

    it('answers 422 invalid_bank_account for a malformed code or number', async () => {
      const user = await createUser(gateway);
      for (const [bankCode, accountNumber] of [
        ['01', '1234567'],
        ['0001', '123'],
        ['', ''],
      ] as const) {
        const response = await linkBankAccount(user, bankCode, accountNumber);
        assert.deepEqual([response.status, response.body.error.code], [422, 'invalid_bank_account']);
      }
    });

    it('answers 400 naming missing fields, 404 for another user, 401 without a token', async () => {
      const user = await createUser(gateway);
      const other = await createUser(gateway);
      const shop = await createMerchant(gateway);
      const url = `/v1/users/${user.userId}/bank-accounts`;
      const body = { bankCode: '0001', accountNumber: '1234567' };
      const missing = await call<ErrorBody>(gateway, 'POST', url, {
        token: user.token,
        body: { bankCode: 1 },
      });
      assert.deepEqual(
        [missing.status, missing.body.error.details],
        [400, { fields: { bankCode: 'expected string, received number', accountNumber: 'is required' } }],
      );
      assert.equal((await call(gateway, 'POST', url, { token: other.token, body })).status, 404);
      assert.equal((await call(gateway, 'POST', url, { token: shop.apiKey, body })).status, 404);
      assert.equal((await call(gateway, 'POST', url, { body })).status, 401);
    });
  });

  describe('POST /v1/users/{userId}/cards', () => {
    it('registers the simulator’s approved cards, answering brand and last four only', async () => {
      const user = await createUser(gateway);
      const visa = await registerCard(user, card(VISA, '123'));
      assert.equal(visa.status, 201);
      assert.deepEqual([visa.body.brand, visa.body.last4], ['visa', '1111']);
      assert.match(visa.body.cardId, /\S/);
      const mastercard = await registerCard(user, card(MASTERCARD, '321'));
      assert.deepEqual(
        [mastercard.status, mastercard.body.brand, mastercard.body.last4],
        [201, 'mastercard', '4444'],
      );
      for (const response of [visa, mastercard]) {
        assert.ok(!JSON.stringify(response.body).includes(VISA.slice(0, 12)));
        assert.ok(!JSON.stringify(response.body).includes(MASTERCARD.slice(0, 12)));
      }
    });

    it('answers the issuer’s refusals: 402 invalid_cvc and card_declined, 422 card_expired and invalid_card_number', async () => {
      const user = await createUser(gateway);
      const ip = freshIp();
      const cases: Array<[unknown, number, string]> = [
        [card(VISA, '999'), 402, 'invalid_cvc'],
        [card(DECLINED, '123'), 402, 'card_declined'],
        [card(VISA, '123', { expYear: 2020 }), 422, 'card_expired'],
        [card('4111111111111112', '123'), 422, 'invalid_card_number'],
      ];
      for (const [body, status, code] of cases) {
        const response = await registerCard(user, body, ip);
        assert.deepEqual([response.status, response.body.error.code], [status, code]);
        assert.ok(!JSON.stringify(response.body).includes('41111111'), 'no card number in the answer');
      }
    });

    it('locks the user’s card operations after 5 wrong CVCs: 423 account_locked with lockedUntil', async () => {
      const user = await createUser(gateway);
      const ip = freshIp();
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const wrong = await registerCard(user, card(UNKNOWN_CARD, String(100 + attempt)), ip);
        assert.equal(wrong.body.error.code, 'invalid_cvc');
      }
      const locked = await registerCard(user, card(VISA, '123'), ip);
      assert.equal(locked.status, 423);
      assert.equal(locked.body.error.code, 'account_locked');
      const lockedUntil = Date.parse(String(locked.body.error.details?.['lockedUntil']));
      assert.ok(lockedUntil > Date.now() + 25 * 60_000, 'locked for about 30 minutes');
      assert.equal(locked.body.error.details?.['scope'], 'user');
    });

    it('throttles a client IP after too many failed card checks: 429 rate_limited with Retry-After', async () => {
      const ip = freshIp();
      const users = await Promise.all([createUser(gateway), createUser(gateway)]);
      let throttled: Awaited<ReturnType<typeof registerCard>> | undefined;
      for (let attempt = 0; attempt < 40 && throttled === undefined; attempt += 1) {
        const response = await registerCard(users[attempt % 2], card(DECLINED, '123'), ip);
        if (response.status === 429) throttled = response;
        else assert.equal(response.body.error.code, 'card_declined');
      }
      assert.ok(throttled, 'throttled within 40 failures');
      assert.equal(throttled.body.error.code, 'rate_limited');
      assert.equal(throttled.headers['retry-after'], '600');
      // Another address is not affected.
      assert.equal((await registerCard(users[0], card(VISA, '123'), freshIp())).status, 201);
    });

    it('answers 400 naming the mistyped fields without echoing the card number or CVC', async () => {
      const user = await createUser(gateway);
      const response = await registerCard(user, { number: Number(VISA), expMonth: '12', cvc: 987 });
      assert.equal(response.status, 400);
      assert.deepEqual(response.body.error.details, {
        fields: {
          number: 'expected string, received number',
          expMonth: 'expected number, received string',
          expYear: 'is required',
          cvc: 'expected string, received number',
        },
      });
      const text = JSON.stringify(response.body);
      assert.ok(!text.includes(VISA) && !text.includes('987'), text);
      const malformed = await call<ErrorBody>(gateway, 'POST', `/v1/users/${user.userId}/cards`, {
        token: user.token,
        rawBody: `{"number":"${VISA}","cvc":"987",`,
      });
      assert.equal(malformed.status, 400);
      assert.ok(!JSON.stringify(malformed.body).includes(VISA));
    });

    it('answers 404 for another user’s path and never calls bank-integration for it', async () => {
      const user = await createUser(gateway);
      const other = await createUser(gateway);
      const before = gateway.bankIntegration.requests.length;
      const response = await call<ErrorBody>(gateway, 'POST', `/v1/users/${user.userId}/cards`, {
        token: other.token,
        body: card(VISA, '123'),
      });
      assert.deepEqual([response.status, response.body.error.code], [404, 'not_found']);
      assert.equal(gateway.bankIntegration.requests.length, before);
    });

    it('sends the socket’s address as the client IP, ignoring X-Forwarded-For from an untrusted peer', async () => {
      const user = await createUser(gateway);
      const response = await call(gateway, 'POST', `/v1/users/${user.userId}/cards`, {
        token: user.token,
        body: card(VISA, '123'),
        remoteAddress: '198.51.100.7',
        headers: { 'x-forwarded-for': '203.0.113.9' },
      });
      assert.equal(response.status, 201);
      const sent = gateway.bankIntegration.requests.filter((request) => request.userId === user.userId);
      assert.deepEqual(
        sent.map((request) => request.clientIp),
        ['198.51.100.7'],
      );
    });
  });

  describe('POST /v1/topups and GET /v1/topups/{topupId}', () => {
    it('tops up from a bank account: 201 COMPLETED and the wallet credited; a replay answers the same, marked', async () => {
      const user = await createUser(gateway);
      const bankAccountId = await bankAccountOf(user);
      const key = randomUUID();
      const first = await topup(user, { amount: 5_000, source: { bankAccountId } }, key);
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.deepEqual([first.body.status, first.body.amount], ['COMPLETED', 5_000]);
      assert.equal(await walletBalance(gateway, user), 5_000);
      const replay = await topup(user, { amount: 5_000, source: { bankAccountId } }, key);
      assert.deepEqual(
        [replay.status, replay.body, replay.headers['idempotent-replayed']],
        [201, first.body, 'true'],
      );
      const reused = await topup(user, { amount: 6_000, source: { bankAccountId } }, key);
      assert.deepEqual([reused.status, reused.body.error.code], [422, 'idempotency_key_reused']);
      assert.equal(await walletBalance(gateway, user), 5_000);
    });

    it('tops up from a registered card, passing the client IP to payment', async () => {
      const user = await createUser(gateway);
      const cardId = await cardOf(user);
      const response = await call<TopupAnswer>(gateway, 'POST', '/v1/topups', {
        token: user.token,
        idempotencyKey: randomUUID(),
        body: { userId: user.userId, amount: 3_000, currency: 'JPY', source: { cardId } },
        remoteAddress: '198.51.100.8',
      });
      assert.deepEqual([response.status, response.body.status], [201, 'COMPLETED']);
      const sent = gateway.payment.requests.at(-1);
      assert.equal(sent?.rpc, 'CreateTopup');
      assert.deepEqual([sent?.request['cardId'], sent?.request['clientIp']], [cardId, '198.51.100.8']);
      assert.equal(await walletBalance(gateway, user), 3_000);
    });

    it('answers 201 PROCESSING while the bank is degraded; GET shows it turn COMPLETED', async () => {
      const user = await createUser(gateway);
      const bankAccountId = await bankAccountOf(user);
      const accepted = await topup(user, { amount: 777, source: { bankAccountId } });
      assert.deepEqual([accepted.status, accepted.body.status], [201, 'PROCESSING']);
      assert.equal(await walletBalance(gateway, user), 0);
      const url = `/v1/topups/${accepted.body.topupId}`;
      const pending = await call<TopupAnswer>(gateway, 'GET', url, { token: user.token });
      assert.deepEqual([pending.status, pending.body.status], [200, 'PROCESSING']);
      gateway.payment.finishTopup(accepted.body.topupId, 'COMPLETED');
      const done = await call<TopupAnswer>(gateway, 'GET', url, { token: user.token });
      assert.deepEqual([done.status, done.body.status, done.body.amount], [200, 'COMPLETED', 777]);
      assert.equal(await walletBalance(gateway, user), 777);
    });

    it('answers 402 bank_declined for a debit the bank declines, and credits nothing', async () => {
      const user = await createUser(gateway);
      const bankAccountId = await bankAccountOf(user, '0999');
      const declined = await topup(user, { amount: 2_000, source: { bankAccountId } });
      assert.deepEqual([declined.status, declined.body.error.code], [402, 'bank_declined']);
      const topupId = String(declined.body.error.details?.['topupId']);
      assert.equal(declined.body.error.details?.['reason'], 'bank_declined');
      assert.equal(await walletBalance(gateway, user), 0);
      const shown = await call<TopupAnswer>(gateway, 'GET', `/v1/topups/${topupId}`, { token: user.token });
      assert.deepEqual(
        [shown.status, shown.body.status, shown.body.failureReason],
        [200, 'FAILED', 'bank_declined'],
      );
    });

    it('passes a card lockout on as 423 account_locked with lockedUntil', async () => {
      const user = await createUser(gateway);
      const cardId = await cardOf(user);
      const locked = await topup(user, { amount: 423, source: { cardId } });
      assert.deepEqual([locked.status, locked.body.error.code], [423, 'account_locked']);
      assert.ok(Date.parse(String(locked.body.error.details?.['lockedUntil'])) > Date.now());
    });

    it('validates before calling payment: key, source, currency, amount, caller', async () => {
      const user = await createUser(gateway);
      const other = await createUser(gateway);
      const bankAccountId = await bankAccountOf(user);
      const before = gateway.payment.requests.length;
      const cases: Array<[Record<string, unknown>, string | null, number, string]> = [
        [{ amount: 100, source: { bankAccountId } }, null, 400, 'idempotency_key_required'],
        [{ amount: 100, source: {} }, randomUUID(), 400, 'invalid_request'],
        [
          { amount: 100, source: { bankAccountId }, currency: 'USD' },
          randomUUID(),
          422,
          'unsupported_currency',
        ],
        [{ amount: 0, source: { bankAccountId } }, randomUUID(), 422, 'amount_out_of_range'],
        [{ amount: 10_000_001, source: { bankAccountId } }, randomUUID(), 422, 'amount_out_of_range'],
        [{ amount: 100, source: { bankAccountId }, userId: other.userId }, randomUUID(), 404, 'not_found'],
      ];
      for (const [body, key, status, code] of cases) {
        const response = await topup(user, body, key);
        assert.deepEqual(
          [response.status, response.body.error?.code],
          [status, code],
          JSON.stringify(response.body),
        );
      }
      assert.equal(gateway.payment.requests.length, before);
    });

    it('answers 404 for another user’s source, and another user’s or an unknown top-up', async () => {
      const owner = await createUser(gateway);
      const other = await createUser(gateway);
      const shop = await createMerchant(gateway);
      const bankAccountId = await bankAccountOf(owner);
      const stolen = await topup(other, { amount: 100, source: { bankAccountId } });
      assert.deepEqual([stolen.status, stolen.body.error.code], [404, 'not_found']);
      const made = await topup(owner, { amount: 100, source: { bankAccountId } });
      const url = `/v1/topups/${made.body.topupId}`;
      assert.equal((await call(gateway, 'GET', url, { token: owner.token })).status, 200);
      assert.equal((await call(gateway, 'GET', url, { token: other.token })).status, 404);
      assert.equal((await call(gateway, 'GET', url, { token: shop.apiKey })).status, 404);
      assert.equal(
        (await call(gateway, 'GET', '/v1/topups/top_unknown', { token: owner.token })).status,
        404,
      );
    });
  });

  describe('with bank-integration down', () => {
    it('answers card and bank-account calls 503 with Retry-After, while readiness and wallet payments carry on', async () => {
      const user = await createUser(gateway);
      const shop = await createMerchant(gateway);
      await credit(gateway, user.userId, 1_000);
      gateway.bankIntegration.setFault({ kind: 'unavailable' });
      try {
        const cardCall = await registerCard(user, card(VISA, '123'));
        assert.deepEqual([cardCall.status, cardCall.body.error.code], [503, 'service_unavailable']);
        assert.ok(Number(cardCall.headers['retry-after']) >= 1);
        assert.equal((await linkBankAccount(user)).status, 503);
        const ready = await call<{ status: string }>(gateway, 'GET', '/readyz');
        assert.deepEqual([ready.status, ready.body.status], [200, 'ready']);
        const paid = await call(gateway, 'POST', '/v1/payments', {
          token: user.token,
          idempotencyKey: randomUUID(),
          body: { userId: user.userId, merchantId: shop.merchantId, amount: 400, currency: 'JPY' },
        });
        assert.equal(paid.status, 201);
        assert.equal(await walletBalance(gateway, user), 600);
      } finally {
        gateway.bankIntegration.setFault({ kind: 'none' });
      }
    });
  });
});

describe('client IP behind a trusted proxy', { timeout: 60_000 }, () => {
  let gateway: Gateway;
  before(async () => {
    gateway = await startGateway({ trustedProxies: ['10.0.0.0/8'] });
  });
  after(() => gateway.close());

  async function clientIpSeen(remoteAddress: string, forwardedFor: string): Promise<string | undefined> {
    const user = await createUser(gateway);
    const response = await call(gateway, 'POST', `/v1/users/${user.userId}/cards`, {
      token: user.token,
      body: card(VISA, '123'),
      remoteAddress,
      headers: { 'x-forwarded-for': forwardedFor },
    });
    assert.equal(response.status, 201);
    return gateway.bankIntegration.requests.find((request) => request.userId === user.userId)?.clientIp;
  }

  it('takes the client from X-Forwarded-For when the request came through a trusted proxy', async () => {
    assert.equal(await clientIpSeen('10.1.2.3', '203.0.113.9'), '203.0.113.9');
    // Hops the trusted proxies added are skipped; the first untrusted one is the client.
    assert.equal(await clientIpSeen('10.1.2.3', '203.0.113.9, 10.4.4.4'), '203.0.113.9');
  });

  it('ignores X-Forwarded-For from anyone else', async () => {
    assert.equal(await clientIpSeen('198.51.100.7', '203.0.113.9'), '198.51.100.7');
  });
});
