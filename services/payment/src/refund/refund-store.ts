import { CURRENCY } from '../money.js';
import { claimDue, noteTransferAttempt, postpone, type SweptTable } from '../sweeper/sweep-claims.js';
import { date, dateOrNull, num, text, textOrNull, txSql, type Row, type Sql, type Tx } from '../sql.js';
import type { ClawbackStatus, Refund, RefundablePayment, RefundStatus } from './refund.js';

/** The payment a refund is for, as locked for it. */
export interface LockedPayment extends RefundablePayment {
  paymentId: string;
  merchantId: string;
  merchantAccountId: string;
  payerUserId: string;
  payerAccountId: string;
  refundedAmount: number;
  /** The payment's cashback status (NONE, GRANTED, PENDING). */
  cashbackStatus: string;
}

/** SQL of `refunds`, and of the refund totals kept on `payments`. */
export interface RefundStore {
  /** The payment row, locked (`FOR UPDATE`) until the transaction ends. */
  lockPayment(conn: Tx, paymentId: string): Promise<LockedPayment | undefined>;
  /** Inserts a PENDING refund and reserves its amount on the payment (locked by the caller). */
  insert(conn: Tx, refund: Refund, sweepableAt: Date): Promise<void>;
  find(refundId: string): Promise<Refund | undefined>;
  /**
   * Writes a final state over PENDING, under the payment's lock: a completion adds to the
   * payment's refunded total, a failure gives the reservation back. Answers the payment's amount
   * and refunded total after it, or undefined when another driver finished the refund first.
   */
  finish(conn: Tx, refund: Refund): Promise<{ paymentAmount: number; totalRefunded: number } | undefined>;
  /** Records campaign-promo's clawback of a COMPLETED refund (its points and CLAWED_BACK). */
  recordClawback(conn: Tx, refund: Refund): Promise<void>;
  noteTransferAttempt(refundId: string, at: Date): Promise<void>;
  claimStuck(
    claim: string,
    limit: number,
    holdMs: number,
  ): Promise<Array<{ refund: Refund; sweepAttempts: number }>>;
  postpone(refundId: string, delayMs: number): Promise<void>;
}

const columns = `refund_id, payment_id, idempotency_caller_id, idempotency_key, merchant_id, merchant_account_id,
  payer_user_id, payer_account_id, amount, currency, status, ledger_transfer_id, clawback_status, clawed_back_points,
  traceparent, tracestate, created_at, finished_at, last_transfer_at`;

const swept: SweptTable = { table: 'refunds', idColumn: 'refund_id', openStatus: 'PENDING', columns };

function toRefund(row: Row): Refund {
  const traceparent = textOrNull(row['traceparent']);
  return {
    refundId: text(row['refund_id']),
    paymentId: text(row['payment_id']),
    idempotency: { callerId: text(row['idempotency_caller_id']), key: text(row['idempotency_key']) },
    merchantId: text(row['merchant_id']),
    merchantAccountId: text(row['merchant_account_id']),
    payerUserId: text(row['payer_user_id']),
    payerAccountId: text(row['payer_account_id']),
    amount: num(row['amount']),
    currency: CURRENCY,
    status: text(row['status']) as RefundStatus,
    ledgerTransferId: text(row['ledger_transfer_id']),
    clawbackStatus: text(row['clawback_status']) as ClawbackStatus,
    clawedBackPoints: num(row['clawed_back_points']),
    trace: traceparent === null ? null : { traceparent, tracestate: textOrNull(row['tracestate']) },
    createdAt: date(row['created_at']),
    finishedAt: dateOrNull(row['finished_at']),
    lastTransferAt: date(row['last_transfer_at']),
  };
}

export function createRefundStore(sql: Sql): RefundStore {
  return {
    async lockPayment(conn, paymentId) {
      const [row] = await txSql(conn).rows(
        `SELECT payment_id, status, merchant_id, merchant_account_id, payer_user_id, payer_account_id, amount,
                refund_reserved_amount, refunded_amount, cashback_status
           FROM payments WHERE payment_id = ? FOR UPDATE`,
        [paymentId],
      );
      if (row === undefined) return undefined;
      return {
        paymentId: text(row['payment_id']),
        status: text(row['status']),
        cashbackStatus: text(row['cashback_status']),
        merchantId: text(row['merchant_id']),
        merchantAccountId: text(row['merchant_account_id']),
        payerUserId: text(row['payer_user_id']),
        payerAccountId: text(row['payer_account_id']),
        amount: num(row['amount']),
        reservedAmount: num(row['refund_reserved_amount']),
        refundedAmount: num(row['refunded_amount']),
      };
    },

    async insert(conn, refund, sweepableAt) {
      const tx = txSql(conn);
      await tx.write(
        `INSERT INTO refunds (refund_id, payment_id, idempotency_caller_id, idempotency_key, merchant_id,
           merchant_account_id, payer_user_id, payer_account_id, amount, currency, status, ledger_transfer_id,
           clawback_status, clawed_back_points, traceparent, tracestate, created_at, finished_at, last_transfer_at,
           next_sweep_at, sweep_attempts)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
        [
          refund.refundId,
          refund.paymentId,
          refund.idempotency.callerId,
          refund.idempotency.key,
          refund.merchantId,
          refund.merchantAccountId,
          refund.payerUserId,
          refund.payerAccountId,
          refund.amount,
          refund.currency,
          refund.status,
          refund.ledgerTransferId,
          refund.clawbackStatus,
          refund.clawedBackPoints,
          refund.trace?.traceparent ?? null,
          refund.trace?.tracestate ?? null,
          refund.createdAt,
          refund.finishedAt,
          refund.lastTransferAt,
          sweepableAt,
        ],
      );
      await tx.write(
        'UPDATE payments SET refund_reserved_amount = refund_reserved_amount + ? WHERE payment_id = ?',
        [refund.amount, refund.paymentId],
      );
    },

    async find(refundId) {
      const [row] = await sql.rows(`SELECT ${columns} FROM refunds WHERE refund_id = ?`, [refundId]);
      return row === undefined ? undefined : toRefund(row);
    },

    async finish(conn, refund) {
      const tx = txSql(conn);
      // Payment first, then refund: the order every refund transaction locks them in.
      const [payment] = await tx.rows('SELECT amount FROM payments WHERE payment_id = ? FOR UPDATE', [
        refund.paymentId,
      ]);
      const changed = await tx.write(
        `UPDATE refunds SET status = ?, finished_at = ?, clawback_status = ?
          WHERE refund_id = ? AND status = 'PENDING'`,
        [refund.status, refund.finishedAt, refund.clawbackStatus, refund.refundId],
      );
      if (changed !== 1 || payment === undefined) return undefined;
      await tx.write(
        refund.status === 'COMPLETED'
          ? 'UPDATE payments SET refunded_amount = refunded_amount + ? WHERE payment_id = ?'
          : 'UPDATE payments SET refund_reserved_amount = refund_reserved_amount - ? WHERE payment_id = ?',
        [refund.amount, refund.paymentId],
      );
      const [totals] = await tx.rows('SELECT amount, refunded_amount FROM payments WHERE payment_id = ?', [
        refund.paymentId,
      ]);
      return { paymentAmount: num(totals?.['amount']), totalRefunded: num(totals?.['refunded_amount']) };
    },

    async recordClawback(conn, refund) {
      await txSql(conn).write(
        `UPDATE refunds SET clawback_status = ?, clawed_back_points = ? WHERE refund_id = ? AND status = 'COMPLETED'`,
        [refund.clawbackStatus, refund.clawedBackPoints, refund.refundId],
      );
    },

    noteTransferAttempt: (refundId, at) => noteTransferAttempt(sql, swept, refundId, at),

    async claimStuck(claim, limit, holdMs) {
      const rows = await claimDue(sql, swept, claim, limit, holdMs);
      return rows.map((row) => ({ refund: toRefund(row), sweepAttempts: num(row['sweep_attempts']) }));
    },

    postpone: (refundId, delayMs) => postpone(sql, swept, refundId, delayMs),
  };
}
