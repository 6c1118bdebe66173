import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { balanceCacheKey, parseCachedBalance } from '../src/balance/balance-cache.js';
import {
  availableOf,
  bankSettlement,
  domainErrorOf,
  eventually,
  fund,
  invariantViolations,
  openWallet,
  startLedger,
  uniqueId,
  type LedgerUnderTest,
  type TransferRequest,
} from './ledger-harness.js';

let ledger: LedgerUnderTest;
before(async () => {
  ledger = await startLedger();
});
after(async () => {
  assert.deepEqual(await invariantViolations(ledger.db), []);
  await ledger.close();
});

function payment(from: string, to: string, amount: number, transferId = uniqueId('trf')): TransferRequest {
  return {
    transferId,
    kind: 'TRANSFER_KIND_PAYMENT',
    referenceId: uniqueId('pay'),
    postings: [{ fromAccountId: from, toAccountId: to, amount, currency: 'JPY' }],
    description: 'Koban Coffee',
  };
}

describe('Transfer', () => {
  it('moves money, writes a debit and a credit entry, and answers the balances after it', async () => {
    const alice = await openWallet(ledger.client);
    const shop = await openWallet(ledger.client);
    await fund(ledger.client, alice, 1_000);

    const request = payment(alice, shop, 300);
    const answer = await ledger.client.transfer(request);
    assert.equal(answer.replayed, false);
    assert.equal(answer.transfer?.transferId, request.transferId);
    assert.equal(answer.transfer?.kind, 'TRANSFER_KIND_PAYMENT');
    assert.deepEqual(answer.transfer?.postings, [
      { fromAccountId: alice, toAccountId: shop, amount: '300', currency: 'JPY' },
    ]);
    assert.deepEqual(
      answer.balances.map((b) => [b.accountId, b.available, b.version, b.stale]),
      [
        [alice, '700', '2', false],
        [shop, '300', '1', false],
      ],
    );

    const { balances } = await ledger.client.getBalances({ accountIds: [shop, alice] });
    assert.deepEqual(
      balances.map((b) => [b.accountId, b.currency, b.available, b.version]),
      [
        [shop, 'JPY', '300', '1'],
        [alice, 'JPY', '700', '2'],
      ],
    );

    const { entries } = await ledger.client.listEntries({ accountId: alice });
    assert.deepEqual(
      entries.map((e) => [e.transferId, e.amount, e.balanceAfter, e.kind]),
      [
        [request.transferId, '-300', '700', 'TRANSFER_KIND_PAYMENT'],
        [entries[1]?.transferId, '1000', '1000', 'TRANSFER_KIND_TOPUP'],
      ],
    );
    assert.equal(entries[0]?.counterpartyAccountId, shop);
    assert.equal(entries[0]?.description, 'Koban Coffee');
    assert.equal(entries[0]?.referenceId, request.referenceId);

    const found = await ledger.client.getTransfer({ transferId: request.transferId });
    assert.deepEqual(found.transfer, answer.transfer);
  });

  it('refuses a debit beyond the balance with insufficient_funds and changes nothing', async () => {
    const alice = await openWallet(ledger.client);
    const shop = await openWallet(ledger.client);
    await fund(ledger.client, alice, 500);
    const before = await ledger.client.getBalances({ accountIds: [alice, shop] });

    const request = payment(alice, shop, 501);
    const error = await domainErrorOf(ledger.client.transfer(request));
    assert.equal(error.code, 'insufficient_funds');
    assert.equal(error.statusName, 'FAILED_PRECONDITION');
    assert.deepEqual(error.details, { accountId: alice, available: '500', required: '501' });

    const afterwards = await ledger.client.getBalances({ accountIds: [alice, shop] });
    assert.deepEqual(
      afterwards.balances.map((b) => [b.available, b.version]),
      before.balances.map((b) => [b.available, b.version]),
    );
    assert.equal((await ledger.client.listEntries({ accountId: shop })).entries.length, 0);
    assert.equal(
      (await domainErrorOf(ledger.client.getTransfer({ transferId: request.transferId }))).code,
      'not_found',
    );
  });

  it('applies all postings or none: a failing second posting undoes the first', async () => {
    const alice = await openWallet(ledger.client);
    const bob = await openWallet(ledger.client);
    const shop = await openWallet(ledger.client);
    await fund(ledger.client, alice, 100);
    const error = await domainErrorOf(
      ledger.client.transfer({
        transferId: uniqueId('trf'),
        kind: 'TRANSFER_KIND_PAYMENT',
        postings: [
          { fromAccountId: alice, toAccountId: shop, amount: 100, currency: 'JPY' },
          { fromAccountId: bob, toAccountId: shop, amount: 1, currency: 'JPY' },
        ],
      }),
    );
    assert.equal(error.code, 'insufficient_funds');
    assert.equal(await availableOf(ledger.client, alice), '100');
    assert.equal(await availableOf(ledger.client, shop), '0');
  });

  it('lets system settlement accounts overdraft', async () => {
    const settlement = await bankSettlement(ledger.client);
    const alice = await openWallet(ledger.client);
    const before = BigInt((await availableOf(ledger.client, settlement)) ?? '0');
    await fund(ledger.client, alice, 2_500);
    assert.equal(await availableOf(ledger.client, settlement), (before - 2_500n).toString());
    assert.ok(before - 2_500n < 0n);
  });

  it('refuses postings between units with currency_mismatch, and unknown accounts with account_not_found', async () => {
    const alice = await openWallet(ledger.client);
    await fund(ledger.client, alice, 100);
    const { account: points } = await ledger.client.openAccount({
      ownerType: 'OWNER_TYPE_USER',
      ownerId: uniqueId('usr'),
      kind: 'ACCOUNT_KIND_POINTS',
      currency: 'POINTS',
    });
    const mismatch = await domainErrorOf(ledger.client.transfer(payment(alice, points?.accountId ?? '', 10)));
    assert.equal(mismatch.code, 'currency_mismatch');
    assert.equal(mismatch.statusName, 'INVALID_ARGUMENT');

    const unknown = await domainErrorOf(
      ledger.client.transfer(payment(alice, 'acc_ffffffffffffffffffffffff', 10)),
    );
    assert.equal(unknown.code, 'account_not_found');
    assert.deepEqual(unknown.details, { accountId: 'acc_ffffffffffffffffffffffff' });
  });

  it('answers invalid_request for a zero, negative or oversized amount and a missing kind', async () => {
    const alice = await openWallet(ledger.client);
    const shop = await openWallet(ledger.client);
    for (const amount of [0, -5, '1000000000001']) {
      const error = await domainErrorOf(
        ledger.client.transfer({
          ...payment(alice, shop, 1),
          postings: [{ fromAccountId: alice, toAccountId: shop, amount, currency: 'JPY' }],
        }),
      );
      assert.equal(error.code, 'invalid_request');
      assert.ok((error.details as { fields: Record<string, string> }).fields['postings[0].amount']);
    }
    const noKind = await domainErrorOf(
      ledger.client.transfer({ ...payment(alice, shop, 1), kind: 'TRANSFER_KIND_UNSPECIFIED' }),
    );
    assert.deepEqual(Object.keys((noKind.details as { fields: object }).fields), ['kind']);
  });
});

describe('a repeated transfer id', () => {
  it('with the same postings answers the original transfer, replayed, and moves nothing', async () => {
    const alice = await openWallet(ledger.client);
    const shop = await openWallet(ledger.client);
    await fund(ledger.client, alice, 1_000);
    const request = payment(alice, shop, 400);
    const first = await ledger.client.transfer(request);
    const again = await ledger.client.transfer({ ...request, description: 'retried' });
    assert.equal(again.replayed, true);
    assert.deepEqual(again.transfer, first.transfer);
    assert.deepEqual(again.balances, first.balances);
    assert.equal(await availableOf(ledger.client, alice), '600');
  });

  it('with other postings fails with transfer_id_reused and moves nothing', async () => {
    const alice = await openWallet(ledger.client);
    const shop = await openWallet(ledger.client);
    await fund(ledger.client, alice, 1_000);
    const request = payment(alice, shop, 400);
    await ledger.client.transfer(request);
    const reused = await domainErrorOf(
      ledger.client.transfer({ ...request, postings: [{ ...request.postings[0], amount: 401 }] }),
    );
    assert.equal(reused.code, 'transfer_id_reused');
    assert.equal(reused.statusName, 'ALREADY_EXISTS');
    assert.deepEqual(reused.details, { transferId: request.transferId });
    assert.equal(await availableOf(ledger.client, alice), '600');
  });
});

describe('ListEntries', () => {
  it('pages an account history newest first with an opaque cursor', async () => {
    const alice = await openWallet(ledger.client);
    const shop = await openWallet(ledger.client);
    await fund(ledger.client, alice, 10_000);
    for (let i = 1; i <= 24; i += 1) await ledger.client.transfer(payment(alice, shop, i));

    const seen: string[] = [];
    const pageSizes: number[] = [];
    let pageToken = '';
    do {
      const page = await ledger.client.listEntries({ accountId: alice, pageSize: 10, pageToken });
      pageSizes.push(page.entries.length);
      seen.push(...page.entries.map((e) => e.amount));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');

    assert.deepEqual(pageSizes, [10, 10, 5]);
    assert.deepEqual(seen, [...Array.from({ length: 24 }, (_, i) => String(-(24 - i))), '10000']);
    assert.equal((await ledger.client.listEntries({ accountId: alice })).entries.length, 20);
  });

  it('refuses a page size over 100 or a foreign cursor, and an unknown account', async () => {
    const alice = await openWallet(ledger.client);
    const bob = await openWallet(ledger.client);
    const shop = await openWallet(ledger.client);
    await fund(ledger.client, alice, 100);
    await ledger.client.transfer(payment(alice, shop, 1));
    const { nextPageToken } = await ledger.client.listEntries({ accountId: alice, pageSize: 1 });
    assert.notEqual(nextPageToken, '');
    assert.equal(
      (await domainErrorOf(ledger.client.listEntries({ accountId: alice, pageSize: 101 }))).code,
      'invalid_request',
    );
    assert.equal(
      (await domainErrorOf(ledger.client.listEntries({ accountId: bob, pageToken: nextPageToken }))).code,
      'invalid_request',
    );
    assert.equal((await ledger.client.listEntries({ accountId: bob })).entries.length, 0);
    const unknown = await domainErrorOf(
      ledger.client.listEntries({ accountId: 'acc_eeeeeeeeeeeeeeeeeeeeeeee' }),
    );
    assert.equal(unknown.code, 'account_not_found');
  });
});

describe('the balance cache', () => {
  it('holds every touched account after a transfer, as the gateway will read it', async () => {
    const alice = await openWallet(ledger.client);
    const shop = await openWallet(ledger.client);
    await fund(ledger.client, alice, 1_000);
    const answer = await ledger.client.transfer(payment(alice, shop, 250));
    for (const balance of answer.balances) {
      await eventually(async () => {
        const cached = parseCachedBalance(await ledger.redis.get(balanceCacheKey(balance.accountId)));
        assert.deepEqual(cached && [cached.accountId, cached.currency, cached.available, cached.version], [
          balance.accountId,
          'JPY',
          balance.available,
          balance.version,
        ]);
      });
    }
    const ttl = await ledger.redis.ttl(balanceCacheKey(alice));
    assert.ok(ttl > 0 && ttl <= 300, `ttl ${ttl}`);
  });

  it('never goes back to an older version', async () => {
    const alice = await openWallet(ledger.client);
    await fund(ledger.client, alice, 1_000);
    const key = balanceCacheKey(alice);
    await eventually(async () => assert.equal(parseCachedBalance(await ledger.redis.get(key))?.version, '1'));
    const newer = JSON.stringify({
      accountId: alice,
      currency: 'JPY',
      available: '7',
      version: '99',
      asOf: new Date().toISOString(),
    });
    await ledger.redis.set(key, newer);
    await fund(ledger.client, alice, 1);
    await ledger.client.getBalance({ accountId: alice });
    // Give the ledger's writes time to land; the cache must still hold version 99.
    await eventually(async () => {
      const { balance } = await ledger.client.getBalance({ accountId: alice });
      assert.equal(balance?.version, '2');
    });
    assert.equal(parseCachedBalance(await ledger.redis.get(key))?.version, '99');
  });
});
