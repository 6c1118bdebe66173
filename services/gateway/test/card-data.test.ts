import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createLogger } from '@koban/platform';
import { call, createUser, startGateway, type ErrorBody, type Gateway, type TestUser } from './harness.js';

const PAN = '4111111111111111';
/** A CVC unlikely to show up in a log line by chance (ids, durations, ports). */
const CVC = '7391';
const VALID_CVC = '123';

/** Every string and number anywhere in a parsed log line. */
function* leaves(value: unknown): Generator<string> {
  if (typeof value === 'string' || typeof value === 'number') yield String(value);
  else if (Array.isArray(value)) for (const item of value) yield* leaves(item);
  else if (typeof value === 'object' && value !== null)
    for (const item of Object.values(value)) yield* leaves(item);
}

describe('card data in the gateway’s logs', { timeout: 60_000 }, () => {
  const lines: string[] = [];
  let gateway: Gateway;
  let user: TestUser;

  before(async () => {
    const logger = createLogger({
      service: 'gateway',
      level: 'trace',
      destination: { write: (line: string) => void lines.push(line) },
    });
    gateway = await startGateway({ logger, requestTimeoutMs: 1_000 });
    user = await createUser(gateway);
  });
  after(() => gateway.close());

  function registerCard(body: unknown) {
    return call<ErrorBody>(gateway, 'POST', `/v1/users/${user.userId}/cards`, { token: user.token, body });
  }

  it('never logs a card number or CVC, on success or on any failure path', async () => {
    const card = { number: PAN, expMonth: 12, expYear: new Date().getUTCFullYear() + 1 };
    assert.equal((await registerCard({ ...card, cvc: VALID_CVC })).status, 201);
    assert.equal((await registerCard({ ...card, cvc: CVC })).status, 402);
    assert.equal((await registerCard({ ...card, number: Number(PAN), cvc: Number(CVC) })).status, 400);
    const malformed = await call(gateway, 'POST', `/v1/users/${user.userId}/cards`, {
      token: user.token,
      rawBody: `{"number":"${PAN}","cvc":"${CVC}"`,
    });
    assert.equal(malformed.status, 400);
    const tooLarge = await call(gateway, 'POST', `/v1/users/${user.userId}/cards`, {
      token: user.token,
      rawBody: JSON.stringify({ ...card, cvc: CVC, padding: 'x'.repeat(70 * 1024) }),
    });
    assert.equal(tooLarge.status, 413);

    gateway.bankIntegration.setFault({ kind: 'internal' });
    try {
      assert.equal((await registerCard({ ...card, cvc: CVC })).status, 500);
    } finally {
      gateway.bankIntegration.setFault({ kind: 'none' });
    }
    gateway.bankIntegration.setFault({ kind: 'slow', ms: 1_500 });
    try {
      assert.equal((await registerCard({ ...card, cvc: CVC })).status, 503);
    } finally {
      gateway.bankIntegration.setFault({ kind: 'none' });
    }
    gateway.bankIntegration.setFault({ kind: 'unavailable' });
    try {
      for (let attempt = 0; attempt < 6; attempt += 1) {
        assert.equal((await registerCard({ ...card, cvc: CVC })).status, 503);
      }
    } finally {
      gateway.bankIntegration.setFault({ kind: 'none' });
    }
    // A money-moving request logged on its way too, for good measure.
    await call(gateway, 'POST', '/v1/topups', {
      token: user.token,
      idempotencyKey: randomUUID(),
      body: { userId: user.userId, amount: 100, currency: 'JPY', source: { cardId: PAN } },
    });

    // The failure paths were logged (the 500 as an error), so the check below looked at them.
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok(
      parsed.some(
        (line) => line['level'] === 'error' && line['msg'] === 'downstream call failed unexpectedly',
      ),
      'the 500 is logged',
    );
    assert.ok(
      parsed.some((line) => line['level'] === 'warn'),
      'the 503s are logged',
    );
    for (const [index, line] of lines.entries()) {
      assert.ok(!line.includes(PAN), `log line ${index} holds the card number: ${line}`);
      for (const leaf of leaves(parsed[index])) {
        assert.ok(leaf !== CVC && leaf !== VALID_CVC, `log line ${index} holds a CVC: ${line}`);
      }
    }
  });
});
