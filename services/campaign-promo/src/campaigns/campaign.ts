import { randomUUID } from 'node:crypto';
import { invalidRequest } from '../campaign-errors.js';

/**
 * A cashback campaign: `cashbackBps` of each matching payment's amount, at most
 * `maxPointsPerPayment` per payment, at most `budgetPoints` in all, for payments made in
 * [startsAt, endsAt) at any merchant or at the listed ones. Immutable once created; its budget
 * is the `campaign_budgets` row, and its points come from its own ledger account
 * (OWNER_TYPE_SYSTEM, owner id = campaign id, ACCOUNT_KIND_CAMPAIGN, "POINTS", overdraft
 * allowed), which goes negative by what it granted.
 */
export interface Campaign {
  campaignId: string;
  name: string;
  cashbackBps: number;
  maxPointsPerPayment: number;
  budgetPoints: number;
  startsAt: Date;
  endsAt: Date;
  /** Empty: every merchant. */
  merchantIds: readonly string[];
  ledgerAccountId: string;
  /** Net of clawbacks. */
  grantedPoints: number;
  createdAt: Date;
}

export const remainingPoints = (campaign: Pick<Campaign, 'budgetPoints' | 'grantedPoints'>): number =>
  Math.max(0, campaign.budgetPoints - campaign.grantedPoints);

/** What CreateCampaign asks for, checked. */
export interface NewCampaign {
  name: string;
  cashbackBps: number;
  maxPointsPerPayment: number;
  budgetPoints: number;
  startsAt: Date;
  endsAt: Date;
  merchantIds: string[];
}

/** Bounds keeping every product of points and amounts exact in a JS number or a BIGINT. */
export const MAX_BPS = 10_000;
export const MAX_POINTS_PER_PAYMENT = 1_000_000_000_000;
export const MAX_BUDGET_POINTS = 1_000_000_000_000_000;
export const MAX_MERCHANTS = 1_000;
const MAX_NAME_LENGTH = 200;
const MAX_ID_LENGTH = 128;

/** CreateCampaign's fields as decoded (int64 as decimal strings, times as Dates or undefined). */
export interface CreateCampaignInput {
  name: string;
  cashbackBps: number;
  maxPointsPerPayment: string;
  budgetPoints: string;
  startsAt: Date | undefined;
  endsAt: Date | undefined;
  merchantIds: readonly string[];
}

/** A positive whole number from an int64 decimal string, or the problem with it. */
function positiveInt(raw: string, max: number): number | string {
  if (!/^\d+$/.test(raw)) return 'must be a positive whole number';
  const value = BigInt(raw);
  if (value < 1n) return 'must be at least 1';
  if (value > BigInt(max)) return `must be at most ${max}`;
  return Number(value);
}

/** Checks a CreateCampaign request; throws `invalid_request` naming every bad field. */
export function checkNewCampaign(input: CreateCampaignInput): NewCampaign {
  const problems: Record<string, string> = {};
  const name = input.name.trim();
  if (name === '') problems['name'] = 'required';
  else if (name.length > MAX_NAME_LENGTH) problems['name'] = `at most ${MAX_NAME_LENGTH} characters`;
  if (!Number.isInteger(input.cashbackBps) || input.cashbackBps < 1 || input.cashbackBps > MAX_BPS) {
    problems['cashbackBps'] = `must be a whole number from 1 to ${MAX_BPS}`;
  }
  const maxPoints = positiveInt(input.maxPointsPerPayment, MAX_POINTS_PER_PAYMENT);
  if (typeof maxPoints === 'string') problems['maxPointsPerPayment'] = maxPoints;
  const budget = positiveInt(input.budgetPoints, MAX_BUDGET_POINTS);
  if (typeof budget === 'string') problems['budgetPoints'] = budget;
  if (input.startsAt === undefined) problems['startsAt'] = 'required';
  if (input.endsAt === undefined) problems['endsAt'] = 'required';
  if (input.startsAt && input.endsAt && input.endsAt.getTime() <= input.startsAt.getTime()) {
    problems['endsAt'] = 'must be after startsAt';
  }
  const merchantIds = [...new Set(input.merchantIds.map((id) => id.trim()))];
  if (merchantIds.some((id) => id === '' || id.length > MAX_ID_LENGTH)) {
    problems['merchantIds'] = `each must be 1 to ${MAX_ID_LENGTH} characters`;
  } else if (merchantIds.length > MAX_MERCHANTS) {
    problems['merchantIds'] = `at most ${MAX_MERCHANTS}`;
  }
  if (Object.keys(problems).length > 0) throw invalidRequest(problems);
  return {
    name,
    cashbackBps: input.cashbackBps,
    maxPointsPerPayment: maxPoints as number,
    budgetPoints: budget as number,
    startsAt: input.startsAt as Date,
    endsAt: input.endsAt as Date,
    merchantIds,
  };
}

/** A fresh campaign id: random, so inserts spread over TiDB regions. */
export const newCampaignId = (): string => `cmp_${randomUUID().replaceAll('-', '')}`;

/** Where a page of ListCampaigns starts: after this campaign, newest first. */
export interface PageCursor {
  createdAt: Date;
  campaignId: string;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** 0 means the default; 1 to 100 otherwise. */
export function checkPageSize(pageSize: number): number {
  if (pageSize === 0) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw invalidRequest({ pageSize: `must be from 1 to ${MAX_PAGE_SIZE}` });
  }
  return pageSize;
}

export function encodePageToken(cursor: PageCursor): string {
  return Buffer.from(`${cursor.createdAt.getTime()}.${cursor.campaignId}`, 'utf8').toString('base64url');
}

/** The cursor of a token; empty is the first page, anything unreadable `invalid_request`. */
export function decodePageToken(token: string): PageCursor | undefined {
  if (token === '') return undefined;
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  const match = /^(\d{1,15})\.(cmp_[0-9a-f]{32})$/.exec(decoded);
  if (!match) throw invalidRequest({ pageToken: 'not a token this service issued' });
  return { createdAt: new Date(Number(match[1])), campaignId: match[2] };
}
