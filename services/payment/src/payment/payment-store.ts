import { date, dateOrNull, num, text, textOrNull, txSql, type Row, type Sql, type Tx } from '../sql.js';
import { CURRENCY } from '../money.js';
import { claimDue, noteTransferAttempt, postpone, type SweptTable } from '../sweeper/sweep-claims.js';
import type { Cashback, CashbackStatus, DeclineReason, Payment, PaymentStatus } from './payment.js';

/**
 * What {@link PaymentStore.settlePendingCashback} did: `settled`; or nothing, because the payment
 * has not recorded its cashback outcome yet (`not_completed`: it is still PENDING), its cashback
 * is not PENDING (`already_decided`: decided with the payment or settled before, or the payment
 * was declined or failed), or there is no such payment (`unknown`).
 */
export type PendingCashbackSettlement = 'settled' | 'not_completed' | 'already_decided' | 'unknown';

/** SQL of `payments`. */
export interface PaymentStore {
  /** Inserts a new PENDING payment; the sweeper leaves it alone until `sweepableAt`. */
  insert(conn: Tx, payment: Payment, sweepableAt: Date): Promise<void>;
  find(paymentId: string): Promise<Payment | undefined>;
  /** Writes a final state (and a completion's cashback), only over PENDING; false when another driver finished it first. */
  finish(conn: Tx, payment: Payment): Promise<boolean>;
  /**
   * Records a cashback campaign-promo decided after the payment completed with cashback PENDING,
   * only over PENDING: a replayed or late event changes nothing.
   */
  settlePendingCashback(conn: Tx, paymentId: string, cashback: Cashback): Promise<PendingCashbackSettlement>;
  /** Deletes a PENDING payment that recorded nothing after all (see `Reservation.forget`). */
  remove(conn: Tx, paymentId: string): Promise<void>;
  /** Notes that a transfer is about to be sent again (the sweeper's FAILED rule counts from it). */
  noteTransferAttempt(paymentId: string, at: Date): Promise<void>;
  /** Claims up to `limit` PENDING payments due for the sweeper, holding them `holdMs` (see sweep-claims.ts). */
  claimStuck(claim: string, limit: number, holdMs: number): Promise<StuckPayment[]>;
  /** Leaves a still-PENDING payment to the sweeper's next look in `delayMs`. */
  postpone(paymentId: string, delayMs: number): Promise<void>;
}

/** A claimed payment, and how often the sweeper looked at it. */
export interface StuckPayment {
  payment: Payment;
  sweepAttempts: number;
}

const columns = `payment_id, idempotency_caller_id, idempotency_key, payer_user_id, payer_account_id,
  merchant_id, merchant_account_id, amount, currency, method, card_id, card_fingerprint, charge_id,
  funding_account_id, points_account_id, qr_code_id, client_ip, status, decline_reason, ledger_transfer_id,
  refunded_amount, cashback_status, cashback_points, cashback_campaign_id, traceparent, tracestate,
  created_at, finished_at, last_transfer_at`;

const swept: SweptTable = { table: 'payments', idColumn: 'payment_id', openStatus: 'PENDING', columns };

function toPayment(row: Row): Payment {
  const traceparent = textOrNull(row['traceparent']);
  const cardId = textOrNull(row['card_id']);
  const payerAccountId = text(row['payer_account_id']);
  return {
    paymentId: text(row['payment_id']),
    idempotency: { callerId: text(row['idempotency_caller_id']), key: text(row['idempotency_key']) },
    payerUserId: text(row['payer_user_id']),
    payerAccountId,
    merchantId: text(row['merchant_id']),
    merchantAccountId: text(row['merchant_account_id']),
    amount: num(row['amount']),
    currency: CURRENCY,
    method: text(row['method']) === 'CARD' ? 'CARD' : 'WALLET',
    card: cardId === null ? null : { cardId, fingerprint: text(row['card_fingerprint']) },
    chargeId: textOrNull(row['charge_id']),
    fundingAccountId: textOrNull(row['funding_account_id']) ?? payerAccountId,
    pointsAccountId: textOrNull(row['points_account_id']),
    qrCodeId: textOrNull(row['qr_code_id']),
    clientIp: text(row['client_ip']),
    status: text(row['status']) as PaymentStatus,
    declineReason: textOrNull(row['decline_reason']) as DeclineReason | null,
    ledgerTransferId: text(row['ledger_transfer_id']),
    refundedAmount: num(row['refunded_amount']),
    cashback: {
      status: text(row['cashback_status']) as CashbackStatus,
      points: num(row['cashback_points']),
      campaignId: textOrNull(row['cashback_campaign_id']),
    },
    trace: traceparent === null ? null : { traceparent, tracestate: textOrNull(row['tracestate']) },
    createdAt: date(row['created_at']),
    finishedAt: dateOrNull(row['finished_at']),
    lastTransferAt: date(row['last_transfer_at']),
  };
}

export function createPaymentStore(sql: Sql): PaymentStore {
  return {
    async insert(conn, payment, sweepableAt) {
      await txSql(conn).write(
        `INSERT INTO payments (payment_id, idempotency_caller_id, idempotency_key, payer_user_id, payer_account_id,
           merchant_id, merchant_account_id, amount, currency, method, card_id, card_fingerprint, charge_id,
           funding_account_id, points_account_id, qr_code_id, client_ip, status, decline_reason,
           ledger_transfer_id, refunded_amount, refund_reserved_amount, cashback_status, cashback_points,
           cashback_campaign_id, traceparent, tracestate, created_at, finished_at, last_transfer_at,
           next_sweep_at, sweep_attempts)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
        [
          payment.paymentId,
          payment.idempotency.callerId,
          payment.idempotency.key,
          payment.payerUserId,
          payment.payerAccountId,
          payment.merchantId,
          payment.merchantAccountId,
          payment.amount,
          payment.currency,
          payment.method,
          payment.card?.cardId ?? null,
          payment.card?.fingerprint ?? null,
          payment.chargeId,
          payment.fundingAccountId,
          payment.pointsAccountId,
          payment.qrCodeId,
          payment.clientIp,
          payment.status,
          payment.declineReason,
          payment.ledgerTransferId,
          payment.cashback.status,
          payment.cashback.points,
          payment.cashback.campaignId,
          payment.trace?.traceparent ?? null,
          payment.trace?.tracestate ?? null,
          payment.createdAt,
          payment.finishedAt,
          payment.lastTransferAt,
          sweepableAt,
        ],
      );
    },

    async find(paymentId) {
      const [row] = await sql.rows(`SELECT ${columns} FROM payments WHERE payment_id = ?`, [paymentId]);
      return row === undefined ? undefined : toPayment(row);
    },

    async finish(conn, payment) {
      const changed = await txSql(conn).write(
        `UPDATE payments SET status = ?, decline_reason = ?, finished_at = ?, cashback_status = ?,
                cashback_points = ?, cashback_campaign_id = ?
          WHERE payment_id = ? AND status = 'PENDING'`,
        [
          payment.status,
          payment.declineReason,
          payment.finishedAt,
          payment.cashback.status,
          payment.cashback.points,
          payment.cashback.campaignId,
          payment.paymentId,
        ],
      );
      return changed === 1;
    },

    async settlePendingCashback(conn, paymentId, cashback) {
      const tx = txSql(conn);
      const changed = await tx.write(
        `UPDATE payments SET cashback_status = ?, cashback_points = ?, cashback_campaign_id = ?
          WHERE payment_id = ? AND cashback_status = 'PENDING'`,
        [cashback.status, cashback.points, cashback.campaignId, paymentId],
      );
      if (changed === 1) return 'settled';
      const [row] = await tx.rows('SELECT status FROM payments WHERE payment_id = ?', [paymentId]);
      if (row === undefined) return 'unknown';
      return text(row['status']) === 'PENDING' ? 'not_completed' : 'already_decided';
    },

    async remove(conn, paymentId) {
      await txSql(conn).write(`DELETE FROM payments WHERE payment_id = ? AND status = 'PENDING'`, [
        paymentId,
      ]);
    },

    noteTransferAttempt: (paymentId, at) => noteTransferAttempt(sql, swept, paymentId, at),

    async claimStuck(claim, limit, holdMs) {
      const rows = await claimDue(sql, swept, claim, limit, holdMs);
      return rows.map((row) => ({ payment: toPayment(row), sweepAttempts: num(row['sweep_attempts']) }));
    },

    postpone: (paymentId, delayMs) => postpone(sql, swept, paymentId, delayMs),
  };
}
