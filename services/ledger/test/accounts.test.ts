import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { domainErrorOf, startLedger, uniqueId, type LedgerUnderTest } from './ledger-harness.js';

let ledger: LedgerUnderTest;
before(async () => {
  ledger = await startLedger();
});
after(async () => {
  await ledger.close();
});

describe('OpenAccount', () => {
  it('opens a wallet once and answers the same account to every later call', async () => {
    const request = {
      ownerType: 'OWNER_TYPE_USER',
      ownerId: uniqueId('usr'),
      kind: 'ACCOUNT_KIND_WALLET',
      currency: 'JPY',
    } as const;
    const first = await ledger.client.openAccount(request);
    const second = await ledger.client.openAccount(request);
    assert.equal(first.created, true);
    assert.equal(second.created, false);
    assert.deepEqual(second.account, first.account);
    assert.match(first.account?.accountId ?? '', /^acc_[0-9a-f]{24}$/);
    assert.equal(first.account?.ownerType, 'OWNER_TYPE_USER');
    assert.equal(first.account?.kind, 'ACCOUNT_KIND_WALLET');
    assert.equal(first.account?.overdraftAllowed, false);
    assert.ok(first.account?.createdAt);
  });

  it('opens exactly one account when the same one is opened concurrently', async () => {
    const request = {
      ownerType: 'OWNER_TYPE_MERCHANT',
      ownerId: uniqueId('mer'),
      kind: 'ACCOUNT_KIND_MERCHANT',
      currency: 'JPY',
    } as const;
    const answers = await Promise.all(Array.from({ length: 20 }, () => ledger.client.openAccount(request)));
    assert.equal(new Set(answers.map((answer) => answer.account?.accountId)).size, 1);
    assert.equal(answers.filter((answer) => answer.created).length, 1);
  });

  it('keeps a user wallet and points apart', async () => {
    const ownerId = uniqueId('usr');
    const wallet = await ledger.client.openAccount({
      ownerType: 'OWNER_TYPE_USER',
      ownerId,
      kind: 'ACCOUNT_KIND_WALLET',
      currency: 'JPY',
    });
    const points = await ledger.client.openAccount({
      ownerType: 'OWNER_TYPE_USER',
      ownerId,
      kind: 'ACCOUNT_KIND_POINTS',
      currency: 'POINTS',
    });
    assert.notEqual(wallet.account?.accountId, points.account?.accountId);
    assert.equal(points.account?.currency, 'POINTS');
  });

  it('answers invalid_request naming the fields for a malformed or disallowed account', async () => {
    const error = await domainErrorOf(
      ledger.client.openAccount({
        ownerType: 'OWNER_TYPE_USER',
        ownerId: uniqueId('usr'),
        kind: 'ACCOUNT_KIND_WALLET',
        currency: 'USD',
        overdraftAllowed: true,
      }),
    );
    assert.equal(error.code, 'invalid_request');
    assert.equal(error.statusName, 'INVALID_ARGUMENT');
    assert.deepEqual(Object.keys((error.details as { fields: object }).fields).sort(), [
      'currency',
      'overdraftAllowed',
    ]);
  });

  it('opens a campaign budget that may overdraft', async () => {
    const { account } = await ledger.client.openAccount({
      ownerType: 'OWNER_TYPE_SYSTEM',
      ownerId: uniqueId('cmp'),
      kind: 'ACCOUNT_KIND_CAMPAIGN',
      currency: 'POINTS',
      overdraftAllowed: true,
    });
    assert.equal(account?.overdraftAllowed, true);
  });
});

describe('GetAccount and LookupAccount', () => {
  it('finds an account by id and by owner and kind, with or without the currency', async () => {
    const ownerId = uniqueId('usr');
    const { account } = await ledger.client.openAccount({
      ownerType: 'OWNER_TYPE_USER',
      ownerId,
      kind: 'ACCOUNT_KIND_WALLET',
      currency: 'JPY',
    });
    assert.deepEqual(
      (await ledger.client.getAccount({ accountId: account?.accountId ?? '' })).account,
      account,
    );
    const lookup = { ownerType: 'OWNER_TYPE_USER', ownerId, kind: 'ACCOUNT_KIND_WALLET' } as const;
    assert.deepEqual((await ledger.client.lookupAccount(lookup)).account, account);
    assert.deepEqual((await ledger.client.lookupAccount({ ...lookup, currency: 'JPY' })).account, account);
  });

  it('answers account_not_found for an unknown id or owner', async () => {
    const byId = await domainErrorOf(ledger.client.getAccount({ accountId: 'acc_000000000000000000000000' }));
    assert.equal(byId.code, 'account_not_found');
    assert.equal(byId.statusName, 'NOT_FOUND');
    assert.deepEqual(byId.details, { accountId: 'acc_000000000000000000000000' });
    const byOwner = await domainErrorOf(
      ledger.client.lookupAccount({
        ownerType: 'OWNER_TYPE_USER',
        ownerId: uniqueId('usr'),
        kind: 'ACCOUNT_KIND_WALLET',
      }),
    );
    assert.equal(byOwner.code, 'account_not_found');
  });

  it('has the system settlement accounts from the start, which may overdraft', async () => {
    for (const ownerId of ['bank-settlement', 'card-settlement']) {
      const { account } = await ledger.client.lookupAccount({
        ownerType: 'OWNER_TYPE_SYSTEM',
        ownerId,
        kind: 'ACCOUNT_KIND_SETTLEMENT',
        currency: 'JPY',
      });
      assert.equal(account?.overdraftAllowed, true);
      assert.equal(account?.currency, 'JPY');
    }
  });
});
