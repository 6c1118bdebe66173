import {
  dateOrNull,
  date,
  isDuplicateKey,
  num,
  text,
  textOrNull,
  txSql,
  type Row,
  type Sql,
  type Tx,
} from '../sql.js';
import {
  CURRENCY,
  type Charge,
  type ChargeDeclineReason,
  type ChargePurpose,
  type ChargeRefund,
  type ChargeSource,
  type ChargeStatus,
  type RefundStatus,
} from './charge.js';

/** SQL of `charges` and `charge_refunds`. */
export interface ChargeStore {
  /** Inserts a new charge; false when its id is taken (a concurrent or earlier request). */
  insert(charge: Charge): Promise<boolean>;
  find(chargeId: string): Promise<Charge | undefined>;
  /** Writes the final state over PENDING only; false when another request finished it first. */
  finish(charge: Charge): Promise<boolean>;
  /** The charge, locked until the transaction ends. */
  lockCharge(conn: Tx, chargeId: string): Promise<Charge | undefined>;
  findRefund(refundId: string, conn?: Tx): Promise<ChargeRefund | undefined>;
  /** Writes a PENDING refund and reserves its amount on the charge (in the caller's transaction). */
  insertRefund(conn: Tx, refund: ChargeRefund): Promise<void>;
  completeRefund(refundId: string, reference: string, at: Date): Promise<void>;
}

const chargeColumns = `charge_id, user_id, amount, currency, bank_account_id, card_id, purpose, client_ip,
  status, decline_reason, authorization_code, refunded_amount, created_at, finished_at`;
const refundColumns = 'refund_id, charge_id, amount, status, reference, created_at, finished_at';

function sourceOf(row: Row): ChargeSource {
  const cardId = textOrNull(row['card_id']);
  return cardId === null
    ? { kind: 'bank_account', bankAccountId: text(row['bank_account_id']) }
    : { kind: 'card', cardId };
}

const toCharge = (row: Row): Charge => ({
  chargeId: text(row['charge_id']),
  userId: text(row['user_id']),
  amount: num(row['amount']),
  currency: CURRENCY,
  source: sourceOf(row),
  purpose: text(row['purpose']) as ChargePurpose,
  clientIp: text(row['client_ip']),
  status: text(row['status']) as ChargeStatus,
  declineReason: textOrNull(row['decline_reason']) as ChargeDeclineReason | null,
  authorizationCode: textOrNull(row['authorization_code']),
  refundedAmount: num(row['refunded_amount']),
  createdAt: date(row['created_at']),
  finishedAt: dateOrNull(row['finished_at']),
});

const toRefund = (row: Row): ChargeRefund => ({
  refundId: text(row['refund_id']),
  chargeId: text(row['charge_id']),
  amount: num(row['amount']),
  status: text(row['status']) as RefundStatus,
  reference: textOrNull(row['reference']),
  createdAt: date(row['created_at']),
  finishedAt: dateOrNull(row['finished_at']),
});

export function createChargeStore(sql: Sql): ChargeStore {
  return {
    async insert(charge) {
      try {
        await sql.write(
          `INSERT INTO charges (${chargeColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            charge.chargeId,
            charge.userId,
            charge.amount,
            charge.currency,
            charge.source.kind === 'bank_account' ? charge.source.bankAccountId : null,
            charge.source.kind === 'card' ? charge.source.cardId : null,
            charge.purpose,
            charge.clientIp,
            charge.status,
            charge.declineReason,
            charge.authorizationCode,
            charge.refundedAmount,
            charge.createdAt,
            charge.finishedAt,
          ],
        );
        return true;
      } catch (error) {
        if (isDuplicateKey(error)) return false;
        throw error;
      }
    },

    async find(chargeId) {
      const [row] = await sql.rows(`SELECT ${chargeColumns} FROM charges WHERE charge_id = ?`, [chargeId]);
      return row === undefined ? undefined : toCharge(row);
    },

    async finish(charge) {
      const changed = await sql.write(
        `UPDATE charges SET status = ?, decline_reason = ?, authorization_code = ?, finished_at = ?
          WHERE charge_id = ? AND status = 'PENDING'`,
        [charge.status, charge.declineReason, charge.authorizationCode, charge.finishedAt, charge.chargeId],
      );
      return changed === 1;
    },

    async lockCharge(conn, chargeId) {
      const [row] = await txSql(conn).rows(
        `SELECT ${chargeColumns} FROM charges WHERE charge_id = ? FOR UPDATE`,
        [chargeId],
      );
      return row === undefined ? undefined : toCharge(row);
    },

    async findRefund(refundId, conn) {
      const [row] = await (conn === undefined ? sql : txSql(conn)).rows(
        `SELECT ${refundColumns} FROM charge_refunds WHERE refund_id = ?`,
        [refundId],
      );
      return row === undefined ? undefined : toRefund(row);
    },

    async insertRefund(conn, refund) {
      const tx = txSql(conn);
      await tx.write(`INSERT INTO charge_refunds (${refundColumns}) VALUES (?, ?, ?, ?, ?, ?, ?)`, [
        refund.refundId,
        refund.chargeId,
        refund.amount,
        refund.status,
        refund.reference,
        refund.createdAt,
        refund.finishedAt,
      ]);
      await tx.write('UPDATE charges SET refunded_amount = refunded_amount + ? WHERE charge_id = ?', [
        refund.amount,
        refund.chargeId,
      ]);
    },

    async completeRefund(refundId, reference, at) {
      await sql.write(
        `UPDATE charge_refunds SET status = 'COMPLETED', reference = ?, finished_at = ?
          WHERE refund_id = ? AND status = 'PENDING'`,
        [reference, at, refundId],
      );
    },
  };
}
