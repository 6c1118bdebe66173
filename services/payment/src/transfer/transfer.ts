import { randomBytes } from 'node:crypto';
import { checkScope, requestHash, type IdempotencyScope } from '../idempotency/idempotency.js';
import { checkAmount, checkCurrency, type CURRENCY } from '../money.js';
import { invalidRequest, notFound } from '../payment-errors.js';
import type { TraceContext } from '../tracing/trace-context.js';

/**
 * A P2P transfer from one user's wallet to another's:
 *
 *   PENDING ──ledger applied the transfer──▶ COMPLETED (+ TransferCompleted in the outbox)
 *      ├──ledger: insufficient funds──────▶ DECLINED (INSUFFICIENT_FUNDS)
 *      └──ledger refused it, or abandoned by the sweeper──▶ FAILED
 *
 * Its ledger transfer id (kind PEER) is `peer_<transferId>`.
 */
export type PeerTransferStatus = 'PENDING' | 'COMPLETED' | 'DECLINED' | 'FAILED';

export interface PeerTransfer {
  transferId: string;
  idempotency: IdempotencyScope;
  fromUserId: string;
  fromAccountId: string;
  toUserId: string;
  toAccountId: string;
  amount: number;
  currency: typeof CURRENCY;
  message: string;
  clientIp: string;
  status: PeerTransferStatus;
  declineReason: 'INSUFFICIENT_FUNDS' | null;
  ledgerTransferId: string;
  trace: TraceContext | null;
  createdAt: Date;
  finishedAt: Date | null;
  lastTransferAt: Date;
}

/** Longest message, in characters (Unicode code points), shown to both users. */
export const MAX_MESSAGE_LENGTH = 140;

export interface TransferCommand {
  scope: IdempotencyScope;
  requestHash: string;
  fromUserId: string;
  toUserId: string;
  amount: number;
  message: string;
  clientIp: string;
  trace: TraceContext | null;
}

export interface TransferRequest {
  idempotencyKey: string;
  callerId: string;
  fromUserId: string;
  toUserId: string;
  /** int64 as a decimal string. */
  amount: string;
  currency: string;
  message: string;
  clientIp: string;
  trace: TraceContext | null;
}

export function checkTransferRequest(request: TransferRequest): TransferCommand {
  const scope = checkScope(request.callerId, request.idempotencyKey);
  if (request.fromUserId === '') throw invalidRequest({ fromUserId: 'required' });
  // Moving someone else's money answers as if their wallet did not exist.
  if (request.fromUserId !== request.callerId) throw notFound('sender');
  if (request.toUserId === '') throw invalidRequest({ toUserId: 'required' });
  if (request.toUserId === request.fromUserId)
    throw invalidRequest({ toUserId: 'cannot transfer to yourself' });
  if ([...request.message].length > MAX_MESSAGE_LENGTH) {
    throw invalidRequest({ message: `at most ${MAX_MESSAGE_LENGTH} characters` });
  }
  checkCurrency(request.currency);
  const amount = checkAmount(request.amount);
  return {
    scope,
    requestHash: requestHash('CreateTransfer', {
      fromUserId: request.fromUserId,
      toUserId: request.toUserId,
      amount: request.amount,
      currency: request.currency,
      message: request.message,
    }),
    fromUserId: request.fromUserId,
    toUserId: request.toUserId,
    amount,
    message: request.message,
    clientIp: request.clientIp,
    trace: request.trace,
  };
}

export function newTransferId(): string {
  return `p2p_${randomBytes(12).toString('hex')}`;
}

/** The ledger transfer id of a P2P transfer: derived from it, so every attempt is the same transfer. */
export function peerLedgerTransferId(transferId: string): string {
  return `peer_${transferId}`;
}

/** Whether `callerId` may see a transfer: its sender or its recipient. */
export function canSeeTransfer(
  transfer: Pick<PeerTransfer, 'fromUserId' | 'toUserId'>,
  callerId: string,
): boolean {
  return callerId === transfer.fromUserId || callerId === transfer.toUserId;
}
