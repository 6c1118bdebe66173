import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  availableOf,
  eventually,
  fund,
  invariantViolations,
  openWallet,
  startLedger,
  uniqueId,
  type LedgerUnderTest,
} from './ledger-harness.js';

// Nothing listens on port 1: every Redis command fails at once, as during an outage.
let ledger: LedgerUnderTest;
before(async () => {
  ledger = await startLedger({ redisUrl: 'redis://127.0.0.1:1' });
});
after(async () => {
  await ledger.close();
});

describe('with Redis down', () => {
  it('still moves money and answers balances from the database, warning once about the cache', async () => {
    const alice = await openWallet(ledger.client);
    const shop = await openWallet(ledger.client);
    await fund(ledger.client, alice, 1_000);
    for (let i = 0; i < 5; i += 1) {
      const answer = await ledger.client.transfer({
        transferId: uniqueId('trf'),
        kind: 'TRANSFER_KIND_PAYMENT',
        postings: [{ fromAccountId: alice, toAccountId: shop, amount: 100, currency: 'JPY' }],
      });
      assert.equal(answer.replayed, false);
    }
    assert.equal(await availableOf(ledger.client, alice), '500');
    const { balance } = await ledger.client.getBalance({ accountId: shop });
    assert.equal(balance?.stale, false);
    assert.equal(balance?.available, '500');

    const warnings = ledger.logs.filter(
      (line) => line.component === 'balance-cache' && line.level === 'warn',
    );
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.deepEqual(await invariantViolations(ledger.db), []);
  });

  it('opens the ledger→redis breaker, so cache writes stop waiting on Redis', async () => {
    const alice = await openWallet(ledger.client);
    for (let i = 0; i < 5; i += 1) await fund(ledger.client, alice, 100);
    await eventually(() => {
      const opened = ledger.logs.find(
        (line) => line.component === 'resilience' && line.msg === 'circuit breaker opened',
      );
      assert.equal(opened?.['breaker'], 'ledger→redis');
    });
    assert.equal(await availableOf(ledger.client, alice), '500');
  });
});
