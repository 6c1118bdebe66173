import { date, num, text, txSql, type Row, type Sql, type Tx } from '../sql.js';
import type { Campaign, PageCursor } from './campaign.js';

/** A campaign that may apply to a payment, with its budget as last committed. */
export interface CampaignCandidate {
  campaignId: string;
  cashbackBps: number;
  maxPointsPerPayment: number;
  ledgerAccountId: string;
  budgetPoints: number;
  grantedPoints: number;
  createdAt: Date;
}

/** A campaign's budget as committed in TiDB: what the Redis counter is recomputed from. */
export interface BudgetSnapshot {
  campaignId: string;
  budgetPoints: number;
  grantedPoints: number;
  endsAt: Date;
}

/** SQL of `campaigns`, `campaign_merchants` and the reads of `campaign_budgets`. */
export interface CampaignStore {
  /** Inserts the campaign, its merchant rows and its budget row, in the caller's transaction. */
  insert(conn: Tx, campaign: Campaign): Promise<void>;
  find(campaignId: string): Promise<Campaign | undefined>;
  /** Newest first, after `cursor`. */
  list(cursor: PageCursor | undefined, limit: number): Promise<Campaign[]>;
  /** Campaigns whose window holds `paidAt` and whose merchant list is empty or names `merchantId`. */
  matching(merchantId: string, paidAt: Date): Promise<CampaignCandidate[]>;
  budget(campaignId: string): Promise<BudgetSnapshot | undefined>;
  /** Budgets of campaigns that had not ended by `since`. */
  liveBudgets(since: Date): Promise<BudgetSnapshot[]>;
}

const campaignColumns = `c.campaign_id, c.name, c.cashback_bps, c.max_points_per_payment, c.budget_points,
  c.starts_at, c.ends_at, c.merchant_ids, c.ledger_account_id, c.created_at, b.granted`;

function merchantIdsOf(value: unknown): string[] {
  const parsed: unknown = JSON.parse(text(value) || '[]');
  return Array.isArray(parsed) ? parsed.map((id) => text(id)) : [];
}

function toCampaign(row: Row): Campaign {
  return {
    campaignId: text(row['campaign_id']),
    name: text(row['name']),
    cashbackBps: num(row['cashback_bps']),
    maxPointsPerPayment: num(row['max_points_per_payment']),
    budgetPoints: num(row['budget_points']),
    startsAt: date(row['starts_at']),
    endsAt: date(row['ends_at']),
    merchantIds: merchantIdsOf(row['merchant_ids']),
    ledgerAccountId: text(row['ledger_account_id']),
    grantedPoints: num(row['granted']),
    createdAt: date(row['created_at']),
  };
}

function toBudget(row: Row): BudgetSnapshot {
  return {
    campaignId: text(row['campaign_id']),
    budgetPoints: num(row['budget']),
    grantedPoints: num(row['granted']),
    endsAt: date(row['ends_at']),
  };
}

export function createCampaignStore(sql: Sql): CampaignStore {
  return {
    async insert(conn, campaign) {
      const tx = txSql(conn);
      await tx.write(
        `INSERT INTO campaigns (campaign_id, name, cashback_bps, max_points_per_payment, budget_points, starts_at,
           ends_at, all_merchants, merchant_ids, ledger_account_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          campaign.campaignId,
          campaign.name,
          campaign.cashbackBps,
          campaign.maxPointsPerPayment,
          campaign.budgetPoints,
          campaign.startsAt,
          campaign.endsAt,
          campaign.merchantIds.length === 0,
          JSON.stringify(campaign.merchantIds),
          campaign.ledgerAccountId,
          campaign.createdAt,
        ],
      );
      if (campaign.merchantIds.length > 0) {
        await tx.write(
          `INSERT INTO campaign_merchants (merchant_id, campaign_id) VALUES ${campaign.merchantIds
            .map(() => '(?, ?)')
            .join(', ')}`,
          campaign.merchantIds.flatMap((merchantId) => [merchantId, campaign.campaignId]),
        );
      }
      await tx.write('INSERT INTO campaign_budgets (campaign_id, budget, granted) VALUES (?, ?, 0)', [
        campaign.campaignId,
        campaign.budgetPoints,
      ]);
    },

    async find(campaignId) {
      const [row] = await sql.rows(
        `SELECT ${campaignColumns} FROM campaigns c JOIN campaign_budgets b ON b.campaign_id = c.campaign_id
          WHERE c.campaign_id = ?`,
        [campaignId],
      );
      return row === undefined ? undefined : toCampaign(row);
    },

    async list(cursor, limit) {
      const rows = cursor
        ? await sql.rows(
            `SELECT ${campaignColumns} FROM campaigns c JOIN campaign_budgets b ON b.campaign_id = c.campaign_id
              WHERE (c.created_at, c.campaign_id) < (?, ?)
              ORDER BY c.created_at DESC, c.campaign_id DESC LIMIT ?`,
            [cursor.createdAt, cursor.campaignId, limit],
          )
        : await sql.rows(
            `SELECT ${campaignColumns} FROM campaigns c JOIN campaign_budgets b ON b.campaign_id = c.campaign_id
              ORDER BY c.created_at DESC, c.campaign_id DESC LIMIT ?`,
            [limit],
          );
      return rows.map(toCampaign);
    },

    async matching(merchantId, paidAt) {
      const rows = await sql.rows(
        `SELECT c.campaign_id, c.cashback_bps, c.max_points_per_payment, c.ledger_account_id, c.created_at,
                b.budget, b.granted
           FROM campaigns c JOIN campaign_budgets b ON b.campaign_id = c.campaign_id
          WHERE c.ends_at > ? AND c.starts_at <= ?
            AND (c.all_merchants = 1 OR EXISTS (
                  SELECT 1 FROM campaign_merchants m WHERE m.merchant_id = ? AND m.campaign_id = c.campaign_id))`,
        [paidAt, paidAt, merchantId],
      );
      return rows.map((row) => ({
        campaignId: text(row['campaign_id']),
        cashbackBps: num(row['cashback_bps']),
        maxPointsPerPayment: num(row['max_points_per_payment']),
        ledgerAccountId: text(row['ledger_account_id']),
        budgetPoints: num(row['budget']),
        grantedPoints: num(row['granted']),
        createdAt: date(row['created_at']),
      }));
    },

    async budget(campaignId) {
      const [row] = await sql.rows(
        `SELECT b.campaign_id, b.budget, b.granted, c.ends_at
           FROM campaign_budgets b JOIN campaigns c ON c.campaign_id = b.campaign_id WHERE b.campaign_id = ?`,
        [campaignId],
      );
      return row === undefined ? undefined : toBudget(row);
    },

    async liveBudgets(since) {
      const rows = await sql.rows(
        `SELECT b.campaign_id, b.budget, b.granted, c.ends_at
           FROM campaigns c JOIN campaign_budgets b ON b.campaign_id = c.campaign_id WHERE c.ends_at > ?`,
        [since],
      );
      return rows.map(toBudget);
    },
  };
}
