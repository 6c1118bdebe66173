import { date, dateOrNull, num, text, textOrNull, txSql, type Row, type Sql, type Tx } from '../sql.js';
import type { Grant, GrantStatus, LedgerState } from './grant.js';

/** SQL of `cashback_grants`. */
export interface GrantStore {
  find(paymentId: string): Promise<Grant | undefined>;
  /** Inserts a grant; a second grant for the payment fails with a duplicate key. */
  insert(conn: Tx, grant: Grant, sweepableAt: Date): Promise<void>;
  /** PENDING → CREDITED; false when it was not PENDING any more (another driver got there). */
  markCredited(conn: Tx, paymentId: string, at: Date, byRetryQueue: boolean): Promise<boolean>;
  /** The grant, locked (`FOR UPDATE`) until the transaction ends: clawbacks serialise on it. */
  lock(conn: Tx, paymentId: string): Promise<Grant | undefined>;
  addClawedBack(conn: Tx, paymentId: string, points: number): Promise<void>;
  /** Claims up to `limit` GRANTED grants whose credit is due to be re-sent, holding them `holdMs`. */
  claimUncredited(
    claim: string,
    limit: number,
    holdMs: number,
  ): Promise<Array<{ grant: Grant; attempts: number }>>;
  postpone(paymentId: string, delayMs: number): Promise<void>;
}

const columns = `payment_id, status, campaign_id, points, clawed_back_points, user_id, points_account_id,
  campaign_account_id, merchant_id, amount, currency, paid_at, ledger_transfer_id, ledger_state, deferred,
  created_at, granted_at`;

function toGrant(row: Row): Grant {
  return {
    paymentId: text(row['payment_id']),
    status: text(row['status']) as GrantStatus,
    campaignId: textOrNull(row['campaign_id']),
    points: num(row['points']),
    clawedBackPoints: num(row['clawed_back_points']),
    userId: text(row['user_id']),
    pointsAccountId: textOrNull(row['points_account_id']),
    campaignAccountId: textOrNull(row['campaign_account_id']),
    merchantId: text(row['merchant_id']),
    amount: num(row['amount']),
    currency: text(row['currency']),
    paidAt: date(row['paid_at']),
    ledgerTransferId: textOrNull(row['ledger_transfer_id']),
    ledgerState: text(row['ledger_state']) as LedgerState,
    deferred: num(row['deferred']) === 1,
    createdAt: date(row['created_at']),
    grantedAt: dateOrNull(row['granted_at']),
  };
}

export function createGrantStore(sql: Sql): GrantStore {
  return {
    async find(paymentId) {
      const [row] = await sql.rows(`SELECT ${columns} FROM cashback_grants WHERE payment_id = ?`, [
        paymentId,
      ]);
      return row === undefined ? undefined : toGrant(row);
    },

    async insert(conn, grant, sweepableAt) {
      await txSql(conn).write(
        `INSERT INTO cashback_grants (payment_id, status, campaign_id, points, clawed_back_points, user_id,
           points_account_id, campaign_account_id, merchant_id, amount, currency, paid_at, ledger_transfer_id,
           ledger_state, deferred, created_at, granted_at, next_sweep_at)
         VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
        [
          grant.paymentId,
          grant.status,
          grant.campaignId,
          grant.points,
          grant.userId,
          grant.pointsAccountId,
          grant.campaignAccountId,
          grant.merchantId,
          grant.amount,
          grant.currency,
          grant.paidAt,
          grant.ledgerTransferId,
          grant.ledgerState,
          grant.deferred,
          grant.createdAt,
          sweepableAt,
        ],
      );
    },

    async markCredited(conn, paymentId, at, byRetryQueue) {
      const changed = await txSql(conn).write(
        `UPDATE cashback_grants SET ledger_state = 'CREDITED', granted_at = ?, deferred = deferred OR ?, sweep_claim = NULL
          WHERE payment_id = ? AND ledger_state = 'PENDING'`,
        [at, byRetryQueue, paymentId],
      );
      return changed === 1;
    },

    async lock(conn, paymentId) {
      const [row] = await txSql(conn).rows(
        `SELECT ${columns} FROM cashback_grants WHERE payment_id = ? FOR UPDATE`,
        [paymentId],
      );
      return row === undefined ? undefined : toGrant(row);
    },

    async addClawedBack(conn, paymentId, points) {
      await txSql(conn).write(
        'UPDATE cashback_grants SET clawed_back_points = clawed_back_points + ? WHERE payment_id = ?',
        [points, paymentId],
      );
    },

    async claimUncredited(claim, limit, holdMs) {
      await sql.write(
        `UPDATE cashback_grants
            SET sweep_claim = ?, sweep_attempts = sweep_attempts + 1, next_sweep_at = NOW(3) + INTERVAL ? MICROSECOND
          WHERE ledger_state = 'PENDING' AND next_sweep_at <= NOW(3)
          ORDER BY next_sweep_at
          LIMIT ?`,
        [claim, holdMs * 1000, limit],
      );
      const rows = await sql.rows(
        `SELECT ${columns}, sweep_attempts FROM cashback_grants WHERE ledger_state = 'PENDING' AND sweep_claim = ?`,
        [claim],
      );
      return rows.map((row) => ({ grant: toGrant(row), attempts: num(row['sweep_attempts']) }));
    },

    async postpone(paymentId, delayMs) {
      await sql.write(
        `UPDATE cashback_grants SET next_sweep_at = NOW(3) + INTERVAL ? MICROSECOND
          WHERE payment_id = ? AND ledger_state = 'PENDING'`,
        [delayMs * 1000, paymentId],
      );
    },
  };
}
