import { randomUUID } from 'node:crypto';
import type { Db, Logger } from '@koban/platform';
import { serviceUnavailable } from '../campaign-errors.js';
import { backoffDelayMs, type Backoff } from '../background/backoff.js';
import type { BudgetCounter } from '../budget/budget-counter.js';
import type { BudgetStore } from '../budget/budget-store.js';
import type { LedgerPort } from '../downstream/ledger-port.js';
import { cashbackClawedBackEvent, enqueueOnce } from '../events/cashback-events.js';
import type { GrantStore } from '../grants/grant-store.js';
import type { GrantService } from '../grants/grant-service.js';
import { isDuplicateKeyError, txSql, type Tx } from '../sql.js';
import { decideClawback, type Clawback, type ClawbackCommand } from './clawback.js';
import type { ClawbackStore } from './clawback-store.js';

export interface ClawbackOutcome {
  clawback: Clawback;
  /** The refund had been handled before this call. */
  replayed: boolean;
}

export interface ClawbackService {
  /**
   * Takes back the points of a refund at most once per refund id: answers the recorded clawback
   * when there is one (finishing it if needed), else records it under a lock on the grant and
   * asks the ledger. Throws `service_unavailable` when the ledger could not confirm it: the
   * clawback stays recorded and a retry (same refund) or the worker finishes it.
   */
  clawback(command: ClawbackCommand): Promise<ClawbackOutcome>;
  /**
   * Records a refund's clawback in the caller's transaction unless the refund has one (a
   * PaymentRefunded event, consumed exactly once): the worker then asks the ledger.
   */
  recordInTransaction(conn: Tx, command: ClawbackCommand): Promise<void>;
  /** Worker task: re-sends the transfers of PENDING clawbacks. */
  recoverPending(limit: number): Promise<number>;
  /** Worker task: settles clawbacks that came before their payment's grant. */
  settleAwaiting(limit: number): Promise<number>;
}

export interface ClawbackServiceDeps {
  db: Db;
  clawbacks: ClawbackStore;
  grants: Pick<GrantStore, 'find' | 'lock' | 'addClawedBack'>;
  grantService: Pick<GrantService, 'finishCredit'>;
  budgets: BudgetStore;
  counter: Pick<BudgetCounter, 'release'>;
  ledger: LedgerPort;
  cashbackTopic: string;
  recoveryMinAgeMs: number;
  recoveryBackoff: Backoff;
  /** A clawback still without a grant after this long is closed with nothing taken back. */
  awaitingGrantMaxMs: number;
  logger: Logger;
  now: () => Date;
}

const claimHoldMs = 30_000;
/** A clawback waiting for its payment's grant looks again at most this rarely. */
const awaitingBackoff: Backoff = { initialMs: 1_000, maxMs: 3_600_000 };

export function createClawbackService(deps: ClawbackServiceDeps): ClawbackService {
  const logger = deps.logger.child({ component: 'clawbacks' });
  const { clawbacks, grants } = deps;

  async function finish(clawback: Clawback): Promise<Clawback> {
    if (clawback.state !== 'PENDING') return clawback;
    const { refundId, paymentId, campaignId, ledgerTransferId } = clawback;
    let grant = await grants.find(paymentId);
    if (!grant || !campaignId || !ledgerTransferId || !grant.pointsAccountId || !grant.campaignAccountId) {
      throw new Error(`clawback ${refundId} is PENDING without a credited grant`);
    }
    // The points must have reached the user before they can be taken back.
    if (grant.ledgerState === 'PENDING') grant = await deps.grantService.finishCredit(grant, 'recovery');
    const pointsAccountId = grant.pointsAccountId as string;
    const campaignAccountId = grant.campaignAccountId as string;
    const outcome = await deps.ledger.transfer({
      transferId: ledgerTransferId,
      kind: 'TRANSFER_KIND_CASHBACK_CLAWBACK',
      referenceId: refundId,
      fromAccountId: pointsAccountId,
      toAccountId: campaignAccountId,
      points: clawback.points,
      description: `Cashback taken back for refund ${refundId}`,
    });
    if (outcome.kind === 'rejected') {
      // Typically points spent before the refund: tried again later, with backoff.
      logger.warn({ refundId, code: outcome.code, reason: outcome.message }, 'the ledger refused a clawback');
    }
    if (outcome.kind !== 'applied') {
      throw serviceUnavailable(
        'the points could not be taken back yet; they will be, and a retry with the same refund id is safe',
        outcome.kind === 'unavailable' ? outcome.error : undefined,
      );
    }
    const at = deps.now();
    const userId = grant.userId;
    const done = await deps.db.transaction(
      async (conn) => {
        if (!(await clawbacks.markDone(conn, refundId, at))) return false;
        await deps.budgets.giveBack(conn, campaignId, clawback.points);
        await enqueueOnce(
          conn,
          cashbackClawedBackEvent(deps.cashbackTopic, {
            refundId,
            paymentId,
            userId,
            pointsAccountId,
            campaignId,
            points: clawback.points,
            ledgerTransferId,
            clawedBackAt: at,
          }),
        );
        return true;
      },
      { label: 'campaign.finish-clawback' },
    );
    if (done) await deps.counter.release(campaignId, clawback.points);
    return (await clawbacks.find(refundId)) ?? { ...clawback, state: 'DONE', finishedAt: at };
  }

  async function replay(refundId: string): Promise<ClawbackOutcome | undefined> {
    const existing = await clawbacks.find(refundId);
    return existing && { clawback: await finish(existing), replayed: true };
  }

  async function postponeAfterFailure(clawback: Clawback, attempts: number, error: unknown): Promise<void> {
    const delayMs = backoffDelayMs(attempts, deps.recoveryBackoff);
    logger.warn({ err: error, refundId: clawback.refundId, attempts, delayMs }, 'clawback still failing');
    await clawbacks.postpone(clawback.refundId, delayMs);
  }

  /** Decides the clawback under a lock on the grant and records it. */
  async function record(conn: Tx, command: ClawbackCommand, at: Date, sweepableAt: Date): Promise<Clawback> {
    const grant = await grants.lock(conn, command.paymentId);
    const clawback = decideClawback(command, grant, at, at);
    await clawbacks.insert(conn, clawback, sweepableAt);
    if (clawback.points > 0) await grants.addClawedBack(conn, command.paymentId, clawback.points);
    return clawback;
  }

  return {
    async recordInTransaction(conn, command) {
      const [existing] = await txSql(conn).rows(
        'SELECT refund_id FROM cashback_clawbacks WHERE refund_id = ?',
        [command.refundId],
      );
      if (existing) return;
      const at = deps.now();
      await record(conn, command, at, at);
    },

    async clawback(command) {
      const replayed = await replay(command.refundId);
      if (replayed) return replayed;
      const at = deps.now();
      let recorded: Clawback;
      try {
        recorded = await deps.db.transaction(
          (conn) => record(conn, command, at, new Date(at.getTime() + deps.recoveryMinAgeMs)),
          { label: 'campaign.clawback' },
        );
      } catch (error) {
        if (isDuplicateKeyError(error)) {
          const stored = await replay(command.refundId);
          if (stored) return stored;
        }
        throw error;
      }
      return { clawback: await finish(recorded), replayed: false };
    },

    async recoverPending(limit) {
      const claimed = await clawbacks.claimDue('PENDING', randomUUID(), limit, claimHoldMs);
      for (const { clawback, attempts } of claimed) {
        try {
          await finish(clawback);
        } catch (error) {
          await postponeAfterFailure(clawback, attempts, error);
        }
      }
      return claimed.length;
    },

    async settleAwaiting(limit) {
      const claimed = await clawbacks.claimDue('AWAITING_GRANT', randomUUID(), limit, claimHoldMs);
      for (const { clawback, attempts } of claimed) {
        try {
          const at = deps.now();
          const giveUp = at.getTime() - clawback.createdAt.getTime() > deps.awaitingGrantMaxMs;
          const settled = await deps.db.transaction(
            async (conn) => {
              const grant = await grants.lock(conn, clawback.paymentId);
              if (!grant && !giveUp) return undefined;
              const decided = grant
                ? decideClawback(clawback, grant, clawback.createdAt, at)
                : { ...clawback, state: 'DONE' as const, finishedAt: at };
              if (!(await clawbacks.settle(conn, decided))) return undefined;
              if (decided.points > 0) await grants.addClawedBack(conn, clawback.paymentId, decided.points);
              return decided;
            },
            { label: 'campaign.settle-clawback' },
          );
          if (settled === undefined) {
            await clawbacks.postpone(clawback.refundId, backoffDelayMs(attempts, awaitingBackoff));
            continue;
          }
          await finish(settled);
        } catch (error) {
          await postponeAfterFailure(clawback, attempts, error);
        }
      }
      return claimed.length;
    },
  };
}
