import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CounterpartyUnavailableError } from '../simulation/simulated-counterparty.js';
import { createSimulatedBanks } from './bank-simulator.js';

const debit = (bankCode: string, key: string) => ({
  idempotencyKey: key,
  bankCode,
  accountNumber: '1234567',
  amount: 5_000,
  currency: 'JPY',
});

void describe('simulated banks', () => {
  void it('approve debits with a reference, and bank 0999 declines every debit', async () => {
    const banks = createSimulatedBanks({ latencyMs: 0, failureRate: 0 });
    const approved = await banks.bank('0001').debit(debit('0001', 'c-1'));
    assert.equal(approved.outcome, 'approved');
    assert.deepEqual(await banks.bank('0999').debit(debit('0999', 'c-2')), {
      outcome: 'declined',
      reason: 'bank_declined',
    });
  });

  void it('answer a repeated idempotency key with the original outcome', async () => {
    const banks = createSimulatedBanks({ latencyMs: 0, failureRate: 0 });
    const first = await banks.bank('0001').debit(debit('0001', 'c-same'));
    const again = await banks.bank('0001').debit({ ...debit('0001', 'c-same'), amount: 9 });
    assert.deepEqual(again, first);
  });

  void it('give one decision to concurrent calls with one key, while the first is still in flight', async () => {
    const banks = createSimulatedBanks({ latencyMs: 30, failureRate: 0 });
    const bank = banks.bank('0002');
    const answers = await Promise.all([1, 2, 3].map(() => bank.debit(debit('0002', 'c-concurrent'))));
    assert.equal(new Set(answers.map((answer) => JSON.stringify(answer))).size, 1);
  });

  void it('take the configured latency on every call', async () => {
    const banks = createSimulatedBanks({ latencyMs: 60, failureRate: 0 });
    const started = Date.now();
    await banks.bank('0003').debit(debit('0003', 'c-slow'));
    assert.ok(Date.now() - started >= 55, `answered after ${Date.now() - started} ms`);
  });

  void it('lose answers at the failure rate after deciding, so a retry with the key gets the decision', async () => {
    let lose = true;
    const banks = createSimulatedBanks({ latencyMs: 0, failureRate: 0.2, random: () => (lose ? 0.1 : 0.9) });
    await assert.rejects(banks.bank('0004').debit(debit('0004', 'c-lost')), CounterpartyUnavailableError);
    lose = false;
    const answer = await banks.bank('0004').debit(debit('0004', 'c-lost'));
    assert.equal(answer.outcome, 'approved');
  });

  void it('refund once per key', async () => {
    const banks = createSimulatedBanks({ latencyMs: 0, failureRate: 0 });
    const refund = {
      idempotencyKey: 'r-1',
      bankCode: '0001',
      accountNumber: '1234567',
      debitReference: 'x',
      amount: 100,
      currency: 'JPY',
    };
    const first = await banks.bank('0001').refund(refund);
    assert.deepEqual(await banks.bank('0001').refund(refund), first);
    assert.notDeepEqual(await banks.bank('0001').refund({ ...refund, idempotencyKey: 'r-2' }), first);
  });
});
