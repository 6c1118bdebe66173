import { invalidRequest } from '../campaign-errors.js';
import type { Grant } from '../grants/grant.js';

/**
 * Points taken back because part of a payment was refunded, once per refund:
 *
 *   PENDING ──ledger applied `clawback_<refundId>` (user points → campaign)──▶ DONE
 *   AWAITING_GRANT (the refund came before the payment's deferred grant) ──grant recorded──▶ PENDING or DONE
 *   DONE at once when there is nothing to take back (a NONE grant, or earlier clawbacks took it all)
 *
 * The points go back to the campaign's budget when the clawback is DONE, not before: until the
 * ledger took them back the user still holds them, and the budget must keep counting them.
 */
export type ClawbackState = 'AWAITING_GRANT' | 'PENDING' | 'DONE';

export interface Clawback {
  refundId: string;
  paymentId: string;
  campaignId: string | null;
  points: number;
  paymentAmount: number;
  totalRefundedAmount: number;
  ledgerTransferId: string | null;
  state: ClawbackState;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface ClawbackCommand {
  refundId: string;
  paymentId: string;
  paymentAmount: number;
  totalRefundedAmount: number;
}

export interface ClawbackRequestInput {
  refundId: string;
  paymentId: string;
  /** int64 as decimal strings. */
  paymentAmount: string;
  totalRefundedAmount: string;
}

const MAX_ID = 64;
const MAX_AMOUNT = 1_000_000_000_000;

export function checkClawbackRequest(input: ClawbackRequestInput): ClawbackCommand {
  const problems: Record<string, string> = {};
  for (const field of ['refundId', 'paymentId'] as const) {
    if (input[field] === '') problems[field] = 'required';
    else if (input[field].length > MAX_ID) problems[field] = `at most ${MAX_ID} characters`;
  }
  const amount = (field: 'paymentAmount' | 'totalRefundedAmount'): number => {
    const raw = input[field];
    if (!/^\d+$/.test(raw) || BigInt(raw) < 1n || BigInt(raw) > BigInt(MAX_AMOUNT)) {
      problems[field] = `must be a whole number from 1 to ${MAX_AMOUNT}`;
      return 0;
    }
    return Number(raw);
  };
  const paymentAmount = amount('paymentAmount');
  const totalRefundedAmount = amount('totalRefundedAmount');
  if (paymentAmount > 0 && totalRefundedAmount > paymentAmount) {
    problems['totalRefundedAmount'] = 'must not exceed paymentAmount';
  }
  if (Object.keys(problems).length > 0) throw invalidRequest(problems);
  return { refundId: input.refundId, paymentId: input.paymentId, paymentAmount, totalRefundedAmount };
}

/**
 * The points a refund takes back: those granted on the refunded share of the payment so far,
 * floor(points × totalRefunded / paymentAmount), less what earlier clawbacks took. Cumulative, so
 * any number of partial refunds adds up to at most the grant, and a refund whose clawback was
 * missed is caught up by the next one.
 */
export function clawbackPoints(
  grant: Pick<Grant, 'points' | 'clawedBackPoints'>,
  paymentAmount: number,
  totalRefundedAmount: number,
): number {
  const share =
    (BigInt(grant.points) * BigInt(Math.min(totalRefundedAmount, paymentAmount))) / BigInt(paymentAmount);
  const target = Math.min(Number(share), grant.points);
  return Math.max(0, target - grant.clawedBackPoints);
}

export const clawbackTransferId = (refundId: string): string => `clawback_${refundId}`;

/**
 * What a refund's clawback comes to, given the payment's grant as locked for it: undefined grant
 * → AWAITING_GRANT; NONE → nothing; GRANTED → the points of the refunded share not yet taken.
 */
export function decideClawback(
  request: ClawbackCommand,
  grant: Pick<Grant, 'status' | 'campaignId' | 'points' | 'clawedBackPoints'> | undefined,
  createdAt: Date,
  at: Date,
): Clawback {
  const base = {
    refundId: request.refundId,
    paymentId: request.paymentId,
    paymentAmount: request.paymentAmount,
    totalRefundedAmount: request.totalRefundedAmount,
    createdAt,
  };
  if (grant === undefined) {
    return {
      ...base,
      campaignId: null,
      points: 0,
      ledgerTransferId: null,
      state: 'AWAITING_GRANT',
      finishedAt: null,
    };
  }
  if (grant.status === 'NONE') {
    return { ...base, campaignId: null, points: 0, ledgerTransferId: null, state: 'DONE', finishedAt: at };
  }
  const points = clawbackPoints(grant, request.paymentAmount, request.totalRefundedAmount);
  return points === 0
    ? {
        ...base,
        campaignId: grant.campaignId,
        points: 0,
        ledgerTransferId: null,
        state: 'DONE',
        finishedAt: at,
      }
    : {
        ...base,
        campaignId: grant.campaignId,
        points,
        ledgerTransferId: clawbackTransferId(request.refundId),
        state: 'PENDING',
        finishedAt: null,
      };
}
