import { invalidRequest } from '../campaign-errors.js';
import type { CampaignCandidate } from '../campaigns/campaign-store.js';

/**
 * The cashback of one payment, recorded once (the payment id is the key):
 *
 *   GRANTED, ledger PENDING ──ledger applied `cashback_<paymentId>`──▶ GRANTED, ledger CREDITED
 *   NONE (no campaign matched, or none had the points left; nothing to credit)
 *
 * A GRANTED grant's points were taken from its campaign's budget in the transaction that recorded
 * it; until the ledger confirms the credit, the same transfer is re-sent (by the request, the
 * retry queue or the worker) and the ledger applies it once.
 */
export type GrantStatus = 'GRANTED' | 'NONE';
export type LedgerState = 'NOT_NEEDED' | 'PENDING' | 'CREDITED';

export interface Grant {
  paymentId: string;
  status: GrantStatus;
  campaignId: string | null;
  points: number;
  clawedBackPoints: number;
  userId: string;
  pointsAccountId: string | null;
  campaignAccountId: string | null;
  merchantId: string;
  amount: number;
  currency: string;
  paidAt: Date;
  ledgerTransferId: string | null;
  ledgerState: LedgerState;
  /** Granted by the retry queue after the payment deferred it. */
  deferred: boolean;
  createdAt: Date;
  grantedAt: Date | null;
}

/** Who is asking for the grant: the request decides `replayed`, the retry queue announces outcomes. */
export type GrantVia = 'request' | 'retry_queue' | 'recovery';

/** A checked GrantCashback request. */
export interface GrantCommand {
  paymentId: string;
  userId: string;
  /** '' when unknown: looked up in the ledger by user id. */
  pointsAccountId: string;
  merchantId: string;
  amount: number;
  currency: string;
  paidAt: Date;
}

export interface GrantRequestInput {
  paymentId: string;
  userId: string;
  pointsAccountId: string;
  merchantId: string;
  /** int64 as a decimal string. */
  amount: string;
  currency: string;
  paidAt: Date | undefined;
}

const MAX_ID = 64;
const MAX_OWNER_ID = 128;
/** Far above any payment (10,000,000 yen), low enough that amount × bps is exact. */
export const MAX_AMOUNT = 1_000_000_000_000;

/** Checks a grant request (from gRPC or from an event); throws `invalid_request` naming every bad field. */
export function checkGrantRequest(input: GrantRequestInput): GrantCommand {
  const problems: Record<string, string> = {};
  const id = (field: string, value: string, max: number): void => {
    if (value === '') problems[field] = 'required';
    else if (value.length > max) problems[field] = `at most ${max} characters`;
  };
  id('paymentId', input.paymentId, MAX_ID);
  id('userId', input.userId, MAX_OWNER_ID);
  id('merchantId', input.merchantId, MAX_OWNER_ID);
  if (input.pointsAccountId.length > MAX_OWNER_ID) {
    problems['pointsAccountId'] = `at most ${MAX_OWNER_ID} characters`;
  }
  let amount = 0;
  if (!/^\d+$/.test(input.amount) || BigInt(input.amount) < 1n || BigInt(input.amount) > BigInt(MAX_AMOUNT)) {
    problems['amount'] = `must be a whole number from 1 to ${MAX_AMOUNT}`;
  } else {
    amount = Number(input.amount);
  }
  if (input.currency !== 'JPY') problems['currency'] = input.currency === '' ? 'required' : 'must be JPY';
  if (input.paidAt === undefined || Number.isNaN(input.paidAt.getTime())) problems['paidAt'] = 'required';
  if (Object.keys(problems).length > 0) throw invalidRequest(problems);
  return {
    paymentId: input.paymentId,
    userId: input.userId,
    pointsAccountId: input.pointsAccountId,
    merchantId: input.merchantId,
    amount,
    currency: input.currency,
    paidAt: input.paidAt as Date,
  };
}

/** floor(amount × bps / 10000), at most the cap. Exact: computed in BigInt. */
export function cashbackPoints(amount: number, cashbackBps: number, maxPointsPerPayment: number): number {
  const raw = (BigInt(amount) * BigInt(cashbackBps)) / 10_000n;
  return Number(raw < BigInt(maxPointsPerPayment) ? raw : BigInt(maxPointsPerPayment));
}

/** A campaign that could grant a payment, with the points it would grant. */
export interface RankedCandidate {
  campaignId: string;
  ledgerAccountId: string;
  points: number;
}

/**
 * The campaigns that could grant a payment of `amount`, best first: most points, then the older
 * campaign, then the smaller id (so every replica ranks alike). A campaign that would grant 0
 * points, or whose committed budget no longer covers its points, is left out: a grant is all of
 * a campaign's points or nothing from it, and a payment falls to the next best campaign.
 */
export function rankCandidates(candidates: readonly CampaignCandidate[], amount: number): RankedCandidate[] {
  return candidates
    .map((candidate) => ({
      candidate,
      points: cashbackPoints(amount, candidate.cashbackBps, candidate.maxPointsPerPayment),
    }))
    .filter(
      ({ candidate, points }) => points > 0 && candidate.budgetPoints - candidate.grantedPoints >= points,
    )
    .sort(
      (a, b) =>
        b.points - a.points ||
        a.candidate.createdAt.getTime() - b.candidate.createdAt.getTime() ||
        (a.candidate.campaignId < b.candidate.campaignId ? -1 : 1),
    )
    .map(({ candidate, points }) => ({
      campaignId: candidate.campaignId,
      ledgerAccountId: candidate.ledgerAccountId,
      points,
    }));
}

/** The ledger transfer crediting a payment's cashback: one per payment, so re-sending it is safe. */
export const cashbackTransferId = (paymentId: string): string => `cashback_${paymentId}`;

export function grantedGrant(
  command: GrantCommand,
  campaign: RankedCandidate,
  pointsAccountId: string,
  deferred: boolean,
  at: Date,
): Grant {
  return {
    paymentId: command.paymentId,
    status: 'GRANTED',
    campaignId: campaign.campaignId,
    points: campaign.points,
    clawedBackPoints: 0,
    userId: command.userId,
    pointsAccountId,
    campaignAccountId: campaign.ledgerAccountId,
    merchantId: command.merchantId,
    amount: command.amount,
    currency: command.currency,
    paidAt: command.paidAt,
    ledgerTransferId: cashbackTransferId(command.paymentId),
    ledgerState: 'PENDING',
    deferred,
    createdAt: at,
    grantedAt: null,
  };
}

export function noneGrant(command: GrantCommand, deferred: boolean, at: Date): Grant {
  return {
    paymentId: command.paymentId,
    status: 'NONE',
    campaignId: null,
    points: 0,
    clawedBackPoints: 0,
    userId: command.userId,
    pointsAccountId: command.pointsAccountId || null,
    campaignAccountId: null,
    merchantId: command.merchantId,
    amount: command.amount,
    currency: command.currency,
    paidAt: command.paidAt,
    ledgerTransferId: null,
    ledgerState: 'NOT_NEEDED',
    deferred,
    createdAt: at,
    grantedAt: null,
  };
}
