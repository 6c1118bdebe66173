import type { Row, Sql } from '../sql.js';

/**
 * Claiming stuck rows for the sweeper, the same way for payments, refunds, P2P transfers
 * (PENDING) and top-ups (PROCESSING). Several replicas may sweep at once: a claim is one UPDATE that stamps a fresh token
 * on up to `limit` due rows and pushes their next look away, then a read of the rows carrying
 * that token (TiDB rules: no SKIP LOCKED, no reliance on gap locks).
 */
export interface SweptTable {
  table: 'payments' | 'refunds' | 'transfers' | 'topups';
  idColumn: 'payment_id' | 'refund_id' | 'transfer_id' | 'topup_id';
  /** The status of rows still in flight, the only ones swept. */
  openStatus: 'PENDING' | 'PROCESSING';
  /** The columns the caller maps rows from. */
  columns: string;
}

export async function claimDue(
  sql: Sql,
  swept: SweptTable,
  claim: string,
  limit: number,
  holdMs: number,
): Promise<Row[]> {
  await sql.write(
    `UPDATE ${swept.table}
        SET sweep_claim = ?, sweep_attempts = sweep_attempts + 1, next_sweep_at = NOW(3) + INTERVAL ? MICROSECOND
      WHERE status = ? AND next_sweep_at <= NOW(3)
      ORDER BY next_sweep_at
      LIMIT ?`,
    [claim, holdMs * 1000, swept.openStatus, limit],
  );
  return sql.rows(
    `SELECT ${swept.columns}, sweep_attempts FROM ${swept.table}
      WHERE status = ? AND sweep_claim = ?`,
    [swept.openStatus, claim],
  );
}

/** Leaves a row still in flight (its table's open status) alone for `delayMs`. */
export async function postpone(sql: Sql, swept: SweptTable, id: string, delayMs: number): Promise<void> {
  await sql.write(
    `UPDATE ${swept.table} SET next_sweep_at = NOW(3) + INTERVAL ? MICROSECOND
      WHERE ${swept.idColumn} = ? AND status = ?`,
    [delayMs * 1000, id, swept.openStatus],
  );
}

/** Notes that a transfer is about to be sent again: the FAILED rule counts quiet time from it. */
export async function noteTransferAttempt(sql: Sql, swept: SweptTable, id: string, at: Date): Promise<void> {
  await sql.write(
    `UPDATE ${swept.table} SET last_transfer_at = ? WHERE ${swept.idColumn} = ? AND status = ?`,
    [at, id, swept.openStatus],
  );
}
