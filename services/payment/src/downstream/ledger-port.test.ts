import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError, GrpcCallError } from '@koban/platform';
import { createLedgerPort, type LedgerClient } from './ledger-port.js';

const unused = () => Promise.reject(new Error('unused'));

function ledgerClient(overrides: Partial<LedgerClient>): LedgerClient {
  return {
    openAccount: unused,
    getAccount: unused,
    lookupAccount: unused,
    transfer: unused,
    getTransfer: unused,
    getBalance: unused,
    getBalances: unused,
    listEntries: unused,
    close: () => undefined,
    ...overrides,
  };
}

const transfer = {
  transferId: 'pay_pmt_1',
  kind: 'TRANSFER_KIND_PAYMENT' as const,
  referenceId: 'pmt_1',
  fromAccountId: 'acc_a',
  toAccountId: 'acc_b',
  amount: 100,
  description: '',
};

void describe('ledger port', () => {
  void it('tells a business refusal from an unknown outcome', async () => {
    const outcomeOf = (error: Error) =>
      createLedgerPort(ledgerClient({ transfer: () => Promise.reject(error) })).transfer(transfer);
    assert.deepEqual(await outcomeOf(new DomainError('insufficient_funds', 'no')), {
      kind: 'insufficient_funds',
    });
    assert.deepEqual(await outcomeOf(new DomainError('transfer_id_reused', 'other postings')), {
      kind: 'rejected',
      code: 'transfer_id_reused',
      message: 'other postings',
    });
    for (const error of [
      new GrpcCallError(14, '/koban.ledger.v1.LedgerService/Transfer', 'down'),
      new GrpcCallError(4, '/koban.ledger.v1.LedgerService/Transfer', 'deadline'),
      new DomainError('service_unavailable', 'ledger database down'),
      new Error('breaker open'),
    ]) {
      assert.equal((await outcomeOf(error)).kind, 'unavailable');
    }
  });

  void it('sends one JPY posting with the amount as an int64 string', async () => {
    let sent: unknown;
    const port = createLedgerPort(
      ledgerClient({
        transfer: (request) => {
          sent = request;
          return Promise.resolve({ transfer: null, replayed: false, balances: [] });
        },
      }),
    );
    assert.deepEqual(await port.transfer(transfer), { kind: 'applied' });
    assert.deepEqual(sent, {
      transferId: 'pay_pmt_1',
      kind: 'TRANSFER_KIND_PAYMENT',
      referenceId: 'pmt_1',
      description: '',
      postings: [{ fromAccountId: 'acc_a', toAccountId: 'acc_b', amount: '100', currency: 'JPY' }],
    });
  });

  void it('reads a missing account or transfer as absent, and a failure as service_unavailable', async () => {
    const missing = createLedgerPort(
      ledgerClient({
        lookupAccount: () =>
          Promise.reject(new DomainError('account_not_found', 'none', undefined, { status: 5 })),
        getTransfer: () => Promise.reject(new DomainError('not_found', 'none', undefined, { status: 5 })),
      }),
    );
    assert.equal(await missing.findWallet('usr_1'), undefined);
    assert.equal(await missing.transferApplied('pay_1'), false);

    const down = createLedgerPort(
      ledgerClient({
        lookupAccount: () => Promise.reject(new GrpcCallError(14, 'x', 'down')),
        getTransfer: () => Promise.reject(new GrpcCallError(14, 'x', 'down')),
      }),
    );
    await assert.rejects(down.findMerchantAccount('mch_1'), { code: 'service_unavailable' });
    await assert.rejects(down.transferApplied('pay_1'), { code: 'service_unavailable' });
  });

  void it('finds a points account in POINTS, and remembers a settlement account once found', async () => {
    const lookups: unknown[] = [];
    const port = createLedgerPort(
      ledgerClient({
        lookupAccount: (request) => {
          lookups.push(request);
          return Promise.resolve({
            account: {
              accountId: `acc_${request.ownerId ?? ''}`,
              ownerType: 'OWNER_TYPE_USER',
              ownerId: request.ownerId ?? '',
              kind: 'ACCOUNT_KIND_WALLET',
              currency: 'JPY',
              overdraftAllowed: false,
              createdAt: null,
            },
          });
        },
      }),
    );
    assert.equal(await port.findPointsAccount('usr_1'), 'acc_usr_1');
    assert.equal(await port.findSettlementAccount('card-settlement'), 'acc_card-settlement');
    assert.equal(await port.findSettlementAccount('card-settlement'), 'acc_card-settlement');
    assert.deepEqual(lookups, [
      { ownerType: 'OWNER_TYPE_USER', ownerId: 'usr_1', kind: 'ACCOUNT_KIND_POINTS', currency: 'POINTS' },
      {
        ownerType: 'OWNER_TYPE_SYSTEM',
        ownerId: 'card-settlement',
        kind: 'ACCOUNT_KIND_SETTLEMENT',
        currency: 'JPY',
      },
    ]);
  });
});
