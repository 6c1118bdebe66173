import { randomUUID } from 'node:crypto';
import { enqueueOutboxEvent, toTimestamp, type Db, type Logger, type OutboxEvent } from '@koban/platform';
import {
  chargeRefusalError,
  type BankPort,
  type ChargeOutcome,
  type ChargeRequest,
} from '../downstream/bank-port.js';
import type { LedgerPort } from '../downstream/ledger-port.js';
import { inProgressError } from '../idempotency/idempotency.js';
import type {
  IdempotencyService,
  IdempotentOutcome,
  Reservation,
} from '../idempotency/idempotency-service.js';
import { CURRENCY } from '../money.js';
import { outboxEvent } from '../outbox-event.js';
import { notFound, serviceUnavailable } from '../payment-errors.js';
import {
  SWEEP_CLAIM_HOLD_MS,
  recoveryStep,
  sweepBackoffMs,
  type RecoveryTimings,
} from '../sweeper/recovery.js';
import {
  canSeeTopup,
  failureReasonText,
  finishTopup,
  newTopupId,
  refusalFailure,
  settlementAccountOf,
  topupChargeId,
  topupTransferId,
  type Topup,
  type TopupCommand,
  type TopupFailureReason,
} from './topup.js';
import type { StuckTopup, TopupStore } from './topup-store.js';

export interface TopupService {
  /** Tops up the caller's wallet from a bank account or a card, at most once per idempotency key. */
  createTopup(command: TopupCommand): Promise<IdempotentOutcome<Topup>>;
  /** A top-up its user asks for; `callerId` undefined skips the ownership check. */
  getTopup(topupId: string, callerId: string | undefined): Promise<Topup>;
  /** One pass of the retrier: drives up to `limit` PROCESSING top-ups forward; answers how many it looked at. */
  recoverStuck(limit: number): Promise<number>;
}

export interface TopupServiceDeps {
  db: Pick<Db, 'transaction'>;
  store: TopupStore;
  idempotency: IdempotencyService;
  ledger: LedgerPort;
  bank: BankPort;
  /** The CreateTopupResponse a replay answers, encoded (built by the gRPC layer). */
  encodeResponse: (topup: Topup) => Buffer;
  /** `retryDeadlineMs` is TOPUP_RETRY_DEADLINE_MS: how long a never-recorded charge is sent again. */
  timings: RecoveryTimings;
  now: () => Date;
  logger: Logger;
}

/** See payment-service.ts: the request holding its key's reservation, or a recovery. */
type Driver = { kind: 'request'; reservation: Reservation } | { kind: 'recovery' };
const recovery: Driver = { kind: 'recovery' };

const sourceOf = (topup: Topup) =>
  topup.source.kind === 'card'
    ? { source: 'cardId' as const, cardId: topup.source.cardId }
    : { source: 'bankAccountId' as const, bankAccountId: topup.source.bankAccountId };

/** TopupCompleted or TopupFailed (topic payments.v1, keyed by the wallet account). */
function finishedEvent(topup: Topup): OutboxEvent {
  const at = topup.finishedAt ?? topup.createdAt;
  const facts = { key: topup.accountId, occurredAt: at, trace: topup.trace };
  const common = {
    topupId: topup.topupId,
    userId: topup.userId,
    accountId: topup.accountId,
    amount: String(topup.amount),
    currency: topup.currency,
    ...sourceOf(topup),
  };
  if (topup.status === 'COMPLETED') {
    return outboxEvent(
      'topupCompleted',
      { ...common, ledgerTransferId: topup.ledgerTransferId, completedAt: toTimestamp(at) },
      facts,
    );
  }
  return outboxEvent(
    'topupFailed',
    {
      ...common,
      reason: failureReasonText(topup.failureReason ?? 'BANK_DECLINED'),
      failedAt: toTimestamp(at),
    },
    facts,
  );
}

export function createTopupService(deps: TopupServiceDeps): TopupService {
  const logger = deps.logger.child({ component: 'topups' });
  const { store, ledger, bank, timings } = deps;

  /**
   * Records a final state and its event in one transaction, with the key's response unless the
   * top-up was already answered (PROCESSING): that first answer is what replays repeat. Only a
   * PROCESSING row changes, so of two drivers one writes and the other answers what it wrote.
   */
  async function finish(
    topup: Topup,
    outcome: { status: 'COMPLETED' } | { status: 'FAILED'; reason: TopupFailureReason },
  ): Promise<Topup> {
    const finished = finishTopup(topup, outcome, deps.now());
    const won = await deps.db.transaction(
      async (conn) => {
        if (!(await store.finish(conn, finished))) return false;
        await enqueueOutboxEvent(conn, finishedEvent(finished));
        await deps.idempotency.completeOnce(
          conn,
          finished.idempotency,
          finished.topupId,
          deps.encodeResponse(finished),
        );
        return true;
      },
      { label: 'topup.finish' },
    );
    if (!won) return (await store.find(topup.topupId)) ?? finished;
    logger.info(
      {
        topupId: finished.topupId,
        source: finished.source.kind,
        status: finished.status,
        failureReason: finished.failureReason,
        amount: finished.amount,
      },
      'top-up finished',
    );
    return finished;
  }

  /** Records the answer given while the top-up is still PROCESSING, unless one was recorded already. */
  async function answer(topup: Topup): Promise<Topup> {
    await deps.db.transaction(
      (conn) =>
        deps.idempotency.completeOnce(conn, topup.idempotency, topup.topupId, deps.encodeResponse(topup)),
      { label: 'topup.answer' },
    );
    return topup;
  }

  /** Deletes a top-up that recorded nothing after all, and frees its key (see `Reservation.forget`). */
  async function forget(topup: Topup, reservation: Reservation): Promise<void> {
    await deps.db.transaction(
      async (conn) => {
        await reservation.forget(conn, topup.topupId);
        await store.remove(conn, topup.topupId);
      },
      { label: 'topup.forget' },
    );
  }

  /** The charge was approved: credits the wallet (same transfer id every time), then COMPLETED. */
  async function credit(topup: Topup): Promise<Topup> {
    const outcome = await ledger.transfer({
      transferId: topup.ledgerTransferId,
      kind: 'TRANSFER_KIND_TOPUP',
      referenceId: topup.topupId,
      fromAccountId: topup.settlementAccountId,
      toAccountId: topup.accountId,
      amount: topup.amount,
      description: topup.source.kind === 'card' ? 'top-up from a card' : 'top-up from a bank account',
    });
    if (outcome.kind === 'applied') return finish(topup, { status: 'COMPLETED' });
    if (outcome.kind === 'unavailable') {
      logger.warn(
        { topupId: topup.topupId, err: outcome.error },
        'ledger did not answer; top-up stays PROCESSING',
      );
    } else {
      // The money was pulled: the top-up is never abandoned. It stays PROCESSING for the
      // retrier, and the error is there for an operator to see.
      logger.error({ topupId: topup.topupId, outcome }, 'ledger refused to credit an approved top-up');
    }
    return topup;
  }

  /** Where a charge attempt leaves the top-up: finished, or still PROCESSING. */
  async function afterCharge(topup: Topup, outcome: ChargeOutcome, driver: Driver): Promise<Topup> {
    switch (outcome.kind) {
      case 'approved':
        return credit(topup);
      case 'declined':
        return finish(topup, { status: 'FAILED', reason: outcome.reason });
      case 'pending':
        return topup;
      case 'unavailable':
        logger.warn(
          { topupId: topup.topupId, err: outcome.error },
          'bank-integration did not answer; top-up stays PROCESSING',
        );
        return topup;
      case 'refused': {
        if (driver.kind === 'request') {
          // One attempt, refused before charging: nothing exists under the charge id.
          await forget(topup, driver.reservation);
          throw chargeRefusalError(outcome.error, topup.source.kind === 'card' ? 'card' : 'bank account');
        }
        const reason = refusalFailure(outcome.error.code, topup.source);
        if (reason === undefined) return topup;
        logger.warn(
          { topupId: topup.topupId, code: outcome.error.code },
          'bank-integration refused a re-sent charge',
        );
        return finish(topup, { status: 'FAILED', reason });
      }
    }
  }

  function chargeRequest(topup: Topup): ChargeRequest {
    return {
      chargeId: topup.chargeId,
      userId: topup.userId,
      amount: topup.amount,
      source: topup.source,
      purpose: 'TOPUP',
      clientIp: topup.clientIp,
    };
  }

  /**
   * Drives a PROCESSING top-up whose request did not finish it (the retrier, or a retry under
   * its key): the recorded charge decides; a charge never recorded is sent again with the same id
   * until the deadline, then the top-up fails as TIMED_OUT once no attempt can be in flight.
   * Answers it still PROCESSING while bank-integration or the ledger cannot settle it.
   */
  async function recover(topup: Topup): Promise<Topup> {
    if (topup.status !== 'PROCESSING') return topup;
    let charged;
    try {
      charged = await bank.findCharge(topup.chargeId);
    } catch (error) {
      logger.debug({ err: error, topupId: topup.topupId }, 'bank-integration cannot say yet');
      return topup;
    }
    if (charged !== undefined) return afterCharge(topup, charged, recovery);
    const now = deps.now().getTime();
    const step = recoveryStep({
      transferApplied: false,
      ageMs: now - topup.createdAt.getTime(),
      sinceLastTransferMs: now - topup.lastTransferAt.getTime(),
      retryDeadlineMs: timings.retryDeadlineMs,
      failQuietMs: timings.failQuietMs,
    });
    switch (step) {
      case 'complete':
      case 'retry_transfer':
        await store.noteTransferAttempt(topup.topupId, deps.now());
        return afterCharge(topup, await bank.createCharge(chargeRequest(topup), { retry: true }), recovery);
      case 'fail':
        logger.warn({ topupId: topup.topupId }, 'abandoning a top-up that was never charged');
        return finish(topup, { status: 'FAILED', reason: 'TIMED_OUT' });
      case 'wait':
        return topup;
    }
  }

  async function start(command: TopupCommand, reservation: Reservation): Promise<Topup> {
    const [accountId, settlementAccountId] = await Promise.all([
      ledger.findWallet(command.userId),
      ledger.findSettlementAccount(settlementAccountOf(command.source)),
    ]);
    if (accountId === undefined) throw notFound('wallet');
    if (settlementAccountId === undefined) {
      logger.error({ account: settlementAccountOf(command.source) }, 'the ledger has no settlement account');
      throw serviceUnavailable();
    }
    const topupId = newTopupId();
    const now = deps.now();
    const topup: Topup = {
      topupId,
      idempotency: command.scope,
      userId: command.userId,
      accountId,
      settlementAccountId,
      amount: command.amount,
      currency: CURRENCY,
      source: command.source,
      clientIp: command.clientIp,
      status: 'PROCESSING',
      failureReason: null,
      chargeId: topupChargeId(topupId),
      ledgerTransferId: topupTransferId(topupId),
      trace: command.trace,
      createdAt: now,
      finishedAt: null,
      lastTransferAt: now,
    };
    await deps.db.transaction(
      async (conn) => {
        await reservation.bind(conn, topupId);
        await store.insert(conn, topup, new Date(now.getTime() + timings.minAgeMs));
      },
      { label: 'topup.create' },
    );
    // One attempt within the budget: slow, failing or behind an open breaker, the top-up
    // answers PROCESSING at once and the retrier finishes it.
    const outcome = await bank.createCharge(chargeRequest(topup), { retry: false });
    const progressed = await afterCharge(topup, outcome, { kind: 'request', reservation });
    return progressed.status === 'PROCESSING' ? answer(progressed) : progressed;
  }

  async function sweepOne({ topup, sweepAttempts }: StuckTopup): Promise<void> {
    const delayMs = sweepBackoffMs(sweepAttempts, timings.sweepBackoffBaseMs);
    try {
      const progressed = await recover(topup);
      if (progressed.status !== 'PROCESSING') return;
    } catch (error) {
      logger.warn({ err: error, topupId: topup.topupId }, 'could not drive a PROCESSING top-up');
    }
    await store.postpone(topup.topupId, delayMs);
    logger.debug({ topupId: topup.topupId, delayMs }, 'top-up still processing');
  }

  return {
    createTopup(command) {
      return deps.idempotency.run(
        { operation: 'CreateTopup', scope: command.scope, requestHash: command.requestHash },
        {
          start: (reservation) => start(command, reservation),
          async resume(topupId) {
            const topup = await store.find(topupId);
            if (topup === undefined) throw inProgressError();
            return answer(await recover(topup));
          },
        },
      );
    },

    async getTopup(topupId, callerId) {
      const topup = topupId === '' ? undefined : await store.find(topupId);
      if (topup === undefined || (callerId !== undefined && !canSeeTopup(topup, callerId))) {
        throw notFound('top-up');
      }
      return topup;
    },

    async recoverStuck(limit) {
      const stuck = await store.claimStuck(randomUUID(), limit, SWEEP_CLAIM_HOLD_MS);
      for (const item of stuck) await sweepOne(item);
      return stuck.length;
    },
  };
}
