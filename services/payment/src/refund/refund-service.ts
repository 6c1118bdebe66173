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
import type { CampaignPort } from '../downstream/campaign-port.js';
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
  canSeeRefund,
  clawbackOwed,
  newRefundId,
  refundAmount,
  refundTransferId,
  type Refund,
  type RefundCommand,
  type RefundStatus,
} from './refund.js';
import type { RefundStore } from './refund-store.js';

export interface RefundService {
  /** Refunds part or all of a completed payment to its payer, at most once per idempotency key. */
  createRefund(command: RefundCommand): Promise<IdempotentOutcome<Refund>>;
  /** A refund its payment's payee or payer asks for; `callerId` undefined skips the ownership check. */
  getRefund(refundId: string, callerId: string | undefined): Promise<Refund>;
  /** One sweep over stuck PENDING refunds; answers how many it looked at. */
  recoverStuck(limit: number): Promise<number>;
}

export interface RefundServiceDeps {
  db: Pick<Db, 'transaction'>;
  store: RefundStore;
  idempotency: IdempotencyService;
  ledger: LedgerPort;
  /** Clawback of the cashback granted on the refunded share. */
  campaign: CampaignPort;
  /** The CreateRefundResponse a replay answers, encoded (built by the gRPC layer). */
  encodeResponse: (refund: Refund) => Buffer;
  timings: RecoveryTimings;
  now: () => Date;
  logger: Logger;
}

/** The PaymentRefunded outbox row: topic payments.v1, keyed by the payer's wallet account. */
function refundedEvent(
  refund: Refund,
  totals: { paymentAmount: number; totalRefunded: number },
): OutboxEvent {
  const eventId = randomUUID();
  const refundedAt = refund.finishedAt ?? refund.createdAt;
  const envelope = buildEnvelope(
    'paymentRefunded',
    {
      refundId: refund.refundId,
      paymentId: refund.paymentId,
      payerUserId: refund.payerUserId,
      payerAccountId: refund.payerAccountId,
      merchantId: refund.merchantId,
      merchantAccountId: refund.merchantAccountId,
      amount: String(refund.amount),
      currency: refund.currency,
      paymentAmount: String(totals.paymentAmount),
      totalRefundedAmount: String(totals.totalRefunded),
      ledgerTransferId: refund.ledgerTransferId,
      refundedAt: toTimestamp(refundedAt),
    },
    { key: refund.payerAccountId, producer: 'payment', eventId, occurredAt: refundedAt },
  );
  return {
    eventId,
    topic: eventTopics.paymentRefunded,
    key: refund.payerAccountId,
    eventType: 'PaymentRefunded',
    payload: encodeEnvelope(envelope),
    traceparent: refund.trace?.traceparent,
    tracestate: refund.trace?.tracestate ?? undefined,
  };
}

export function createRefundService(deps: RefundServiceDeps): RefundService {
  const logger = deps.logger.child({ component: 'refunds' });
  const { store, ledger, timings } = deps;

  /**
   * Records a final state, PaymentRefunded (a completion: with the payment's totals after it,
   * read under the payment's lock) and the key's stored response in one transaction; then, for a
   * completion that may owe cashback back, asks for the clawback.
   */
  async function finish(refund: Refund, status: Exclude<RefundStatus, 'PENDING'>): Promise<Refund> {
    const finished: Refund = {
      ...refund,
      status,
      clawbackStatus: status === 'COMPLETED' ? refund.clawbackStatus : 'NONE',
      finishedAt: deps.now(),
    };
    const totals = await deps.db.transaction(
      async (conn) => {
        const after = await store.finish(conn, finished);
        if (after === undefined) return undefined;
        if (status === 'COMPLETED') await enqueueOutboxEvent(conn, refundedEvent(finished, after));
        await deps.idempotency.complete(
          conn,
          finished.idempotency,
          finished.refundId,
          deps.encodeResponse(finished),
        );
        return after;
      },
      { label: 'refund.finish' },
    );
    if (totals === undefined) return (await store.find(refund.refundId)) ?? finished;
    logger.info(
      { refundId: finished.refundId, paymentId: finished.paymentId, status, amount: finished.amount },
      'refund finished',
    );
    return finished.clawbackStatus === 'DEFERRED' ? clawBack(finished, totals) : finished;
  }

  /**
   * Asks campaign-promo to take back the points granted on the refunded share (idempotent by
   * refund id), within its budget. Answered → the points are recorded on the refund and in the
   * key's stored response (the answer the client gets). Not answered → the clawback stays
   * DEFERRED: the PaymentRefunded event written with the completion carries everything
   * campaign-promo needs to do it later, exactly once.
   */
  async function clawBack(
    refund: Refund,
    totals: { paymentAmount: number; totalRefunded: number },
  ): Promise<Refund> {
    const outcome = await deps.campaign.clawbackCashback({
      refundId: refund.refundId,
      paymentId: refund.paymentId,
      paymentAmount: totals.paymentAmount,
      totalRefunded: totals.totalRefunded,
    });
    if (outcome.kind === 'deferred') return refund;
    const clawed: Refund = { ...refund, clawbackStatus: 'CLAWED_BACK', clawedBackPoints: outcome.points };
    try {
      await deps.db.transaction(
        async (conn) => {
          await store.recordClawback(conn, clawed);
          await deps.idempotency.complete(
            conn,
            clawed.idempotency,
            clawed.refundId,
            deps.encodeResponse(clawed),
          );
        },
        { label: 'refund.clawback' },
      );
    } catch (error) {
      // The refund is complete and the clawback done at campaign-promo; only our note of it is
      // missing. The client is answered what is recorded, as a replay would be.
      logger.warn({ err: error, refundId: refund.refundId }, 'could not record a clawback');
      return refund;
    }
    logger.info(
      { refundId: refund.refundId, paymentId: refund.paymentId, points: outcome.points },
      'cashback clawed back',
    );
    return clawed;
  }

  async function transfer(refund: Refund, options: { noteAttempt: boolean }): Promise<Refund> {
    if (options.noteAttempt) await store.noteTransferAttempt(refund.refundId, deps.now());
    const outcome = await ledger.transfer({
      transferId: refund.ledgerTransferId,
      kind: 'TRANSFER_KIND_REFUND',
      referenceId: refund.refundId,
      fromAccountId: refund.merchantAccountId,
      toAccountId: refund.payerAccountId,
      amount: refund.amount,
      description: `refund of ${refund.paymentId}`,
    });
    switch (outcome.kind) {
      case 'applied':
        return finish(refund, 'COMPLETED');
      case 'insufficient_funds':
        logger.info({ refundId: refund.refundId }, 'merchant cannot cover the refund');
        return finish(refund, 'FAILED');
      case 'rejected':
        logger.error(
          { refundId: refund.refundId, code: outcome.code, reason: outcome.message },
          'ledger rejected a refund transfer',
        );
        return finish(refund, 'FAILED');
      case 'unavailable':
        // The answer is unknown: the refund stays PENDING and is driven on with the same
        // transfer id by a retry under the same key, or by the sweeper.
        logger.warn(
          { refundId: refund.refundId, err: outcome.error },
          'ledger did not answer; refund stays PENDING',
        );
        throw serviceUnavailable(outcome.error);
    }
  }

  function recover(refund: Refund): Promise<Refund> {
    if (refund.status !== 'PENDING') return Promise.resolve(refund);
    return recoverPending(refund, deps, {
      complete: () => finish(refund, 'COMPLETED'),
      retryTransfer: () => transfer(refund, { noteAttempt: true }),
      fail: () => {
        logger.warn({ refundId: refund.refundId }, 'abandoning a refund the ledger never applied');
        return finish(refund, 'FAILED');
      },
    });
  }

  async function start(command: RefundCommand, reservation: Reservation): Promise<Refund> {
    const refund = await deps.db.transaction(
      async (conn) => {
        // The lock serialises refunds of one payment: the sum reserved never exceeds the amount.
        const payment = await store.lockPayment(conn, command.paymentId);
        if (payment === undefined || payment.merchantId !== command.scope.callerId) throw notFound('payment');
        const amount = refundAmount(payment, command.amount);
        const refundId = newRefundId();
        const now = deps.now();
        const created: Refund = {
          refundId,
          paymentId: payment.paymentId,
          idempotency: command.scope,
          merchantId: payment.merchantId,
          merchantAccountId: payment.merchantAccountId,
          payerUserId: payment.payerUserId,
          payerAccountId: payment.payerAccountId,
          amount,
          currency: CURRENCY,
          status: 'PENDING',
          ledgerTransferId: refundTransferId(refundId),
          clawbackStatus: clawbackOwed(payment.cashbackStatus),
          clawedBackPoints: 0,
          trace: command.trace,
          createdAt: now,
          finishedAt: null,
          lastTransferAt: now,
        };
        await reservation.bind(conn, refundId);
        await store.insert(conn, created, new Date(now.getTime() + timings.minAgeMs));
        return created;
      },
      { label: 'refund.create' },
    );
    return transfer(refund, { noteAttempt: false });
  }

  return {
    createRefund(command) {
      return deps.idempotency.run(
        { operation: 'CreateRefund', scope: command.scope, requestHash: command.requestHash },
        {
          start: (reservation) => start(command, reservation),
          async resume(refundId) {
            const refund = await store.find(refundId);
            if (refund === undefined) throw inProgressError();
            return recover(refund);
          },
        },
      );
    },

    async getRefund(refundId, callerId) {
      const refund = refundId === '' ? undefined : await store.find(refundId);
      if (refund === undefined || (callerId !== undefined && !canSeeRefund(refund, callerId))) {
        throw notFound('refund');
      }
      return refund;
    },

    async recoverStuck(limit) {
      const stuck = await store.claimStuck(randomUUID(), limit, SWEEP_CLAIM_HOLD_MS);
      for (const { refund, sweepAttempts } of stuck) {
        try {
          await recover(refund);
        } catch (error) {
          const delayMs = sweepBackoffMs(sweepAttempts, timings.sweepBackoffBaseMs);
          await store.postpone(refund.refundId, delayMs);
          logger.debug({ err: error, refundId: refund.refundId, delayMs }, 'stuck refund still pending');
        }
      }
      return stuck.length;
    },
  };
}
