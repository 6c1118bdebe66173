// Funding and cards against the running platform: the issuer's test cards, top-ups from a bank
// account and a card, card payments, the 2018 credential-stuffing attack with and without the
// lockout, payment velocity, and a lockout that survives a restart of the fraud service.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  api,
  createMerchant,
  createUser,
  eventually,
  merchantBalance,
  newKey,
  randomClientIp,
  userBalance,
  type TestUser,
} from '../support/api-client.js';
import { assertLedgerInvariants } from '../support/ledger-invariants.js';
import { restartService, waitForHealthy } from '../support/platform.js';

interface ErrorBody {
  error: { code: string; details?: Record<string, unknown> };
}

const thisYear = new Date().getUTCFullYear();

function registerCard(user: TestUser, number: string, cvc: string, clientIp: string) {
  return api<{ cardId: string; brand: string; last4: string } & ErrorBody>(
    'POST',
    `/v1/users/${user.userId}/cards`,
    { token: user.token, clientIp, body: { number, expMonth: 12, expYear: thisYear + 3, cvc } },
  );
}

function topup(user: TestUser, amount: number, source: Record<string, string>) {
  return api<{ topupId: string; status: string; amount: number } & ErrorBody>('POST', '/v1/topups', {
    token: user.token,
    idempotencyKey: newKey(),
    body: { userId: user.userId, amount, currency: 'JPY', source },
  });
}

/** A Luhn-valid 16-digit number on the 4 (Visa) range, different each call. */
function stolenCardNumber(): string {
  const digits = [4, ...Array.from({ length: 14 }, () => Math.floor(Math.random() * 10))];
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = digits[digits.length - 1 - i];
    if (i % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return [...digits, (10 - (sum % 10)) % 10].join('');
}

/**
 * A registration with a wrong CVC: a fresh Luhn-valid number whose real CVC (derived from the
 * issuer simulator's secret) the caller cannot know; on the one-in-a-thousand hit, another.
 */
async function registerWithWrongCvc(user: TestUser, ip: string) {
  for (;;) {
    const response = await registerCard(user, stolenCardNumber(), '000', ip);
    if (response.status !== 201) return response;
  }
}

after(async () => {
  await assertLedgerInvariants();
});

describe('cards and top-ups', () => {
  it('registers the issuer test cards, tops up from a bank account and a card, and pays by card', async () => {
    const user = await createUser();
    const ip = randomClientIp();
    const visa = await registerCard(user, '4111111111111111', '123', ip);
    assert.equal(visa.status, 201, JSON.stringify(visa.body));
    assert.deepEqual(
      { brand: visa.body.brand.toLowerCase(), last4: visa.body.last4 },
      { brand: 'visa', last4: '1111' },
    );
    const master = await registerCard(user, '5555555555554444', '321', ip);
    assert.equal(master.status, 201, JSON.stringify(master.body));
    assert.equal(master.body.last4, '4444');
    const declined = await registerCard(user, '4000000000000002', '123', ip);
    assert.equal(declined.status, 402);
    assert.equal(declined.body.error.code, 'card_declined');
    // A wrong CVC on a throwaway number: wrong CVCs on the shared test cards would lock them
    // for every user (and for the next run) after five runs within an hour.
    const wrongCvc = await registerWithWrongCvc(user, ip);
    assert.equal(wrongCvc.status, 402);
    assert.equal(wrongCvc.body.error.code, 'invalid_cvc');
    const notLuhn = await registerCard(user, '4111111111111112', '123', ip);
    assert.equal(notLuhn.status, 422);
    assert.equal(notLuhn.body.error.code, 'invalid_card_number');

    const bank = await api<{ bankAccountId: string }>('POST', `/v1/users/${user.userId}/bank-accounts`, {
      token: user.token,
      body: { bankCode: '0005', accountNumber: '1234567' },
    });
    assert.equal(bank.status, 201, JSON.stringify(bank.body));
    const badBank = await api<ErrorBody>('POST', `/v1/users/${user.userId}/bank-accounts`, {
      token: user.token,
      body: { bankCode: '12', accountNumber: '1234567' },
    });
    assert.equal(badBank.status, 422);
    assert.equal(badBank.body.error.code, 'invalid_bank_account');

    const fromBank = await topup(user, 5_000, { bankAccountId: bank.body.bankAccountId });
    assert.equal(fromBank.status, 201, JSON.stringify(fromBank.body));
    assert.equal(fromBank.body.status, 'COMPLETED');
    const fromCard = await topup(user, 3_000, { cardId: visa.body.cardId });
    assert.equal(fromCard.status, 201, JSON.stringify(fromCard.body));
    assert.equal(fromCard.body.status, 'COMPLETED');
    assert.equal((await userBalance(user)).available, 8_000);
    const seen = await api<{ topupId: string; status: string }>(
      'GET',
      `/v1/topups/${fromBank.body.topupId}`,
      {
        token: user.token,
      },
    );
    assert.equal(seen.status, 200);
    assert.equal(seen.body.status, 'COMPLETED');

    const decliningBank = await api<{ bankAccountId: string }>(
      'POST',
      `/v1/users/${user.userId}/bank-accounts`,
      {
        token: user.token,
        body: { bankCode: '0999', accountNumber: '7654321' },
      },
    );
    assert.equal(decliningBank.status, 201);
    const refused = await topup(user, 1_000, { bankAccountId: decliningBank.body.bankAccountId });
    assert.equal(refused.status, 402, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'bank_declined');
    assert.equal((await userBalance(user)).available, 8_000);

    const shop = await createMerchant();
    const byCard = await api<{ status: string; amount: number }>('POST', '/v1/payments', {
      token: user.token,
      idempotencyKey: newKey(),
      body: {
        userId: user.userId,
        merchantId: shop.merchantId,
        amount: 1_200,
        currency: 'JPY',
        method: 'card',
        cardId: master.body.cardId,
      },
    });
    assert.equal(byCard.status, 201, JSON.stringify(byCard.body));
    assert.equal(byCard.body.status, 'COMPLETED');
    assert.equal(await merchantBalance(shop), 1_200);
    assert.equal((await userBalance(user)).available, 8_000, 'a card payment leaves the wallet alone');
  });
});

describe('the 2018 credential-stuffing attack', () => {
  /**
   * 20 stolen card numbers, attacked at once, every CVC from 000 to 999, all from one IP and
   * spread over fresh accounts (a new one every 4 attempts, under the per-user limit). An
   * attacker drops a card after 20 refusals in a row that never reach the issuer (423/429):
   * nothing more can be learned about it.
   */
  async function attack(label: string) {
    const ip = randomClientIp();
    const attackCard = async (number: string) => {
      let wrongCvc = 0;
      let blocked = 0;
      let refusalsInARow = 0;
      let attacker = await createUser(`attacker-${label}`);
      for (let cvc = 0; cvc < 1_000 && refusalsInARow < 20; cvc += 1) {
        if (cvc % 4 === 3) attacker = await createUser(`attacker-${label}`);
        let response = await registerCard(attacker, number, String(cvc).padStart(3, '0'), ip);
        // A momentary 503 (a breaker shedding load on this busy machine) teaches the attacker
        // nothing: like a real script, it tries the same CVC again.
        for (let retry = 0; response.status === 503 && retry < 20; retry += 1) {
          await new Promise((resolve) => setTimeout(resolve, 250));
          response = await registerCard(attacker, number, String(cvc).padStart(3, '0'), ip);
        }
        if (response.status === 201) return { registered: true, wrongCvc, blocked };
        if (response.status === 402 && response.body.error.code === 'invalid_cvc') {
          wrongCvc += 1;
          refusalsInARow = 0;
        } else if (response.status === 423 || response.status === 429) {
          blocked += 1;
          refusalsInARow += 1;
        } else {
          assert.fail(`unexpected answer ${response.status}: ${JSON.stringify(response.body)}`);
        }
      }
      return { registered: false, wrongCvc, blocked };
    };
    const results = await Promise.all(Array.from({ length: 20 }, () => attackCard(stolenCardNumber())));
    return {
      registered: results.filter((r) => r.registered).length,
      wrongCvcAnswers: results.reduce((sum, r) => sum + r.wrongCvc, 0),
      blocked: results.reduce((sum, r) => sum + r.blocked, 0),
      maxWrongPerCard: Math.max(...results.map((r) => r.wrongCvc)),
    };
  }

  it('registers about none of 20 stolen cards with the lockout on, and all 20 with it off', async () => {
    const locked = await attack('locked');
    console.log(`lockout on:  ${JSON.stringify(locked)}`);
    assert.ok(locked.maxWrongPerCard <= 5, 'at most 5 wrong CVCs are ever checked per card');
    assert.ok(locked.registered <= 1, `the attacker registered ${locked.registered} of 20 cards`);
    assert.ok(locked.blocked > 0);

    await restartService('fraud', { LOCKOUT_ENABLED: 'false' });
    try {
      const open = await attack('unlocked');
      console.log(`lockout off: ${JSON.stringify(open)}`);
      assert.equal(open.registered, 20, 'without the lockout every stolen card falls');
    } finally {
      await restartService('fraud', { LOCKOUT_ENABLED: 'true' });
    }
  });
});

describe('lockout', () => {
  it('locks a user after 5 wrong CVCs for 30 minutes, and the lock survives a fraud restart', async () => {
    const user = await createUser();
    const ip = randomClientIp();
    // Five different throwaway cards: the user's lock, not a card's, is what trips.
    for (let i = 0; i < 5; i += 1) {
      const response = await registerWithWrongCvc(user, ip);
      assert.equal(response.status, 402, JSON.stringify(response.body));
      assert.equal(response.body.error.code, 'invalid_cvc');
    }
    // Even the right CVC of a good card is refused now, without reaching the issuer.
    const locked = await registerCard(user, '5555555555554444', '321', ip);
    assert.equal(locked.status, 423, JSON.stringify(locked.body));
    assert.equal(locked.body.error.code, 'account_locked');
    assert.equal(locked.body.error.details?.scope, 'user');
    const lockedUntil = Date.parse(String(locked.body.error.details?.lockedUntil));
    const inMinutes = (lockedUntil - Date.now()) / 60_000;
    assert.ok(inMinutes > 28 && inMinutes <= 30.5, `locked for ${inMinutes.toFixed(1)} minutes`);

    await restartService('fraud', {});
    const stillLocked = await registerCard(user, '5555555555554444', '321', ip);
    assert.equal(stillLocked.status, 423, JSON.stringify(stillLocked.body));
    assert.equal(Date.parse(String(stillLocked.body.error.details?.lockedUntil)), lockedUntil);

    const otherUser = await createUser();
    const unaffected = await registerCard(otherUser, '5555555555554444', '321', randomClientIp());
    assert.equal(unaffected.status, 201, 'another user and the card itself are not locked');
  });
});

describe('payment velocity', () => {
  it('declines a burst past 120 payments a minute from one user as risk, and not other users', async () => {
    const busy = await createUser();
    const calm = await createUser();
    const shop = await createMerchant();
    const bank = await api<{ bankAccountId: string }>('POST', `/v1/users/${busy.userId}/bank-accounts`, {
      token: busy.token,
      body: { bankCode: '0005', accountNumber: '7777777' },
    });
    assert.equal((await topup(busy, 100_000, { bankAccountId: bank.body.bankAccountId })).status, 201);
    const calmBank = await api<{ bankAccountId: string }>('POST', `/v1/users/${calm.userId}/bank-accounts`, {
      token: calm.token,
      body: { bankCode: '0005', accountNumber: '8888888' },
    });
    assert.equal((await topup(calm, 1_000, { bankAccountId: calmBank.body.bankAccountId })).status, 201);

    const pay = (user: TestUser) =>
      api<ErrorBody>('POST', '/v1/payments', {
        token: user.token,
        idempotencyKey: newKey(),
        body: { userId: user.userId, merchantId: shop.merchantId, amount: 10, currency: 'JPY' },
      });
    const statuses: number[] = [];
    let riskDeclines = 0;
    for (let i = 0; i < 130; i += 1) {
      const response = await pay(busy);
      statuses.push(response.status);
      if (response.status === 402 && response.body.error.code === 'payment_declined') {
        assert.equal(response.body.error.details?.reason, 'risk');
        riskDeclines += 1;
      }
    }
    assert.equal(statuses.filter((s) => s === 201).length, 120, `statuses: ${statuses.join(',')}`);
    assert.equal(riskDeclines, 10);
    assert.equal((await pay(calm)).status, 201, 'another user is not affected');
  });
});

describe('platform health after restarts', () => {
  it('is healthy again', async () => {
    await waitForHealthy();
    await eventually(
      'gateway ready',
      30_000,
      async () => (await fetch(`${process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080'}/readyz`)).ok,
    );
  });
});
