import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CounterpartyUnavailableError } from '../simulation/simulated-counterparty.js';
import { createIssuerSimulator, derivedCvc, expectedCvc } from './issuer-simulator.js';

const secret = 'issuer-secret-for-unit-tests-0123';
const now = () => new Date('2030-06-15T00:00:00Z');
const issuer = (overrides: { failureRate?: number; random?: () => number } = {}) =>
  createIssuerSimulator({ secret, latencyMs: 0, failureRate: 0, now, ...overrides });
const verify = (pan: string, cvc: string, expYear = 2031, expMonth = 12) =>
  issuer().verify({ pan, cvc, expMonth, expYear });

/** A Luhn-valid number that is not a test card. */
const otherCard = '4242424242424242';

void describe('issuer simulator CVCs', () => {
  void it('derives three digits from an HMAC of the number, stable for one secret', () => {
    const cvc = derivedCvc(secret, otherCard);
    assert.match(cvc, /^\d{3}$/);
    assert.equal(derivedCvc(secret, otherCard), cvc);
  });

  void it('derives other CVCs under another secret, so the number alone does not tell the CVC', () => {
    const cvcs = new Set(
      Array.from({ length: 20 }, (_, i) => derivedCvc(`another-secret-${i}-0123456789`, otherCard)),
    );
    assert.ok(cvcs.size > 10, `only ${cvcs.size} distinct CVCs over 20 secrets`);
  });

  void it('keeps the public CVCs of the test cards', () => {
    assert.equal(expectedCvc(secret, '4111111111111111'), '123');
    assert.equal(expectedCvc(secret, '5555555555554444'), '321');
    assert.equal(expectedCvc(secret, '4000000000000002'), '123');
  });
});

void describe('issuer simulator verification', () => {
  void it('approves the test cards with their CVC and declines 4000000000000002', async () => {
    assert.equal(await verify('4111111111111111', '123'), 'approved');
    assert.equal(await verify('5555555555554444', '321'), 'approved');
    assert.equal(await verify('4000000000000002', '123'), 'declined');
  });

  void it('answers wrong_cvc for a wrong CVC, and approves another card with its derived CVC', async () => {
    assert.equal(await verify('4111111111111111', '124'), 'wrong_cvc');
    assert.equal(await verify('4111111111111111', '1234'), 'wrong_cvc');
    assert.equal(await verify(otherCard, derivedCvc(secret, otherCard)), 'approved');
    const wrong = String((Number(derivedCvc(secret, otherCard)) + 1) % 1000).padStart(3, '0');
    assert.equal(await verify(otherCard, wrong), 'wrong_cvc');
  });

  void it('answers expired for a card past its expiry month, before looking at the CVC', async () => {
    assert.equal(await verify('4111111111111111', '123', 2030, 5), 'expired');
    assert.equal(await verify('4111111111111111', '999', 2030, 5), 'expired');
    assert.equal(await verify('4111111111111111', '123', 2030, 6), 'approved');
  });

  void it('loses answers at the configured failure rate', async () => {
    const failing = issuer({ failureRate: 0.5, random: () => 0.4 });
    await assert.rejects(
      failing.verify({ pan: '4111111111111111', cvc: '123', expMonth: 1, expYear: 2031 }),
      CounterpartyUnavailableError,
    );
  });
});

void describe('issuer simulator authorisations', () => {
  const authorize = (sim: ReturnType<typeof issuer>, key: string, pan = '4111111111111111', expYear = 2031) =>
    sim.authorize({ idempotencyKey: key, pan, expMonth: 1, expYear, amount: 1000, currency: 'JPY' });

  void it('approves with an authorisation code and answers a repeated key with the same code', async () => {
    const sim = issuer();
    const first = await authorize(sim, 'charge-1');
    assert.equal(first.outcome, 'approved');
    assert.deepEqual(await authorize(sim, 'charge-1'), first);
    const other = await authorize(sim, 'charge-2');
    assert.notDeepEqual(other, first);
  });

  void it('declines the declining test card and a card that expired since', async () => {
    const sim = issuer();
    assert.deepEqual(await authorize(sim, 'c-1', '4000000000000002'), {
      outcome: 'declined',
      reason: 'card_declined',
    });
    assert.deepEqual(await authorize(sim, 'c-2', '4111111111111111', 2029), {
      outcome: 'declined',
      reason: 'card_expired',
    });
  });

  void it('remembers a decision whose answer was lost, and gives it on the next call with the key', async () => {
    let lose = true;
    const sim = issuer({ failureRate: 0.5, random: () => (lose ? 0 : 1) });
    await assert.rejects(authorize(sim, 'charge-lost'), CounterpartyUnavailableError);
    lose = false;
    const answer = await authorize(sim, 'charge-lost');
    assert.equal(answer.outcome, 'approved');
  });
});
