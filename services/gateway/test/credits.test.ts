import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ADMIN_TOKEN, call, createUser, startGateway, type ErrorBody, type Gateway } from './harness.js';

describe('POST /v1/admin/credits', { timeout: 60_000 }, () => {
  let gateway: Gateway;
  before(async () => {
    gateway = await startGateway();
  });
  after(() => gateway.close());

  /** `idempotencyKey: null` sends none. */
  const post = (body: unknown, idempotencyKey: string | null = randomUUID(), token = ADMIN_TOKEN) =>
    call<{ creditId: string; amount: number; status: string } & ErrorBody>(
      gateway,
      'POST',
      '/v1/admin/credits',
      {
        token,
        idempotencyKey: idempotencyKey ?? undefined,
        body,
      },
    );

  it('credits the wallet from the system funding account, once per key', async () => {
    const user = await createUser(gateway);
    const key = randomUUID();
    const first = await post({ userId: user.userId, amount: 10_000, currency: 'JPY' }, key);
    assert.equal(first.status, 201);
    assert.deepEqual([first.body.amount, first.body.status], [10_000, 'COMPLETED']);
    assert.match(first.body.creditId, /^credit_[0-9a-f]{64}$/);
    const again = await post({ userId: user.userId, amount: 10_000, currency: 'JPY' }, key);
    assert.equal(again.status, 201);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.body.creditId, first.body.creditId);
    assert.equal(gateway.book.accounts.get(user.walletAccountId)?.balance, 10_000n);
    const funding = gateway.book.lookup('OWNER_TYPE_SYSTEM', 'funding', 'ACCOUNT_KIND_SETTLEMENT', 'JPY');
    assert.deepEqual([funding?.balance, funding?.overdraftAllowed], [-10_000n, true]);

    const reused = await post({ userId: user.userId, amount: 5, currency: 'JPY' }, key);
    assert.equal(reused.status, 422);
    assert.equal(reused.body.error.code, 'idempotency_key_reused');
  });

  it('answers 404 for an unknown user, 422 for bad money, 400 without a key', async () => {
    const user = await createUser(gateway);
    const unknown = await post({ userId: 'usr_nobody', amount: 1, currency: 'JPY' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'not_found');
    assert.equal(
      (await post({ userId: user.userId, amount: 0, currency: 'JPY' })).body.error.code,
      'amount_out_of_range',
    );
    assert.equal(
      (await post({ userId: user.userId, amount: 1, currency: 'EUR' })).body.error.code,
      'unsupported_currency',
    );
    const noKey = await post({ userId: user.userId, amount: 1, currency: 'JPY' }, null);
    assert.equal(noKey.status, 400);
    assert.equal(noKey.body.error.code, 'idempotency_key_required');
    const wrongToken = await post(
      { userId: user.userId, amount: 1, currency: 'JPY' },
      randomUUID(),
      'not-the-admin',
    );
    assert.equal(wrongToken.status, 401);
  });
});
