import { createHash } from 'node:crypto';
import {
  OutcomeMemory,
  createSimulatedCounterparty,
  type SimulationSettings,
} from '../simulation/simulated-counterparty.js';
import type { BankAdapter, BankDebitOutcome, BankDirectory, BankRefundOutcome } from './bank-adapter.js';

/** The simulated bank that declines every debit (API.md, "Simulated banks"). */
export const DECLINING_BANK_CODE = '0999';

/** A bank's reference for a key: the same in every process, so replicas agree on it. */
function referenceFor(bankCode: string, operation: string, key: string): string {
  const digest = createHash('sha256').update(`${bankCode}:${operation}:${key}`).digest('hex');
  return `${bankCode}-${digest.slice(0, 16).toUpperCase()}`;
}

/**
 * One simulated bank behind the real adapter interface: debits are approved except at bank
 * 0999, which declines them all; refunds always go through. Latency and lost answers follow the
 * settings, and outcomes are remembered per idempotency key.
 */
export function createBankSimulator(bankCode: string, settings: SimulationSettings): BankAdapter {
  const network = createSimulatedCounterparty(`bank ${bankCode}`, settings);
  const debits = new OutcomeMemory<BankDebitOutcome>(network.rememberedKeys);
  const refunds = new OutcomeMemory<BankRefundOutcome>(network.rememberedKeys);
  return {
    debit: (request) =>
      network.keyed(debits, request.idempotencyKey, () =>
        bankCode === DECLINING_BANK_CODE
          ? { outcome: 'declined', reason: 'bank_declined' }
          : { outcome: 'approved', reference: referenceFor(bankCode, 'debit', request.idempotencyKey) },
      ),
    refund: (request) =>
      network.keyed(refunds, request.idempotencyKey, () => ({
        reference: referenceFor(bankCode, 'refund', request.idempotencyKey),
      })),
  };
}

/** Every bank simulated in process: one simulator per bank code, created on first use. */
export function createSimulatedBanks(settings: SimulationSettings): BankDirectory {
  const banks = new Map<string, BankAdapter>();
  return {
    bank(bankCode) {
      let bank = banks.get(bankCode);
      if (bank === undefined) {
        bank = createBankSimulator(bankCode, settings);
        banks.set(bankCode, bank);
      }
      return bank;
    },
  };
}
