import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError, GrpcCallError } from '@koban/platform';
import { chargeRefusalError, createBankPort, type BankClient, type ChargeRequest } from './bank-port.js';

const unused = () => Promise.reject(new Error('unused'));

function bankClient(overrides: Partial<BankClient>): BankClient {
  return {
    linkBankAccount: unused,
    getBankAccount: unused,
    listBankAccounts: unused,
    registerCard: unused,
    getCard: unused,
    listCards: unused,
    createCharge: unused,
    getCharge: unused,
    refundCharge: unused,
    close: () => undefined,
    ...overrides,
  };
}

const request: ChargeRequest = {
  chargeId: 'topup_top_1',
  userId: 'usr_1',
  amount: 5_000,
  source: { kind: 'bank_account', bankAccountId: 'ba_1' },
  purpose: 'TOPUP',
  clientIp: '203.0.113.1',
};

const charge = (status: string, declineReason = 'CHARGE_DECLINE_REASON_UNSPECIFIED') => ({
  chargeId: 'topup_top_1',
  status,
  declineReason,
  userId: 'usr_1',
  amount: '5000',
  currency: 'JPY',
  source: 'bankAccountId' as const,
  bankAccountId: 'ba_1',
  purpose: 'CHARGE_PURPOSE_TOPUP',
  authorizationCode: '',
  refundedAmount: '0',
  createdAt: null,
});

void describe('bank port', () => {
  void it('sends the charge with its source, purpose and amount, a single attempt unless told to retry', async () => {
    const sent: unknown[] = [];
    const port = createBankPort(
      bankClient({
        createCharge: (req, options) => {
          sent.push([req, options?.idempotent]);
          return Promise.resolve({ charge: charge('CHARGE_STATUS_APPROVED') as never, replayed: false });
        },
      }),
    );
    assert.deepEqual(await port.createCharge(request, { retry: false }), { kind: 'approved' });
    await port.createCharge(
      { ...request, source: { kind: 'card', cardId: 'card_1' }, purpose: 'PAYMENT' },
      { retry: true },
    );
    assert.deepEqual(sent, [
      [
        {
          chargeId: 'topup_top_1',
          userId: 'usr_1',
          amount: '5000',
          currency: 'JPY',
          source: 'bankAccountId',
          bankAccountId: 'ba_1',
          purpose: 'CHARGE_PURPOSE_TOPUP',
          clientIp: '203.0.113.1',
        },
        false,
      ],
      [
        {
          chargeId: 'topup_top_1',
          userId: 'usr_1',
          amount: '5000',
          currency: 'JPY',
          source: 'cardId',
          cardId: 'card_1',
          purpose: 'CHARGE_PURPOSE_PAYMENT',
          clientIp: '203.0.113.1',
        },
        true,
      ],
    ]);
  });

  void it('tells a recorded decline, a refusal before charging and an unknown outcome apart', async () => {
    const outcomeOf = (answer: () => Promise<never>) =>
      createBankPort(bankClient({ createCharge: answer })).createCharge(request, { retry: false });
    assert.deepEqual(
      await outcomeOf(() =>
        Promise.resolve({
          charge: charge('CHARGE_STATUS_DECLINED', 'CHARGE_DECLINE_REASON_BANK_DECLINED'),
        } as never),
      ),
      { kind: 'declined', reason: 'BANK_DECLINED' },
    );
    assert.deepEqual(
      await outcomeOf(() => Promise.resolve({ charge: charge('CHARGE_STATUS_PENDING') } as never)),
      {
        kind: 'pending',
      },
    );
    const locked = new DomainError('account_locked', 'locked');
    assert.deepEqual(await outcomeOf(() => Promise.reject(locked)), { kind: 'refused', error: locked });
    for (const failure of [
      new GrpcCallError(14, '/m', 'down'),
      new DomainError('service_unavailable', 'db down'),
      new Error('breaker open'),
    ]) {
      assert.equal((await outcomeOf(() => Promise.reject(failure))).kind, 'unavailable');
    }
  });

  void it('finds no charge under an unknown id, and cannot say while bank-integration is down', async () => {
    const missing = createBankPort(
      bankClient({ getCharge: () => Promise.reject(new DomainError('not_found', 'no')) }),
    );
    assert.equal(await missing.findCharge('x'), undefined);
    const down = createBankPort(
      bankClient({ getCharge: () => Promise.reject(new GrpcCallError(14, '/m', 'down')) }),
    );
    await assert.rejects(down.findCharge('x'), { code: 'service_unavailable' });
  });

  void it('passes lockouts and card refusals through with their details, anything else as not_found or invalid_request', () => {
    const details = { lockedUntil: '2030-01-01T00:00:00.000Z', scope: 'card' };
    assert.deepEqual(
      { ...chargeRefusalError(new DomainError('account_locked', 'locked', details), 'card') },
      { ...new DomainError('account_locked', 'locked', details) },
    );
    assert.equal(
      chargeRefusalError(new DomainError('rate_limited', 'slow down'), 'card').code,
      'rate_limited',
    );
    assert.equal(chargeRefusalError(new DomainError('not_found', 'no'), 'card').code, 'not_found');
    assert.equal(chargeRefusalError(new DomainError('something_new', 'hm'), 'card').code, 'invalid_request');
  });
});
