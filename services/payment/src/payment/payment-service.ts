import { randomUUID } from 'node:crypto';
import {
  PAYMENT_ID_ATTRIBUTE,
  enqueueOutboxEvent,
  tagActiveSpan,
  type Db,
  type Logger,
} from '@koban/platform';
import { chargeRefusalError, type BankPort } from '../downstream/bank-port.js';
import type { CampaignPort, DeferReason, GrantOutcome } from '../downstream/campaign-port.js';
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
import {
  SWEEP_CLAIM_HOLD_MS,
  recoveryStep,
  sweepBackoffMs,
  type RecoveryTimings,
} from '../sweeper/recovery.js';
import {
  canSeePayment,
  cardDecline,
  cashbackOf,
  finishPayment,
  newPaymentId,
  noCashback,
  paymentChargeId,
  paymentTransferId,
  refusalDecline,
  type Payment,
  type PaymentCommand,
  type PaymentOutcome,
} from './payment.js';
import { cashbackDeferredEvent, completedEvent } from './payment-events.js';
import type { PaymentMetrics } from './payment-metrics.js';
import type { PaymentStore, StuckPayment } from './payment-store.js';

export interface PaymentService {
  /** Pays a merchant from the payer's wallet or card, at most once per idempotency key. */
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
  /** Card payments: the card lookup and the charge. */
  bank: BankPort;
  /** Cashback, asked once the money moved. */
  campaign: CampaignPort;
  risk: RiskCheck;
  qrCodes: QrCodeService;
  /** The CreatePaymentResponse a replay answers, encoded (built by the gRPC layer). */
  encodeResponse: (payment: Payment) => Buffer;
  timings: RecoveryTimings;
  now: () => Date;
  logger: Logger;
  metrics: PaymentMetrics;
}

/**
 * Who is driving a payment: the request that created it (holding its key's reservation), or a
 * recovery (a retry under the same key, or the sweeper). A single charge attempt of the request
 * that bank-integration refused proves no charge exists: the payment can be forgotten. A
 * recovery cannot know that, and retries its calls.
 */
type Driver = { kind: 'request'; reservation: Reservation } | { kind: 'recovery' };
const recovery: Driver = { kind: 'recovery' };

export function createPaymentService(deps: PaymentServiceDeps): PaymentService {
  const logger = deps.logger.child({ component: 'payments' });
  const { store, ledger, bank, timings } = deps;

  /**
   * Records a final state, the outbox events of a completion (PaymentCompleted, and
   * CashbackDeferred when cashback is PENDING) and the key's stored response in one
   * transaction. Only a PENDING row changes, so when two drivers race (a retry and the sweeper)
   * one writes and the other answers what it wrote.
   */
  async function finish(
    payment: Payment,
    outcome: PaymentOutcome,
    options: { at?: Date; deferred?: DeferReason } = {},
  ): Promise<Payment> {
    const finished = finishPayment(payment, outcome, options.at ?? deps.now());
    const won = await deps.db.transaction(
      async (conn) => {
        if (!(await store.finish(conn, finished))) return false;
        if (finished.status === 'COMPLETED') {
          await enqueueOutboxEvent(conn, completedEvent(finished));
          if (finished.cashback.status === 'PENDING') {
            await enqueueOutboxEvent(conn, cashbackDeferredEvent(finished, options.deferred ?? 'error'));
          }
        }
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
    deps.metrics.finished(finished);
    logger.info(
      {
        paymentId: finished.paymentId,
        method: finished.method,
        status: finished.status,
        declineReason: finished.declineReason,
        cashback: finished.cashback.status,
        amount: finished.amount,
        latencyMs: finished.finishedAt
          ? finished.finishedAt.getTime() - finished.createdAt.getTime()
          : undefined,
      },
      'payment finished',
    );
    return finished;
  }

  /**
   * The money moved: asks campaign-promo for the cashback (within its budget, never failing),
   * then records COMPLETED with that outcome. A crash in between leaves the payment PENDING with
   * its transfer applied: recovery asks again (GrantCashback is idempotent by payment id).
   */
  async function complete(payment: Payment): Promise<Payment> {
    const paidAt = deps.now();
    const grant: GrantOutcome =
      payment.pointsAccountId === null
        ? { kind: 'none' }
        : await deps.campaign.grantCashback({
            paymentId: payment.paymentId,
            userId: payment.payerUserId,
            pointsAccountId: payment.pointsAccountId,
            merchantId: payment.merchantId,
            amount: payment.amount,
            currency: payment.currency,
            paidAt,
          });
    return finish(
      payment,
      { status: 'COMPLETED', cashback: cashbackOf(grant) },
      grant.kind === 'deferred' ? { at: paidAt, deferred: grant.reason } : { at: paidAt },
    );
  }

  /** Deletes a payment that recorded nothing after all, and frees its key (see `Reservation.forget`). */
  async function forget(payment: Payment, reservation: Reservation): Promise<void> {
    await deps.db.transaction(
      async (conn) => {
        await reservation.forget(conn, payment.paymentId);
        await store.remove(conn, payment.paymentId);
      },
      { label: 'payment.forget' },
    );
  }

  /** The ledger transfer to the merchant, from the wallet or from card-settlement. */
  async function settle(payment: Payment): Promise<Payment> {
    const outcome = await ledger.transfer({
      transferId: payment.ledgerTransferId,
      kind: 'TRANSFER_KIND_PAYMENT',
      referenceId: payment.paymentId,
      fromAccountId: payment.fundingAccountId,
      toAccountId: payment.merchantAccountId,
      amount: payment.amount,
      description: `payment to ${payment.merchantId}`,
    });
    if (outcome.kind === 'applied') return complete(payment);
    if (outcome.kind === 'unavailable') {
      // The answer is unknown: the payment stays PENDING and is driven on with the same
      // transfer id by a retry under the same key, or by the sweeper.
      logger.warn(
        { paymentId: payment.paymentId, err: outcome.error },
        'ledger did not answer; payment stays PENDING',
      );
      throw serviceUnavailable(outcome.error);
    }
    if (payment.method === 'CARD') {
      // The card was charged: the payment must not be abandoned. It stays PENDING, the sweeper
      // keeps trying, and the error is there for an operator to see.
      logger.error(
        { paymentId: payment.paymentId, outcome },
        'ledger refused to settle a charged card payment; it stays PENDING',
      );
      throw serviceUnavailable();
    }
    if (outcome.kind === 'insufficient_funds') {
      return finish(payment, { status: 'DECLINED', declineReason: 'INSUFFICIENT_FUNDS' });
    }
    // The ledger refused the postings themselves (an account gone, a reused transfer id):
    // nothing moved and retrying cannot help.
    logger.error(
      { paymentId: payment.paymentId, code: outcome.code, reason: outcome.message },
      'ledger rejected a payment transfer',
    );
    return finish(payment, { status: 'FAILED' });
  }

  /**
   * Authorises a card payment: answers the final payment when the charge ended it (declined,
   * locked out), undefined when it was approved; throws `service_unavailable` while the outcome is
   * unknown (the payment stays PENDING with its charge id).
   */
  async function charge(payment: Payment, driver: Driver): Promise<Payment | undefined> {
    const outcome = await bank.createCharge(
      {
        chargeId: payment.chargeId ?? paymentChargeId(payment.paymentId),
        userId: payment.payerUserId,
        amount: payment.amount,
        source: { kind: 'card', cardId: payment.card?.cardId ?? '' },
        purpose: 'PAYMENT',
        clientIp: payment.clientIp,
      },
      { retry: driver.kind === 'recovery' },
    );
    switch (outcome.kind) {
      case 'approved':
        return undefined;
      case 'declined':
        return finish(payment, { status: 'DECLINED', declineReason: cardDecline(outcome.reason) });
      case 'pending':
        logger.info({ paymentId: payment.paymentId }, 'issuer has not answered; payment stays PENDING');
        throw serviceUnavailable();
      case 'unavailable':
        logger.warn(
          { paymentId: payment.paymentId, err: outcome.error },
          'bank-integration did not answer; payment stays PENDING',
        );
        throw serviceUnavailable(outcome.error);
      case 'refused': {
        const declineReason = refusalDecline(outcome.error.code);
        if (declineReason !== undefined) return finish(payment, { status: 'DECLINED', declineReason });
        if (driver.kind === 'request') {
          await forget(payment, driver.reservation);
          throw chargeRefusalError(outcome.error, 'card');
        }
        logger.error(
          { paymentId: payment.paymentId, code: outcome.error.code },
          'bank-integration refused a card payment charge on recovery',
        );
        return finish(payment, { status: 'FAILED' });
      }
    }
  }

  /** The risk decision, then the charge (card) and the ledger transfer: the part that may run again. */
  async function decideAndTransfer(payment: Payment, driver: Driver): Promise<Payment> {
    const risk = await deps.risk.assess({
      paymentId: payment.paymentId,
      userId: payment.payerUserId,
      merchantId: payment.merchantId,
      amount: payment.amount,
      currency: payment.currency,
      method: payment.method,
      cardFingerprint: payment.card?.fingerprint ?? null,
      clientIp: payment.clientIp,
      occurredAt: payment.createdAt,
    });
    if (!risk.allow) {
      logger.info({ paymentId: payment.paymentId, source: risk.source }, 'payment declined for risk');
      return finish(payment, { status: 'DECLINED', declineReason: 'RISK' });
    }
    if (driver.kind === 'recovery') await store.noteTransferAttempt(payment.paymentId, deps.now());
    if (payment.method === 'CARD') {
      const ended = await charge(payment, driver);
      if (ended !== undefined) return ended;
    }
    return settle(payment);
  }

  /**
   * A PENDING card payment: transfer applied → complete; charge recorded → settle it or record
   * its decline; never charged → the recovery rule (charge again with the same id until the
   * deadline, then abandon). An approved charge is never abandoned.
   */
  async function recoverCard(payment: Payment): Promise<Payment> {
    if (await ledger.transferApplied(payment.ledgerTransferId)) return complete(payment);
    const charged = await bank.findCharge(payment.chargeId ?? paymentChargeId(payment.paymentId));
    if (charged?.kind === 'approved') return settle(payment);
    if (charged?.kind === 'declined') {
      return finish(payment, { status: 'DECLINED', declineReason: cardDecline(charged.reason) });
    }
    if (charged?.kind === 'pending') throw serviceUnavailable();
    const now = deps.now().getTime();
    const step = recoveryStep({
      transferApplied: false,
      ageMs: now - payment.createdAt.getTime(),
      sinceLastTransferMs: now - payment.lastTransferAt.getTime(),
      retryDeadlineMs: timings.retryDeadlineMs,
      failQuietMs: timings.failQuietMs,
    });
    switch (step) {
      case 'complete':
      case 'retry_transfer':
        return decideAndTransfer(payment, recovery);
      case 'fail':
        logger.warn({ paymentId: payment.paymentId }, 'abandoning a card payment that was never charged');
        return finish(payment, { status: 'FAILED' });
      case 'wait':
        throw serviceUnavailable();
    }
  }

  /**
   * Drives a PENDING payment whose first attempt did not finish (a retry under its key, or the
   * sweeper). Throws `service_unavailable` while the outcome cannot be settled yet.
   */
  async function recover(payment: Payment): Promise<Payment> {
    if (payment.status !== 'PENDING') return payment;
    if (payment.method === 'CARD') return recoverCard(payment);
    return recoverPending(payment, deps, {
      complete: () => complete(payment),
      retryTransfer: () => decideAndTransfer(payment, recovery),
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

  /** The card of a card payment (the payer's own), and the settlement account it is paid from. */
  async function resolveCard(command: PaymentCommand) {
    if (command.cardId === null) return undefined;
    const [card, settlementAccountId] = await Promise.all([
      bank.findCard(command.cardId),
      ledger.findSettlementAccount('card-settlement'),
    ]);
    if (card === undefined || card.userId !== command.payerUserId) throw notFound('card');
    if (settlementAccountId === undefined) {
      logger.error('the ledger has no card-settlement account');
      throw serviceUnavailable();
    }
    return { cardId: command.cardId, fingerprint: card.fingerprint, settlementAccountId };
  }

  async function start(command: PaymentCommand, reservation: Reservation): Promise<Payment> {
    const [payerAccountId, payee, pointsAccountId, card] = await Promise.all([
      ledger.findWallet(command.payerUserId),
      resolvePayee(command),
      ledger.findPointsAccount(command.payerUserId),
      resolveCard(command),
    ]);
    if (payerAccountId === undefined) throw notFound('payer wallet');
    const amount = payee.amount ?? command.requestedAmount;
    if (amount === undefined) throw invalidRequest({ amount: 'required to pay a static QR code' });

    const paymentId = newPaymentId();
    // From here on the request's trace is findable by the payment id, whatever happens next.
    tagActiveSpan({ [PAYMENT_ID_ATTRIBUTE]: paymentId });
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
      method: card === undefined ? 'WALLET' : 'CARD',
      card: card === undefined ? null : { cardId: card.cardId, fingerprint: card.fingerprint },
      chargeId: card === undefined ? null : paymentChargeId(paymentId),
      fundingAccountId: card?.settlementAccountId ?? payerAccountId,
      pointsAccountId: pointsAccountId ?? null,
      qrCodeId: payee.qrCodeId,
      clientIp: command.clientIp,
      status: 'PENDING',
      declineReason: null,
      ledgerTransferId: paymentTransferId(paymentId),
      refundedAmount: 0,
      cashback: noCashback,
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
    return decideAndTransfer(payment, { kind: 'request', reservation });
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
            tagActiveSpan({ [PAYMENT_ID_ATTRIBUTE]: paymentId });
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
      tagActiveSpan({ [PAYMENT_ID_ATTRIBUTE]: payment.paymentId });
      return payment;
    },

    async recoverStuck(limit) {
      const stuck = await store.claimStuck(randomUUID(), limit, SWEEP_CLAIM_HOLD_MS);
      for (const item of stuck) await sweepOne(item);
      return stuck.length;
    },
  };
}
