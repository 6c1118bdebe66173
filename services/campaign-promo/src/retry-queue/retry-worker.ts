import { randomUUID } from 'node:crypto';
import {
  PAYMENT_ID_ATTRIBUTE,
  enqueueOutboxEvent,
  inStoredTrace,
  type Db,
  type Logger,
} from '@koban/platform';
import { CampaignError } from '../campaign-errors.js';
import { backoffDelayMs, type Backoff } from '../background/backoff.js';
import { deadLetterEvent } from '../dead-letters/dead-letter.js';
import { checkGrantRequest } from '../grants/grant.js';
import type { GrantService } from '../grants/grant-service.js';
import type { DeferredGrant } from './deferred-grant.js';
import type { DeferredGrantStore } from './deferred-grant-store.js';

/** The retry queue's worker: grants queued payments, with backoff, up to a bounded number of attempts. */
export interface RetryWorker {
  /** Attempts up to `limit` due grants; answers how many it claimed. */
  runDue(limit: number): Promise<number>;
}

export interface RetryWorkerDeps {
  db: Db;
  store: DeferredGrantStore;
  grants: Pick<GrantService, 'grant'>;
  /** Attempts in all; the last failure dead-letters the grant. */
  maxAttempts: number;
  backoff: Backoff;
  deadLetterTopic: string;
  /** Grants attempted side by side within one batch. */
  concurrency: number;
  logger: Logger;
}

/**
 * A claim outlives any attempt (the ledger's timeout and one retry, a few statements): a worker
 * that dies holding rows delays them by this much, then any worker takes them over.
 */
const claimHoldMs = 60_000;

function describe(error: unknown): string {
  if (error instanceof CampaignError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export function createRetryWorker(deps: RetryWorkerDeps): RetryWorker {
  const logger = deps.logger.child({ component: 'retry-queue' });

  async function attempt(claim: string, queued: DeferredGrant): Promise<void> {
    const { paymentId, attempts } = queued;
    try {
      const command = checkGrantRequest({
        paymentId,
        userId: queued.userId,
        pointsAccountId: queued.pointsAccountId,
        merchantId: queued.merchantId,
        amount: queued.amount,
        currency: queued.currency,
        paidAt: queued.paidAt,
      });
      const { grant } = await deps.grants.grant(command, 'retry_queue');
      await deps.store.markDone(paymentId, claim);
      logger.info({ paymentId, attempts, status: grant.status, points: grant.points }, 'deferred grant done');
    } catch (error) {
      const reason = describe(error);
      // A request that can never succeed is not worth the remaining attempts.
      const permanent = error instanceof CampaignError && error.code === 'invalid_request';
      if (permanent || attempts >= deps.maxAttempts) {
        const dead = await deps.db.transaction(
          async (conn) => {
            if (!(await deps.store.markDead(conn, paymentId, claim, reason))) return false;
            await enqueueOutboxEvent(conn, deadLetterEvent(queued, deps.deadLetterTopic));
            return true;
          },
          { label: 'campaign.dead-letter' },
        );
        if (dead) {
          logger.error(
            {
              err: error,
              paymentId,
              attempts,
              permanent,
              sourceTopic: queued.source.topic,
              sourcePartition: queued.source.partition,
              sourceOffset: queued.source.offset,
              sourceEventId: queued.source.eventId,
              deadLetterTopic: deps.deadLetterTopic,
            },
            'deferred grant given up on; its event went to the dead-letter topic',
          );
        }
        return;
      }
      const delayMs = backoffDelayMs(attempts, deps.backoff);
      await deps.store.reschedule(paymentId, claim, delayMs, reason);
      logger.warn(
        { err: error, paymentId, attempts, maxAttempts: deps.maxAttempts, delayMs },
        'deferred grant failed; retrying later',
      );
    }
  }

  return {
    async runDue(limit) {
      const claim = randomUUID();
      const queued = await deps.store.claimDue(claim, limit, claimHoldMs);
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < queued.length) {
          const item = queued[next++];
          try {
            // In the trace of the payment whose event queued it: its waterfall shows the late grant.
            await inStoredTrace(
              'cashback.retry-queue grant',
              item.source,
              { [PAYMENT_ID_ATTRIBUTE]: item.paymentId, 'koban.retry.attempt': item.attempts },
              () => attempt(claim, item),
            );
          } catch (error) {
            // The database failed while recording the outcome: the claim expires and the row is retried.
            logger.warn(
              { err: error, paymentId: item.paymentId },
              'could not record a deferred grant attempt',
            );
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(deps.concurrency, queued.length) }, lane));
      return queued.length;
    },
  };
}
