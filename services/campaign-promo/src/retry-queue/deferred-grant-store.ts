import { bufferOrNull, date, num, text, textOrNull, txSql, type Row, type Sql, type Tx } from '../sql.js';
import type {
  DeferredGrant,
  DeferredGrantInput,
  DeferredGrantSource,
  DeferredGrantState,
} from './deferred-grant.js';

/** SQL of `deferred_grants`, the retry queue. */
export interface DeferredGrantStore {
  /**
   * Queues a payment's grant in the consumer's transaction, due at once. A payment already
   * queued stays as it is (one row per payment), unless it was DEAD: a replayed dead letter
   * revives it with its attempts reset.
   */
  enqueue(conn: Tx, input: DeferredGrantInput, at: Date): Promise<void>;
  /** Claims up to `limit` due PENDING rows for `holdMs`, counting an attempt on each. */
  claimDue(claim: string, limit: number, holdMs: number): Promise<DeferredGrant[]>;
  markDone(paymentId: string, claim: string): Promise<void>;
  reschedule(paymentId: string, claim: string, delayMs: number, error: string): Promise<void>;
  /** PENDING → DEAD under our claim; false when the row was not ours any more. */
  markDead(conn: Tx, paymentId: string, claim: string, error: string): Promise<boolean>;
  find(paymentId: string): Promise<DeferredGrant | undefined>;
  /** Deletes DONE rows last touched before `before`; answers how many. */
  purgeDone(before: Date, limit: number): Promise<number>;
}

const columns = `payment_id, user_id, points_account_id, merchant_id, amount, currency, paid_at, reason,
  source_topic, source_partition, source_offset, source_event_id, source_event_type, source_key, source_value,
  traceparent, tracestate, state, attempts, last_error, created_at`;

function toDeferredGrant(row: Row): DeferredGrant {
  return {
    paymentId: text(row['payment_id']),
    userId: text(row['user_id']),
    pointsAccountId: text(row['points_account_id']),
    merchantId: text(row['merchant_id']),
    amount: text(row['amount']),
    currency: text(row['currency']),
    paidAt: date(row['paid_at']),
    reason: text(row['reason']),
    source: {
      topic: text(row['source_topic']),
      partition: num(row['source_partition']),
      offset: text(row['source_offset']),
      eventId: text(row['source_event_id']),
      eventType: text(row['source_event_type']) as DeferredGrantSource['eventType'],
      key: textOrNull(row['source_key']),
      value: bufferOrNull(row['source_value']),
      traceparent: textOrNull(row['traceparent']),
      tracestate: textOrNull(row['tracestate']),
    },
    state: text(row['state']) as DeferredGrantState,
    attempts: num(row['attempts']),
    lastError: textOrNull(row['last_error']),
    createdAt: date(row['created_at']),
  };
}

/** The column holds 512 characters of the last failure. */
const clip = (error: string): string => error.slice(0, 512);
/** An amount that is not a BIGINT is kept as 0: the grant attempt then refuses it (and dead-letters it). */
const storableAmount = (amount: string): string => (/^-?\d{1,18}$/.test(amount) ? amount : '0');

export function createDeferredGrantStore(sql: Sql): DeferredGrantStore {
  return {
    async enqueue(conn, input, at) {
      const { source } = input;
      await txSql(conn).write(
        `INSERT INTO deferred_grants (payment_id, user_id, points_account_id, merchant_id, amount, currency, paid_at,
           reason, source_topic, source_partition, source_offset, source_event_id, source_event_type, source_key,
           source_value, traceparent, tracestate, state, attempts, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'PENDING', 0, ?, ?, ?)
         ON DUPLICATE KEY UPDATE
           attempts = IF(state = 'DEAD', 0, attempts),
           next_attempt_at = IF(state = 'DEAD', ?, next_attempt_at),
           updated_at = IF(state = 'DEAD', ?, updated_at),
           state = IF(state = 'DEAD', 'PENDING', state)`,
        [
          input.paymentId.slice(0, 64),
          input.userId.slice(0, 128),
          input.pointsAccountId === '' ? null : input.pointsAccountId.slice(0, 128),
          input.merchantId.slice(0, 128),
          storableAmount(input.amount),
          input.currency.slice(0, 3),
          input.paidAt,
          input.reason.slice(0, 32),
          source.topic,
          source.partition,
          source.offset,
          source.eventId,
          source.eventType,
          source.key === null ? null : source.key.slice(0, 128),
          source.value,
          source.traceparent?.slice(0, 55) ?? null,
          source.tracestate?.slice(0, 512) ?? null,
          at,
          at,
          at,
          at,
          at,
        ],
      );
    },

    async claimDue(claim, limit, holdMs) {
      await sql.write(
        `UPDATE deferred_grants
            SET claim = ?, attempts = attempts + 1, next_attempt_at = NOW(3) + INTERVAL ? MICROSECOND
          WHERE state = 'PENDING' AND next_attempt_at <= NOW(3)
          ORDER BY next_attempt_at
          LIMIT ?`,
        [claim, holdMs * 1000, limit],
      );
      const rows = await sql.rows(
        `SELECT ${columns} FROM deferred_grants WHERE state = 'PENDING' AND claim = ?`,
        [claim],
      );
      return rows.map(toDeferredGrant);
    },

    async markDone(paymentId, claim) {
      await sql.write(
        `UPDATE deferred_grants SET state = 'DONE', claim = NULL, last_error = NULL, updated_at = NOW(3)
          WHERE payment_id = ? AND claim = ? AND state = 'PENDING'`,
        [paymentId, claim],
      );
    },

    async reschedule(paymentId, claim, delayMs, error) {
      await sql.write(
        `UPDATE deferred_grants
            SET next_attempt_at = NOW(3) + INTERVAL ? MICROSECOND, claim = NULL, last_error = ?, updated_at = NOW(3)
          WHERE payment_id = ? AND claim = ? AND state = 'PENDING'`,
        [delayMs * 1000, clip(error), paymentId, claim],
      );
    },

    async markDead(conn, paymentId, claim, error) {
      const changed = await txSql(conn).write(
        `UPDATE deferred_grants SET state = 'DEAD', claim = NULL, last_error = ?, updated_at = NOW(3)
          WHERE payment_id = ? AND claim = ? AND state = 'PENDING'`,
        [clip(error), paymentId, claim],
      );
      return changed === 1;
    },

    async find(paymentId) {
      const [row] = await sql.rows(`SELECT ${columns} FROM deferred_grants WHERE payment_id = ?`, [
        paymentId,
      ]);
      return row === undefined ? undefined : toDeferredGrant(row);
    },

    purgeDone: (before, limit) =>
      sql.write(`DELETE FROM deferred_grants WHERE state = 'DONE' AND updated_at < ? LIMIT ?`, [
        before,
        limit,
      ]),
  };
}
