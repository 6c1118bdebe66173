import type { DependencyPolicy } from '@koban/platform';
import type { BankAdapter, BankDirectory } from './bank-adapter.js';

/**
 * Every bank behind one resilience policy (timeout, breaker): calls are cut at the policy's
 * timeout and an outage trips one breaker. Nothing is retried inline: a charge whose answer did
 * not come stays PENDING and is asked about again with its key.
 */
export function guardBanks(banks: BankDirectory, policy: DependencyPolicy): BankDirectory {
  const once = { idempotent: false };
  return {
    bank(bankCode): BankAdapter {
      const bank = banks.bank(bankCode);
      return {
        debit: (request) => policy.execute(({ signal }) => bank.debit(request, signal), once),
        refund: (request) => policy.execute(({ signal }) => bank.refund(request, signal), once),
      };
    },
  };
}
