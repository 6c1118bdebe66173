import { GrpcStatus as grpcStatus, GrpcStatusError, guardDatabaseUnavailable } from '@koban/platform';
import type { BankErrorCode } from './bank-errors.js';
import { bankAccountHandlers } from './bank-accounts/bank-account-grpc.js';
import type { BankAccountService } from './bank-accounts/bank-account-service.js';
import { cardHandlers } from './cards/card-grpc.js';
import type { CardService } from './cards/card-service.js';
import { chargeHandlers } from './charges/charge-grpc.js';
import type { ChargeService } from './charges/charge-service.js';
import type { BankIntegrationHandlers } from './rpc.js';

/**
 * Every domain error of the service and the gRPC status it is answered with (the mapping
 * recommended by proto/README.md). Exhaustive: a new code does not compile until mapped here.
 */
export const bankErrorStatus = {
  invalid_request: grpcStatus.INVALID_ARGUMENT,
  not_found: grpcStatus.NOT_FOUND,
  invalid_bank_account: grpcStatus.INVALID_ARGUMENT,
  invalid_card_number: grpcStatus.INVALID_ARGUMENT,
  card_expired: grpcStatus.FAILED_PRECONDITION,
  invalid_cvc: grpcStatus.FAILED_PRECONDITION,
  card_declined: grpcStatus.FAILED_PRECONDITION,
  account_locked: grpcStatus.FAILED_PRECONDITION,
  rate_limited: grpcStatus.RESOURCE_EXHAUSTED,
  unsupported_currency: grpcStatus.INVALID_ARGUMENT,
  amount_out_of_range: grpcStatus.OUT_OF_RANGE,
  idempotency_key_reused: grpcStatus.ALREADY_EXISTS,
  refund_exceeds_payment: grpcStatus.FAILED_PRECONDITION,
  service_unavailable: grpcStatus.UNAVAILABLE,
} as const satisfies Readonly<Record<BankErrorCode, number>>;

export interface BankIntegrationFeatures {
  bankAccounts: BankAccountService;
  cards: CardService;
  charges: ChargeService;
}

/** The BankIntegrationService handlers of every feature. */
export function createBankIntegrationHandlers(features: BankIntegrationFeatures): BankIntegrationHandlers {
  const accounts = bankAccountHandlers(features.bankAccounts);
  const cards = cardHandlers(features.cards);
  const charges = chargeHandlers(features.charges);
  // An unreachable database answers UNAVAILABLE (retry later; charges and refunds are idempotent
  // by their ids), not INTERNAL: the caller's breaker and fallback act on it.
  const guard = guardDatabaseUnavailable(
    () => new GrpcStatusError(grpcStatus.UNAVAILABLE, 'the bank-integration database is unavailable'),
  );
  return {
    LinkBankAccount: guard(accounts.LinkBankAccount),
    GetBankAccount: guard(accounts.GetBankAccount),
    ListBankAccounts: guard(accounts.ListBankAccounts),
    RegisterCard: guard(cards.RegisterCard),
    GetCard: guard(cards.GetCard),
    ListCards: guard(cards.ListCards),
    CreateCharge: guard(charges.CreateCharge),
    GetCharge: guard(charges.GetCharge),
    RefundCharge: guard(charges.RefundCharge),
  };
}
