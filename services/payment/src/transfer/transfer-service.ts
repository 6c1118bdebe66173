import { randomUUID } from 'node:crypto';
import {
  buildEnvelope,
  encodeEnvelope,
  enqueueOutboxEvent,
  eventTopics,
  toTimestamp,
  type Db,
  type Logger,
  type OutboxEvent,
} from '@koban/platform';
import type { LedgerPort } from '../downstream/ledger-port.js';
import { inProgressError } from '../idempotency/idempotency.js';
import type {
  IdempotencyService,
  IdempotentOutcome,
  Reservation,
} from '../idempotency/idempotency-service.js';
import { CURRENCY } from '../money.js';
import { notFound, serviceUnavailable } from '../payment-errors.js';
import { recoverPending } from '../sweeper/recover-pending.js';
import { SWEEP_CLAIM_HOLD_MS, sweepBackoffMs, type RecoveryTimings } from '../sweeper/recovery.js';
import {
  canSeeTransfer,
  newTransferId,
  peerLedgerTransferId,
  type PeerTransfer,
  type PeerTransferStatus,
  type TransferCommand,
} from './transfer.js';
import type { TransferStore } from './transfer-store.js';

export interface TransferService {
  /** Moves money from the caller's wallet to another user's, at most once per idempotency key. */
  createTransfer(command: TransferCommand): Promise<IdempotentOutcome<PeerTransfer>>;
  /** A transfer its sender or recipient asks for; `callerId` undefined skips the ownership check. */
  getTransfer(transferId: string, callerId: string | undefined): Promise<PeerTransfer>;
  /** One sweep over stuck PENDING transfers; answers how many it looked at. */
  recoverStuck(limit: number): Promise<number>;
}

export interface TransferServiceDeps {
  db: Pick<Db, 'transaction'>;
  store: TransferStore;
  idempotency: IdempotencyService;
  ledger: LedgerPort;
  /** The CreateTransferResponse a replay answers, encoded (built by the gRPC layer). */
  encodeResponse: (transfer: PeerTransfer) => Buffer;
  timings: RecoveryTimings;
  now: () => Date;
  logger: Logger;
}

/** The TransferCompleted outbox row: topic payments.v1, keyed by the sender's wallet account. */
function completedEvent(transfer: PeerTransfer): OutboxEvent {
  const eventId = randomUUID();
  const completedAt = transfer.finishedAt ?? transfer.createdAt;
  const envelope = buildEnvelope(
    'transferCompleted',
    {
      transferId: transfer.transferId,
      fromUserId: transfer.fromUserId,
      fromAccountId: transfer.fromAccountId,
      toUserId: transfer.toUserId,
      toAccountId: transfer.toAccountId,
      amount: String(transfer.amount),
      currency: transfer.currency,
      message: transfer.message,
      ledgerTransferId: transfer.ledgerTransferId,
      completedAt: toTimestamp(completedAt),
    },
    { key: transfer.fromAccountId, producer: 'payment', eventId, occurredAt: completedAt },
  );
  return {
    eventId,
    topic: eventTopics.transferCompleted,
    key: transfer.fromAccountId,
    eventType: 'TransferCompleted',
    payload: encodeEnvelope(envelope),
    traceparent: transfer.trace?.traceparent,
    tracestate: transfer.trace?.tracestate ?? undefined,
  };
}

export function createTransferService(deps: TransferServiceDeps): TransferService {
  const logger = deps.logger.child({ component: 'p2p-transfers' });
  const { store, ledger, timings } = deps;

  async function finish(
    transfer: PeerTransfer,
    status: Exclude<PeerTransferStatus, 'PENDING'>,
    declineReason: PeerTransfer['declineReason'] = null,
  ): Promise<PeerTransfer> {
    const finished: PeerTransfer = { ...transfer, status, declineReason, finishedAt: deps.now() };
    const won = await deps.db.transaction(
      async (conn) => {
        if (!(await store.finish(conn, finished))) return false;
        if (status === 'COMPLETED') await enqueueOutboxEvent(conn, completedEvent(finished));
        await deps.idempotency.complete(
          conn,
          finished.idempotency,
          finished.transferId,
          deps.encodeResponse(finished),
        );
        return true;
      },
      { label: 'p2p-transfer.finish' },
    );
    if (!won) return (await store.find(transfer.transferId)) ?? finished;
    logger.info(
      { transferId: finished.transferId, status, declineReason, amount: finished.amount },
      'P2P transfer finished',
    );
    return finished;
  }

  async function move(transfer: PeerTransfer, options: { noteAttempt: boolean }): Promise<PeerTransfer> {
    if (options.noteAttempt) await store.noteTransferAttempt(transfer.transferId, deps.now());
    const outcome = await ledger.transfer({
      transferId: transfer.ledgerTransferId,
      kind: 'TRANSFER_KIND_PEER',
      referenceId: transfer.transferId,
      fromAccountId: transfer.fromAccountId,
      toAccountId: transfer.toAccountId,
      amount: transfer.amount,
      description: transfer.message,
    });
    switch (outcome.kind) {
      case 'applied':
        return finish(transfer, 'COMPLETED');
      case 'insufficient_funds':
        return finish(transfer, 'DECLINED', 'INSUFFICIENT_FUNDS');
      case 'rejected':
        logger.error(
          { transferId: transfer.transferId, code: outcome.code, reason: outcome.message },
          'ledger rejected a P2P transfer',
        );
        return finish(transfer, 'FAILED');
      case 'unavailable':
        // The answer is unknown: the P2P transfer stays PENDING and is driven on with the same
        // transfer id by a retry under the same key, or by the sweeper.
        logger.warn(
          { transferId: transfer.transferId, err: outcome.error },
          'ledger did not answer; P2P transfer stays PENDING',
        );
        throw serviceUnavailable(outcome.error);
    }
  }

  function recover(transfer: PeerTransfer): Promise<PeerTransfer> {
    if (transfer.status !== 'PENDING') return Promise.resolve(transfer);
    return recoverPending(transfer, deps, {
      complete: () => finish(transfer, 'COMPLETED'),
      retryTransfer: () => move(transfer, { noteAttempt: true }),
      fail: () => {
        logger.warn(
          { transferId: transfer.transferId },
          'abandoning a P2P transfer the ledger never applied',
        );
        return finish(transfer, 'FAILED');
      },
    });
  }

  async function start(command: TransferCommand, reservation: Reservation): Promise<PeerTransfer> {
    const [fromAccountId, toAccountId] = await Promise.all([
      ledger.findWallet(command.fromUserId),
      ledger.findWallet(command.toUserId),
    ]);
    if (fromAccountId === undefined) throw notFound('sender wallet');
    if (toAccountId === undefined) throw notFound('recipient');
    const transferId = newTransferId();
    const now = deps.now();
    const transfer: PeerTransfer = {
      transferId,
      idempotency: command.scope,
      fromUserId: command.fromUserId,
      fromAccountId,
      toUserId: command.toUserId,
      toAccountId,
      amount: command.amount,
      currency: CURRENCY,
      message: command.message,
      clientIp: command.clientIp,
      status: 'PENDING',
      declineReason: null,
      ledgerTransferId: peerLedgerTransferId(transferId),
      trace: command.trace,
      createdAt: now,
      finishedAt: null,
      lastTransferAt: now,
    };
    await deps.db.transaction(
      async (conn) => {
        await reservation.bind(conn, transferId);
        await store.insert(conn, transfer, new Date(now.getTime() + timings.minAgeMs));
      },
      { label: 'p2p-transfer.create' },
    );
    return move(transfer, { noteAttempt: false });
  }

  return {
    createTransfer(command) {
      return deps.idempotency.run(
        { operation: 'CreateTransfer', scope: command.scope, requestHash: command.requestHash },
        {
          start: (reservation) => start(command, reservation),
          async resume(transferId) {
            const transfer = await store.find(transferId);
            if (transfer === undefined) throw inProgressError();
            return recover(transfer);
          },
        },
      );
    },

    async getTransfer(transferId, callerId) {
      const transfer = transferId === '' ? undefined : await store.find(transferId);
      if (transfer === undefined || (callerId !== undefined && !canSeeTransfer(transfer, callerId))) {
        throw notFound('transfer');
      }
      return transfer;
    },

    async recoverStuck(limit) {
      const stuck = await store.claimStuck(randomUUID(), limit, SWEEP_CLAIM_HOLD_MS);
      for (const { transfer, sweepAttempts } of stuck) {
        try {
          await recover(transfer);
        } catch (error) {
          const delayMs = sweepBackoffMs(sweepAttempts, timings.sweepBackoffBaseMs);
          await store.postpone(transfer.transferId, delayMs);
          logger.debug(
            { err: error, transferId: transfer.transferId, delayMs },
            'stuck P2P transfer still pending',
          );
        }
      }
      return stuck.length;
    },
  };
}
