import { date, dateOrNull, num, text, textOrNull, txSql, type Row, type Sql, type Tx } from '../sql.js';
import type { Clawback, ClawbackState } from './clawback.js';

/** SQL of `cashback_clawbacks`. */
export interface ClawbackStore {
  find(refundId: string): Promise<Clawback | undefined>;
  /** Inserts a clawback; a second one for the refund fails with a duplicate key. */
  insert(conn: Tx, clawback: Clawback, sweepableAt: Date): Promise<void>;
  /** AWAITING_GRANT → what the grant now says (points, campaign, transfer id, state). */
  settle(conn: Tx, clawback: Clawback): Promise<boolean>;
  /** PENDING → DONE; false when it was not PENDING any more. */
  markDone(conn: Tx, refundId: string, at: Date): Promise<boolean>;
  /** Claims up to `limit` clawbacks in `state` that are due, holding them `holdMs`. */
  claimDue(
    state: 'PENDING' | 'AWAITING_GRANT',
    claim: string,
    limit: number,
    holdMs: number,
  ): Promise<Array<{ clawback: Clawback; attempts: number }>>;
  postpone(refundId: string, delayMs: number): Promise<void>;
}

const columns = `refund_id, payment_id, campaign_id, points, payment_amount, total_refunded_amount,
  ledger_transfer_id, state, created_at, finished_at`;

function toClawback(row: Row): Clawback {
  return {
    refundId: text(row['refund_id']),
    paymentId: text(row['payment_id']),
    campaignId: textOrNull(row['campaign_id']),
    points: num(row['points']),
    paymentAmount: num(row['payment_amount']),
    totalRefundedAmount: num(row['total_refunded_amount']),
    ledgerTransferId: textOrNull(row['ledger_transfer_id']),
    state: text(row['state']) as ClawbackState,
    createdAt: date(row['created_at']),
    finishedAt: dateOrNull(row['finished_at']),
  };
}

export function createClawbackStore(sql: Sql): ClawbackStore {
  return {
    async find(refundId) {
      const [row] = await sql.rows(`SELECT ${columns} FROM cashback_clawbacks WHERE refund_id = ?`, [
        refundId,
      ]);
      return row === undefined ? undefined : toClawback(row);
    },

    async insert(conn, clawback, sweepableAt) {
      await txSql(conn).write(
        `INSERT INTO cashback_clawbacks (refund_id, payment_id, campaign_id, points, payment_amount,
           total_refunded_amount, ledger_transfer_id, state, created_at, finished_at, next_sweep_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          clawback.refundId,
          clawback.paymentId,
          clawback.campaignId,
          clawback.points,
          clawback.paymentAmount,
          clawback.totalRefundedAmount,
          clawback.ledgerTransferId,
          clawback.state,
          clawback.createdAt,
          clawback.finishedAt,
          sweepableAt,
        ],
      );
    },

    async settle(conn, clawback) {
      const changed = await txSql(conn).write(
        `UPDATE cashback_clawbacks
            SET campaign_id = ?, points = ?, ledger_transfer_id = ?, state = ?, finished_at = ?,
                next_sweep_at = NOW(3), sweep_claim = NULL
          WHERE refund_id = ? AND state = 'AWAITING_GRANT'`,
        [
          clawback.campaignId,
          clawback.points,
          clawback.ledgerTransferId,
          clawback.state,
          clawback.finishedAt,
          clawback.refundId,
        ],
      );
      return changed === 1;
    },

    async markDone(conn, refundId, at) {
      const changed = await txSql(conn).write(
        `UPDATE cashback_clawbacks SET state = 'DONE', finished_at = ?, sweep_claim = NULL
          WHERE refund_id = ? AND state = 'PENDING'`,
        [at, refundId],
      );
      return changed === 1;
    },

    async claimDue(state, claim, limit, holdMs) {
      await sql.write(
        `UPDATE cashback_clawbacks
            SET sweep_claim = ?, sweep_attempts = sweep_attempts + 1, next_sweep_at = NOW(3) + INTERVAL ? MICROSECOND
          WHERE state = ? AND next_sweep_at <= NOW(3)
          ORDER BY next_sweep_at
          LIMIT ?`,
        [claim, holdMs * 1000, state, limit],
      );
      const rows = await sql.rows(
        `SELECT ${columns}, sweep_attempts FROM cashback_clawbacks
          WHERE state = ? AND sweep_claim = ? ORDER BY total_refunded_amount`,
        [state, claim],
      );
      return rows.map((row) => ({ clawback: toClawback(row), attempts: num(row['sweep_attempts']) }));
    },

    async postpone(refundId, delayMs) {
      await sql.write(
        `UPDATE cashback_clawbacks SET next_sweep_at = NOW(3) + INTERVAL ? MICROSECOND
          WHERE refund_id = ? AND state <> 'DONE'`,
        [delayMs * 1000, refundId],
      );
    },
  };
}
