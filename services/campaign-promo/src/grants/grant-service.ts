import { randomUUID } from 'node:crypto';
import type { Db, Logger } from '@koban/platform';
import { invalidRequest, notFound, serviceUnavailable } from '../campaign-errors.js';
import { backoffDelayMs, type Backoff } from '../background/backoff.js';
import type { BudgetCounter } from '../budget/budget-counter.js';
import type { BudgetReconciler } from '../budget/budget-reconciler.js';
import type { BudgetStore } from '../budget/budget-store.js';
import type { CampaignStore } from '../campaigns/campaign-store.js';
import type { LedgerPort } from '../downstream/ledger-port.js';
import { cashbackGrantedEvent, enqueueOnce } from '../events/cashback-events.js';
import { isDuplicateKeyError } from '../sql.js';
import {
  grantedGrant,
  noneGrant,
  rankCandidates,
  type Grant,
  type GrantCommand,
  type GrantVia,
  type RankedCandidate,
} from './grant.js';
import type { GrantStore } from './grant-store.js';

export interface GrantOutcome {
  grant: Grant;
  /** The payment had been decided before this call. */
  replayed: boolean;
}

export interface GrantService {
  /**
   * Grants a payment's cashback at most once: answers the recorded grant when there is one (and
   * finishes its credit if needed), else records the best campaign's grant (or NONE) and credits
   * it. Throws `service_unavailable` when the ledger could not confirm the credit: the grant stays
   * recorded and a retry (same payment) or the worker finishes it.
   */
  grant(command: GrantCommand, via: GrantVia): Promise<GrantOutcome>;
  /** The payment's grant; `not_found` when there is none. */
  get(paymentId: string): Promise<Grant>;
  /** Drives a recorded grant's credit to the ledger; throws `service_unavailable` when it failed. */
  finishCredit(grant: Grant, via: GrantVia): Promise<Grant>;
  /** Worker task: re-sends the credits of grants left PENDING; answers how many it looked at. */
  recoverUncredited(limit: number): Promise<number>;
}

export interface GrantServiceDeps {
  db: Db;
  grants: GrantStore;
  campaigns: Pick<CampaignStore, 'matching' | 'budget'>;
  budgets: BudgetStore;
  counter: BudgetCounter;
  reconciler: Pick<BudgetReconciler, 'reconcile'>;
  ledger: LedgerPort;
  /** Where CashbackGranted goes. */
  cashbackTopic: string;
  /** A recorded grant belongs to its request this long before the worker re-sends its credit. */
  recoveryMinAgeMs: number;
  recoveryBackoff: Backoff;
  logger: Logger;
  now: () => Date;
}

/** How long a claimed grant is held by the worker that claimed it. */
const claimHoldMs = 30_000;

interface AdmissionResult {
  /** The campaign whose Redis counter was decremented, if any. */
  reserved: RankedCandidate | undefined;
  /** Campaigns Redis says cannot cover their points: skipped without taking TiDB's row lock. */
  exhausted: Set<string>;
}

export function createGrantService(deps: GrantServiceDeps): GrantService {
  const logger = deps.logger.child({ component: 'grants' });
  const { grants, counter } = deps;

  /**
   * The Redis fast path: asks the counters, best campaign first, until one reserves its points.
   * A missing counter is set from TiDB and asked again; Redis failing ends the fast path for this
   * grant (TiDB alone decides).
   */
  async function admit(ranked: readonly RankedCandidate[]): Promise<AdmissionResult> {
    const exhausted = new Set<string>();
    for (const candidate of ranked) {
      let answer = await counter.reserve(candidate.campaignId, candidate.points);
      if (answer === 'missing') {
        await deps.reconciler.reconcile(candidate.campaignId);
        answer = await counter.reserve(candidate.campaignId, candidate.points);
      }
      if (answer === 'reserved') return { reserved: candidate, exhausted };
      if (answer === 'exhausted') {
        exhausted.add(candidate.campaignId);
        continue;
      }
      return { reserved: undefined, exhausted };
    }
    return { reserved: undefined, exhausted };
  }

  async function announce(grant: Grant): Promise<void> {
    await deps.db.transaction(
      (conn) =>
        enqueueOnce(
          conn,
          cashbackGrantedEvent(deps.cashbackTopic, {
            paymentId: grant.paymentId,
            userId: grant.userId,
            pointsAccountId: grant.pointsAccountId ?? '',
            campaignId: grant.campaignId ?? '',
            points: grant.points,
            ledgerTransferId: grant.ledgerTransferId ?? '',
            deferred: true,
            grantedAt: grant.grantedAt ?? grant.createdAt,
          }),
        ),
      { label: 'campaign.announce-grant' },
    );
  }

  async function finishCredit(grant: Grant, via: GrantVia): Promise<Grant> {
    if (grant.status === 'NONE' || grant.ledgerState !== 'PENDING') {
      // The retry queue tells payment how a deferred grant ended, even when a request decided it.
      if (via === 'retry_queue') await announce(grant);
      return grant;
    }
    const { paymentId, campaignId, pointsAccountId, campaignAccountId, ledgerTransferId } = grant;
    if (!campaignId || !pointsAccountId || !campaignAccountId || !ledgerTransferId) {
      throw new Error(`grant ${paymentId} is GRANTED without its accounts`);
    }
    const outcome = await deps.ledger.transfer({
      transferId: ledgerTransferId,
      kind: 'TRANSFER_KIND_CASHBACK',
      referenceId: paymentId,
      fromAccountId: campaignAccountId,
      toAccountId: pointsAccountId,
      points: grant.points,
      description: `Cashback from campaign ${campaignId}`,
    });
    if (outcome.kind === 'rejected') {
      // The accounts were checked when the grant was recorded: a bug or a ledger being rebuilt.
      logger.error(
        { paymentId, code: outcome.code, reason: outcome.message },
        'the ledger refused a cashback credit',
      );
    }
    if (outcome.kind !== 'applied') {
      throw serviceUnavailable(
        'the points could not be credited yet; they will be, and a retry with the same payment id is safe',
        outcome.kind === 'unavailable' ? outcome.error : undefined,
      );
    }
    const grantedAt = deps.now();
    const byRetryQueue = via === 'retry_queue';
    await deps.db.transaction(
      async (conn) => {
        if (!(await grants.markCredited(conn, paymentId, grantedAt, byRetryQueue))) return;
        await enqueueOnce(
          conn,
          cashbackGrantedEvent(deps.cashbackTopic, {
            paymentId,
            userId: grant.userId,
            pointsAccountId,
            campaignId,
            points: grant.points,
            ledgerTransferId,
            deferred: grant.deferred || byRetryQueue,
            grantedAt,
          }),
        );
      },
      { label: 'campaign.mark-credited' },
    );
    return (await grants.find(paymentId)) ?? { ...grant, ledgerState: 'CREDITED', grantedAt };
  }

  async function replay(paymentId: string, via: GrantVia): Promise<GrantOutcome | undefined> {
    const existing = await grants.find(paymentId);
    return existing && { grant: await finishCredit(existing, via), replayed: true };
  }

  async function grant(command: GrantCommand, via: GrantVia): Promise<GrantOutcome> {
    const replayed = await replay(command.paymentId, via);
    if (replayed) return replayed;

    const ranked = rankCandidates(
      await deps.campaigns.matching(command.merchantId, command.paidAt),
      command.amount,
    );
    let pointsAccountId = command.pointsAccountId;
    if (ranked.length > 0 && pointsAccountId === '') {
      pointsAccountId = (await deps.ledger.findPointsAccount(command.userId)) ?? '';
      if (pointsAccountId === '') throw invalidRequest({ userId: 'has no points account' });
    }
    const admission =
      ranked.length > 0 ? await admit(ranked) : { reserved: undefined, exhausted: new Set<string>() };
    const deferred = via === 'retry_queue';
    const at = deps.now();
    const sweepableAt = new Date(at.getTime() + deps.recoveryMinAgeMs);

    let recorded: { grant: Grant; refused: Set<string> };
    try {
      recorded = await deps.db.transaction(
        async (conn) => {
          const refused = new Set<string>();
          for (const candidate of ranked) {
            if (admission.exhausted.has(candidate.campaignId)) continue;
            if (await deps.budgets.take(conn, candidate.campaignId, candidate.points)) {
              const granted = grantedGrant(command, candidate, pointsAccountId, deferred, at);
              await grants.insert(conn, granted, sweepableAt);
              return { grant: granted, refused };
            }
            refused.add(candidate.campaignId);
          }
          const none = noneGrant(command, deferred, at);
          await grants.insert(conn, none, sweepableAt);
          return { grant: none, refused };
        },
        { label: 'campaign.grant' },
      );
    } catch (error) {
      if (admission.reserved) await counter.release(admission.reserved.campaignId, admission.reserved.points);
      if (isDuplicateKeyError(error)) {
        // A concurrent call for the same payment recorded it first.
        const stored = await replay(command.paymentId, via);
        if (stored) return stored;
      }
      throw error;
    }

    const { reserved } = admission;
    if (reserved && recorded.grant.campaignId !== reserved.campaignId) {
      await counter.release(reserved.campaignId, reserved.points);
      if (recorded.refused.has(reserved.campaignId)) {
        // Redis admitted what TiDB refused: the counter is high. TiDB wins.
        logger.info({ campaignId: reserved.campaignId }, 'budget counter ahead of TiDB; reconciling');
        void deps.reconciler.reconcile(reserved.campaignId);
      }
    }
    return { grant: await finishCredit(recorded.grant, via), replayed: false };
  }

  return {
    grant,
    finishCredit,

    async get(paymentId) {
      const found = await grants.find(paymentId);
      if (!found) throw notFound('cashback grant');
      return found;
    },

    async recoverUncredited(limit) {
      const claimed = await grants.claimUncredited(randomUUID(), limit, claimHoldMs);
      for (const { grant: stuck, attempts } of claimed) {
        try {
          await finishCredit(stuck, 'recovery');
          logger.info({ paymentId: stuck.paymentId, attempts }, 'credited a recorded cashback grant');
        } catch (error) {
          const delayMs = backoffDelayMs(attempts, deps.recoveryBackoff);
          logger.warn(
            { err: error, paymentId: stuck.paymentId, attempts, delayMs },
            'cashback credit still failing',
          );
          await grants.postpone(stuck.paymentId, delayMs);
        }
      }
      return claimed.length;
    },
  };
}
