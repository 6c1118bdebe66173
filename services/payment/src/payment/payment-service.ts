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
import type { RiskCheck } from '../downstream/risk-check.js';
import { inProgressError } from '../idempotency/idempotency.js';
import type {
  IdempotencyService,
  IdempotentOutcome,
  Reservation,
} from '../idempotency/idempotency-service.js';
import { CURRENCY } from '../money.js';
import { invalidRequest, notFound, serviceUnavailable } from '../payment-errors.js';
import type { QrCodeService } from '../qr/qr-code-service.js';
import { recoverPending } from '../sweeper/recover-pending.js';
import { SWEEP_CLAIM_HOLD_MS, sweepBackoffMs, type RecoveryTimings } from '../sweeper/recovery.js';
import {
  canSeePayment,
  finishPayment,
  newPaymentId,
  paymentTransferId,
  type DeclineReason,
  type Payment,
  type PaymentCommand,
  type PaymentStatus,
} from './payment.js';
import type { PaymentStore, StuckPayment } from './payment-store.js';

export interface PaymentService {
  /** Pays a merchant from the payer's wallet, at most once per idempotency key. */
  createPayment(command: PaymentCommand): Promise<IdempotentOutcome<Payment>>;
  /** A payment its payer or payee asks for; `callerId` undefined skips the ownership check. */
  getPayment(paymentId: string, callerId: string | undefined): Promise<Payment>;
  /** One sweep: drives up to `limit` stuck PENDING payments forward; answers how many it looked at. */
  recoverStuck(limit: number): Promise<number>;
}

export interface PaymentServiceDeps {
  db: Pick<Db, 'transaction'>;
  store: PaymentStore;
  idempotency: IdempotencyService;
  ledger: LedgerPort;
  risk: RiskCheck;
  qrCodes: QrCodeService;
  /** The CreatePaymentResponse a replay answers, encoded (built by the gRPC layer). */
  encodeResponse: (payment: Payment) => Buffer;
  timings: RecoveryTimings;
  now: () => Date;
  logger: Logger;
}

/** The PaymentCompleted outbox row: topic payments.v1, keyed by the payer's wallet account. */
function completedEvent(payment: Payment): OutboxEvent {
  const eventId = randomUUID();
  const completedAt = payment.finishedAt ?? payment.createdAt;
  const envelope = buildEnvelope(
    'paymentCompleted',
    {
      paymentId: payment.paymentId,
      payerUserId: payment.payerUserId,
      payerAccountId: payment.payerAccountId,
      merchantId: payment.merchantId,
      merchantAccountId: payment.merchantAccountId,
      amount: String(payment.amount),
      currency: payment.currency,
      method: 'PAYMENT_METHOD_WALLET',
      cardId: '',
      ledgerTransferId: payment.ledgerTransferId,
      cashbackStatus: `CASHBACK_STATUS_${payment.cashback.status}`,
      cashbackPoints: String(payment.cashback.points),
      campaignId: '',
      qrCodeId: payment.qrCodeId ?? '',
      completedAt: toTimestamp(completedAt),
    },
    { key: payment.payerAccountId, producer: 'payment', eventId, occurredAt: completedAt },
  );
  return {
    eventId,
    topic: eventTopics.paymentCompleted,
    key: payment.payerAccountId,
    eventType: 'PaymentCompleted',
    payload: encodeEnvelope(envelope),
    traceparent: payment.trace?.traceparent,
    tracestate: payment.trace?.tracestate ?? undefined,
  };
}

export function createPaymentService(deps: PaymentServiceDeps): PaymentService {
  const logger = deps.logger.child({ component: 'payments' });
  const { store, ledger, timings } = deps;

  /**
   * Records a final state, the outbox event of a completion and the key's stored response in
   * one transaction. Only a PENDING row changes, so when two drivers race (a retry and the
   * sweeper) one writes and the other answers what it wrote.
   */
  async function finish(
    payment: Payment,
    outcome: { status: Exclude<PaymentStatus, 'PENDING'>; declineReason?: DeclineReason },
  ): Promise<Payment> {
    const finished = finishPayment(payment, outcome, deps.now());
    const won = await deps.db.transaction(
      async (conn) => {
        if (!(await store.finish(conn, finished))) return false;
        if (finished.status === 'COMPLETED') await enqueueOutboxEvent(conn, completedEvent(finished));
        await deps.idempotency.complete(
          conn,
          finished.idempotency,
          finished.paymentId,
          deps.encodeResponse(finished),
        );
        return true;
      },
      { label: 'payment.finish' },
    );
    if (!won) return (await store.find(payment.paymentId)) ?? finished;
    logger.info(
      {
        paymentId: finished.paymentId,
        status: finished.status,
        declineReason: finished.declineReason,
        amount: finished.amount,
        latencyMs: finished.finishedAt
          ? finished.finishedAt.getTime() - finished.createdAt.getTime()
          : undefined,
      },
      'payment finished',
    );
    return finished;
  }

  /** The risk decision, then the ledger transfer: the part of the flow that may run again. */
  async function decideAndTransfer(payment: Payment, options: { noteAttempt: boolean }): Promise<Payment> {
    const risk = await deps.risk.assess({
      paymentId: payment.paymentId,
      userId: payment.payerUserId,
      merchantId: payment.merchantId,
      amount: payment.amount,
      currency: payment.currency,
      clientIp: payment.clientIp,
      occurredAt: payment.createdAt,
    });
    if (!risk.allow) {
      logger.info({ paymentId: payment.paymentId, source: risk.source }, 'payment declined for risk');
      return finish(payment, { status: 'DECLINED', declineReason: 'RISK' });
    }
    if (options.noteAttempt) await store.noteTransferAttempt(payment.paymentId, deps.now());
    const outcome = await ledger.transfer({
      transferId: payment.ledgerTransferId,
      kind: 'TRANSFER_KIND_PAYMENT',
      referenceId: payment.paymentId,
      fromAccountId: payment.payerAccountId,
      toAccountId: payment.merchantAccountId,
      amount: payment.amount,
      description: `payment to ${payment.merchantId}`,
    });
    switch (outcome.kind) {
      case 'applied':
        return finish(payment, { status: 'COMPLETED' });
      case 'insufficient_funds':
        return finish(payment, { status: 'DECLINED', declineReason: 'INSUFFICIENT_FUNDS' });
      case 'rejected':
        // The ledger refused the postings themselves (an account gone, a reused transfer id):
        // nothing moved and retrying cannot help.
        logger.error(
          { paymentId: payment.paymentId, code: outcome.code, reason: outcome.message },
          'ledger rejected a payment transfer',
        );
        return finish(payment, { status: 'FAILED' });
      case 'unavailable':
        // The answer is unknown: the payment stays PENDING and is driven on with the same
        // transfer id by a retry under the same key, or by the sweeper.
        logger.warn(
          { paymentId: payment.paymentId, err: outcome.error },
          'ledger did not answer; payment stays PENDING',
        );
        throw serviceUnavailable(outcome.error);
    }
  }

  /**
   * Drives a PENDING payment whose first attempt did not finish (a retry under its key, or the
   * sweeper). Throws `service_unavailable` while the outcome cannot be settled yet.
   */
  async function recover(payment: Payment): Promise<Payment> {
    if (payment.status !== 'PENDING') return payment;
    return recoverPending(payment, deps, {
      complete: () => finish(payment, { status: 'COMPLETED' }),
      retryTransfer: () => decideAndTransfer(payment, { noteAttempt: true }),
      fail: () => {
        logger.warn({ paymentId: payment.paymentId }, 'abandoning a payment the ledger never applied');
        return finish(payment, { status: 'FAILED' });
      },
    });
  }

  async function resolvePayee(command: PaymentCommand) {
    if (command.payee.kind === 'qr') return deps.qrCodes.resolvePayee(command.payee.qr);
    const merchantAccountId = await ledger.findMerchantAccount(command.payee.merchantId);
    if (merchantAccountId === undefined) throw notFound('merchant');
    return { merchantId: command.payee.merchantId, merchantAccountId, amount: undefined, qrCodeId: null };
  }

  async function start(command: PaymentCommand, reservation: Reservation): Promise<Payment> {
    const [payerAccountId, payee] = await Promise.all([
      ledger.findWallet(command.payerUserId),
      resolvePayee(command),
    ]);
    if (payerAccountId === undefined) throw notFound('payer wallet');
    const amount = payee.amount ?? command.requestedAmount;
    if (amount === undefined) throw invalidRequest({ amount: 'required to pay a static QR code' });

    const paymentId = newPaymentId();
    const now = deps.now();
    const payment: Payment = {
      paymentId,
      idempotency: command.scope,
      payerUserId: command.payerUserId,
      payerAccountId,
      merchantId: payee.merchantId,
      merchantAccountId: payee.merchantAccountId,
      amount,
      currency: CURRENCY,
      method: 'WALLET',
      qrCodeId: payee.qrCodeId,
      clientIp: command.clientIp,
      status: 'PENDING',
      declineReason: null,
      ledgerTransferId: paymentTransferId(paymentId),
      refundedAmount: 0,
      cashback: { status: 'NONE', points: 0 },
      trace: command.trace,
      createdAt: now,
      finishedAt: null,
      lastTransferAt: now,
    };
    await deps.db.transaction(
      async (conn) => {
        await reservation.bind(conn, paymentId);
        await store.insert(conn, payment, new Date(now.getTime() + timings.minAgeMs));
      },
      { label: 'payment.create' },
    );
    return decideAndTransfer(payment, { noteAttempt: false });
  }

  async function sweepOne({ payment, sweepAttempts }: StuckPayment): Promise<void> {
    try {
      await recover(payment);
    } catch (error) {
      const delayMs = sweepBackoffMs(sweepAttempts, timings.sweepBackoffBaseMs);
      await store.postpone(payment.paymentId, delayMs);
      logger.debug({ err: error, paymentId: payment.paymentId, delayMs }, 'stuck payment still pending');
    }
  }

  return {
    createPayment(command) {
      return deps.idempotency.run(
        { operation: 'CreatePayment', scope: command.scope, requestHash: command.requestHash },
        {
          start: (reservation) => start(command, reservation),
          async resume(paymentId) {
            const payment = await store.find(paymentId);
            // The key and its payment are written in one transaction: one without the other is
            // a bug, and the client is told to retry rather than handed a wrong answer.
            if (payment === undefined) throw inProgressError();
            return recover(payment);
          },
        },
      );
    },

    async getPayment(paymentId, callerId) {
      const payment = paymentId === '' ? undefined : await store.find(paymentId);
      if (payment === undefined || (callerId !== undefined && !canSeePayment(payment, callerId))) {
        throw notFound('payment');
      }
      return payment;
    },

    async recoverStuck(limit) {
      const stuck = await store.claimStuck(randomUUID(), limit, SWEEP_CLAIM_HOLD_MS);
      for (const item of stuck) await sweepOne(item);
      return stuck.length;
    },
  };
}
