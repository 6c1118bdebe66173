import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from '@koban/platform';
import {
  availableOf,
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
  await ledger.close();
});

function payment(from: string, to: string, amount: number, transferId = uniqueId('trf')): TransferRequest {
  return {
    transferId,
    kind: 'TRANSFER_KIND_PAYMENT',
    referenceId: `ref_${transferId}`,
    postings: [{ fromAccountId: from, toAccountId: to, amount, currency: 'JPY' }],
  };
}

// A type guard rather than a bare instanceof, which would narrow to DomainError<any>.
const isDomainError = (error: unknown): error is DomainError => error instanceof DomainError;

/** What each call ended with: 'applied', 'replayed' or the domain error code. */
async function outcomes(calls: Array<Promise<{ replayed: boolean }>>): Promise<string[]> {
  const settled = await Promise.allSettled(calls);
  return settled.map((result) => {
    if (result.status === 'fulfilled') return result.value.replayed ? 'replayed' : 'applied';
    const reason: unknown = result.reason;
    if (isDomainError(reason)) return reason.code;
    throw reason;
  });
}

function count(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

describe('under concurrency', () => {
  it('applies 50 concurrent identical transfers once and replays the other 49', async () => {
    const alice = await openWallet(ledger.client);
    const shop = await openWallet(ledger.client);
    await fund(ledger.client, alice, 100);
    const request = payment(alice, shop, 100);

    const results = await outcomes(Array.from({ length: 50 }, () => ledger.client.transfer(request)));

    assert.deepEqual(count(results), { applied: 1, replayed: 49 });
    assert.equal(await availableOf(ledger.client, alice), '0');
    assert.equal(await availableOf(ledger.client, shop), '100');
    assert.equal((await ledger.client.listEntries({ accountId: shop })).entries.length, 1);
    assert.deepEqual(await invariantViolations(ledger.db), []);
  });

  it('lets exactly 10 of 40 concurrent ¥100 debits from ¥1,000 through and ends at 0', async () => {
    const alice = await openWallet(ledger.client);
    const shop = await openWallet(ledger.client);
    await fund(ledger.client, alice, 1_000);

    const results = await outcomes(
      Array.from({ length: 40 }, () => ledger.client.transfer(payment(alice, shop, 100))),
    );

    assert.deepEqual(count(results), { applied: 10, insufficient_funds: 30 });
    assert.equal(await availableOf(ledger.client, alice), '0');
    assert.equal(await availableOf(ledger.client, shop), '1000');
    assert.deepEqual(await invariantViolations(ledger.db), []);
  });

  it('completes concurrent transfers in opposite directions between two accounts without deadlock failures', async () => {
    const alice = await openWallet(ledger.client);
    const bob = await openWallet(ledger.client);
    await fund(ledger.client, alice, 1_000);
    await fund(ledger.client, bob, 1_000);

    const calls = Array.from({ length: 60 }, (_, i) =>
      i % 2 === 0
        ? ledger.client.transfer(payment(alice, bob, 10))
        : ledger.client.transfer(payment(bob, alice, 10)),
    );
    const results = await outcomes(calls);

    assert.deepEqual(count(results), { applied: 60 });
    assert.equal(await availableOf(ledger.client, alice), '1000');
    assert.equal(await availableOf(ledger.client, bob), '1000');
    // One entry for the funding, then one per transfer on each side.
    const { balances } = await ledger.client.getBalances({ accountIds: [alice, bob] });
    assert.deepEqual(
      balances.map((b) => b.version),
      ['61', '61'],
    );
    assert.deepEqual(await invariantViolations(ledger.db), []);
  });

  it('keeps every invariant through a mixed load of payments, replays and refusals', async () => {
    const wallets = await Promise.all(Array.from({ length: 6 }, () => openWallet(ledger.client)));
    await Promise.all(wallets.map((wallet) => fund(ledger.client, wallet, 500)));
    // 30 transfers around a ring of wallets, each sent four times at once.
    const requests = Array.from({ length: 30 }, (_, i) =>
      payment(wallets[i % 6] ?? '', wallets[(i + 1) % 6] ?? '', 40 + 10 * i),
    );
    const calls = requests.flatMap((request) =>
      Array.from({ length: 4 }, () => ledger.client.transfer(request)),
    );
    const results = await outcomes(calls);

    for (const [index, request] of requests.entries()) {
      const mine = results.slice(index * 4, index * 4 + 4);
      const applied = mine.filter((result) => result === 'applied').length;
      assert.ok(applied <= 1, `${request.transferId} applied ${applied} times`);
      const recorded = await ledger.client.getTransfer({ transferId: request.transferId }).then(
        () => true,
        () => false,
      );
      assert.equal(recorded, applied === 1, `${request.transferId}: ${mine.join(', ')}`);
      if (!recorded) assert.deepEqual(new Set(mine), new Set(['insufficient_funds']));
    }
    const { balances } = await ledger.client.getBalances({ accountIds: wallets });
    assert.equal(
      balances.reduce((sum, b) => sum + BigInt(b.available), 0n),
      3_000n,
    );
    assert.deepEqual(await invariantViolations(ledger.db), []);
  });
});
