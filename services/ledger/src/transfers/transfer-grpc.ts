// Transfers over gRPC: proto messages ↔ domain, for Transfer, GetTransfer and ListEntries.
import { toTimestamp } from '@koban/platform';
import { toBalanceMessage } from '../accounts/account-grpc.js';
import type { EntryMessage, LedgerHandlers, TransferKindName, TransferMessage } from '../ledger-proto.js';
import { fromEnum } from '../ledger-proto.js';
import type { Entry, Transfer, TransferKind } from './transfer.js';
import type { TransferService } from './transfer-service.js';

const transferKindFromProto: Readonly<Record<TransferKindName, TransferKind | undefined>> = {
  TRANSFER_KIND_UNSPECIFIED: undefined,
  TRANSFER_KIND_PAYMENT: 'payment',
  TRANSFER_KIND_PEER: 'peer',
  TRANSFER_KIND_TOPUP: 'topup',
  TRANSFER_KIND_REFUND: 'refund',
  TRANSFER_KIND_CASHBACK: 'cashback',
  TRANSFER_KIND_CASHBACK_CLAWBACK: 'cashback_clawback',
  TRANSFER_KIND_ADJUSTMENT: 'adjustment',
};

const transferKindToProto: Readonly<Record<TransferKind, TransferKindName>> = {
  payment: 'TRANSFER_KIND_PAYMENT',
  peer: 'TRANSFER_KIND_PEER',
  topup: 'TRANSFER_KIND_TOPUP',
  refund: 'TRANSFER_KIND_REFUND',
  cashback: 'TRANSFER_KIND_CASHBACK',
  cashback_clawback: 'TRANSFER_KIND_CASHBACK_CLAWBACK',
  adjustment: 'TRANSFER_KIND_ADJUSTMENT',
};

export function toTransferMessage(transfer: Transfer): TransferMessage {
  return {
    transferId: transfer.transferId,
    kind: transferKindToProto[transfer.kind],
    referenceId: transfer.referenceId,
    postings: transfer.postings.map((posting) => ({
      fromAccountId: posting.fromAccountId,
      toAccountId: posting.toAccountId,
      amount: posting.amount.toString(),
      currency: posting.currency,
    })),
    description: transfer.description,
    createdAt: toTimestamp(transfer.createdAt),
  };
}

export function toEntryMessage(entry: Entry): EntryMessage {
  return {
    entryId: entry.entryId,
    transferId: entry.transferId,
    accountId: entry.accountId,
    counterpartyAccountId: entry.counterpartyAccountId,
    amount: entry.amount.toString(),
    currency: entry.currency,
    balanceAfter: entry.balanceAfter.toString(),
    kind: transferKindToProto[entry.kind],
    referenceId: entry.referenceId,
    description: entry.description,
    createdAt: toTimestamp(entry.createdAt),
  };
}

export function transferHandlers(
  service: TransferService,
): Pick<LedgerHandlers, 'Transfer' | 'GetTransfer' | 'ListEntries'> {
  return {
    async Transfer(request) {
      const result = await service.transfer({
        transferId: request.transferId,
        kind: fromEnum(transferKindFromProto, request.kind),
        referenceId: request.referenceId,
        postings: request.postings,
        description: request.description,
      });
      return {
        transfer: toTransferMessage(result.transfer),
        replayed: result.replayed,
        balances: result.balances.map(toBalanceMessage),
      };
    },

    async GetTransfer(request) {
      return { transfer: toTransferMessage(await service.getTransfer(request.transferId)) };
    },

    async ListEntries(request) {
      const page = await service.listEntries(request);
      return { entries: page.entries.map(toEntryMessage), nextPageToken: page.nextPageToken };
    },
  };
}
