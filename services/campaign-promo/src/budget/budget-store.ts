import { txSql, type Tx } from '../sql.js';

/**
 * The durable budget: `campaign_budgets.granted` moves only in the transaction that records a
 * grant (up, never past `budget`) or finishes a clawback (down).
 */
export interface BudgetStore {
  /** Takes `points` from the budget if that many remain; false (nothing changed) otherwise. */
  take(conn: Tx, campaignId: string, points: number): Promise<boolean>;
  /** Gives `points` back (a finished clawback). */
  giveBack(conn: Tx, campaignId: string, points: number): Promise<void>;
}

export function createBudgetStore(): BudgetStore {
  return {
    async take(conn, campaignId, points) {
      const changed = await txSql(conn).write(
        'UPDATE campaign_budgets SET granted = granted + ? WHERE campaign_id = ? AND granted + ? <= budget',
        [points, campaignId, points],
      );
      return changed === 1;
    },
    async giveBack(conn, campaignId, points) {
      await txSql(conn).write(
        'UPDATE campaign_budgets SET granted = GREATEST(granted - ?, 0) WHERE campaign_id = ?',
        [points, campaignId],
      );
    },
  };
}
