import {
  DomainError,
  GrpcCallError,
  GrpcStatus as grpcStatus,
  failureKind,
  toTimestamp,
  type GrpcClient,
  type KobanProtos,
  type Logger,
} from '@koban/platform';

/** campaign-promo's gRPC client, built in main.ts with the payment→campaign-promo policy (2 s, breaker). */
export type CampaignClient = GrpcClient<KobanProtos['koban']['campaign']['v1']['CampaignService']['service']>;

/** Why an answer was not had in time (the `reason` of a CashbackDeferred event). */
export type DeferReason = 'timeout' | 'unavailable' | 'breaker_open' | 'error';

export type GrantOutcome =
  | { kind: 'granted'; points: number; campaignId: string }
  | { kind: 'none' }
  | { kind: 'deferred'; reason: DeferReason };

export type ClawbackOutcome =
  { kind: 'clawed_back'; points: number } | { kind: 'deferred'; reason: DeferReason };

/** A completed payment, as cashback is granted on it. */
export interface GrantSubject {
  paymentId: string;
  userId: string;
  pointsAccountId: string;
  merchantId: string;
  amount: number;
  currency: string;
  paidAt: Date;
}

/** A completed refund, as cashback is clawed back for it. */
export interface ClawbackSubject {
  refundId: string;
  paymentId: string;
  paymentAmount: number;
  /** Everything refunded so far, this refund included. */
  totalRefunded: number;
}

/**
 * campaign-promo as payment uses it. Neither call ever throws nor takes longer than the budget:
 * a slow, failing or open-breaker campaign service answers `deferred`, and the grant or
 * clawback happens later through the outbox (both are idempotent at campaign-promo: by payment
 * id, by refund id).
 */
export interface CampaignPort {
  grantCashback(subject: GrantSubject): Promise<GrantOutcome>;
  clawbackCashback(subject: ClawbackSubject): Promise<ClawbackOutcome>;
}

export interface CampaignPortDeps {
  client: CampaignClient;
  /** `CAMPAIGN_TIMEOUT_MS`: the wall-clock bound of a call, queueing in the bulkhead included. */
  budgetMs: number;
  logger: Logger;
}

class BudgetExceeded extends Error {
  override readonly name = 'BudgetExceeded';
}

/**
 * Runs `call` with a signal that aborts at `budgetMs`, and rejects at `budgetMs` even if the call
 * has not settled (a call queued in the bulkhead does not see its signal until it starts).
 */
async function callWithin<T>(budgetMs: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new BudgetExceeded(`no answer within ${budgetMs} ms`));
    }, budgetMs);
  });
  try {
    // The race also handles a late rejection of the abandoned call.
    return await Promise.race([call(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** The CashbackDeferred reason for a failed call. */
export function deferReason(error: unknown): DeferReason {
  if (error instanceof BudgetExceeded) return 'timeout';
  switch (failureKind(error)) {
    case 'open':
      return 'breaker_open';
    case 'timeout':
      return 'timeout';
    case 'bulkhead_full':
      return 'unavailable';
    case 'failure':
      break;
  }
  if (error instanceof GrpcCallError) {
    return error.code === grpcStatus.DEADLINE_EXCEEDED || error.code === grpcStatus.CANCELLED
      ? 'timeout'
      : 'unavailable';
  }
  if (error instanceof DomainError && error.code === 'service_unavailable') return 'unavailable';
  return 'error';
}

const int = (value: string): number => Number(value);

export function createCampaignPort(deps: CampaignPortDeps): CampaignPort {
  const logger = deps.logger.child({ component: 'campaign-port' });
  const { client, budgetMs } = deps;

  function deferred(
    error: unknown,
    facts: Record<string, string>,
  ): { kind: 'deferred'; reason: DeferReason } {
    const reason = deferReason(error);
    if (reason === 'error') {
      // A business refusal of a well-formed request is a bug on one side: logged loudly, and the
      // retry queue (which sees the same facts) decides again.
      logger.error({ err: error, ...facts }, 'campaign-promo refused the request; deferring it');
    } else {
      logger.warn({ reason, ...facts }, 'campaign-promo did not answer in time; deferring');
    }
    return { kind: 'deferred', reason };
  }

  // The call's own deadline fires just before the wall-clock cap, so a slow campaign-promo ends
  // as a DEADLINE_EXCEEDED the breaker counts; were the cap to win, the abort would look like
  // the caller giving up, which never counts, and the breaker would not open.
  const callDeadlineMs = Math.max(1, budgetMs - 100);
  return {
    async grantCashback(subject) {
      try {
        const { grant } = await callWithin(budgetMs, (signal) =>
          client.grantCashback(
            {
              paymentId: subject.paymentId,
              userId: subject.userId,
              pointsAccountId: subject.pointsAccountId,
              merchantId: subject.merchantId,
              amount: String(subject.amount),
              currency: subject.currency,
              paidAt: toTimestamp(subject.paidAt),
            },
            { signal, timeoutMs: callDeadlineMs },
          ),
        );
        if (grant?.status === 'GRANT_STATUS_GRANTED') {
          return { kind: 'granted', points: int(grant.points), campaignId: grant.campaignId };
        }
        if (grant?.status === 'GRANT_STATUS_NONE') return { kind: 'none' };
        return deferred(new Error(`GrantCashback answered ${grant?.status ?? 'no grant'}`), {
          paymentId: subject.paymentId,
        });
      } catch (error) {
        return deferred(error, { paymentId: subject.paymentId });
      }
    },

    async clawbackCashback(subject) {
      try {
        const { clawback } = await callWithin(budgetMs, (signal) =>
          client.clawbackCashback(
            {
              refundId: subject.refundId,
              paymentId: subject.paymentId,
              paymentAmount: String(subject.paymentAmount),
              totalRefundedAmount: String(subject.totalRefunded),
            },
            { signal, timeoutMs: callDeadlineMs },
          ),
        );
        return { kind: 'clawed_back', points: clawback === null ? 0 : int(clawback.points) };
      } catch (error) {
        return deferred(error, { refundId: subject.refundId, paymentId: subject.paymentId });
      }
    },
  };
}
