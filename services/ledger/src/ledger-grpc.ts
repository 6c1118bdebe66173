// The LedgerService as served: every RPC's handler, and the one exhaustive map from the ledger's
// domain error codes to gRPC statuses.
import {
  GrpcStatus,
  GrpcStatusError,
  guardDatabaseUnavailable,
  type GrpcServerOptions,
} from '@koban/platform';
import { accountHandlers } from './accounts/account-grpc.js';
import type { AccountService } from './accounts/account-service.js';
import type { LedgerErrorCode } from './ledger-error.js';
import type { LedgerHandlers } from './ledger-proto.js';
import { transferHandlers } from './transfers/transfer-grpc.js';
import type { TransferService } from './transfers/transfer-service.js';

const { INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, UNAVAILABLE } = GrpcStatus;

/** The gRPC status of each ledger domain error (proto/README.md, "Domain errors"). */
export const ledgerErrorStatus: GrpcServerOptions<LedgerErrorCode>['domainErrorStatus'] = {
  invalid_request: INVALID_ARGUMENT,
  not_found: NOT_FOUND,
  account_not_found: NOT_FOUND,
  currency_mismatch: INVALID_ARGUMENT,
  insufficient_funds: FAILED_PRECONDITION,
  transfer_id_reused: ALREADY_EXISTS,
};

export interface LedgerHandlerDeps {
  accounts: AccountService;
  transfers: TransferService;
}

/** The handlers of every LedgerService RPC. */
export function createLedgerHandlers(deps: LedgerHandlerDeps): LedgerHandlers {
  const accounts = accountHandlers(deps.accounts);
  const transfers = transferHandlers(deps.transfers);
  // An unreachable database answers UNAVAILABLE (retry later; a Transfer retried with its id is
  // applied at most once), not INTERNAL: the caller's breaker and fallback act on it.
  const guard = guardDatabaseUnavailable(
    () => new GrpcStatusError(UNAVAILABLE, 'the ledger database is unavailable'),
  );
  return {
    OpenAccount: guard(accounts.OpenAccount),
    GetAccount: guard(accounts.GetAccount),
    LookupAccount: guard(accounts.LookupAccount),
    GetBalance: guard(accounts.GetBalance),
    GetBalances: guard(accounts.GetBalances),
    Transfer: guard(transfers.Transfer),
    GetTransfer: guard(transfers.GetTransfer),
    ListEntries: guard(transfers.ListEntries),
  };
}
