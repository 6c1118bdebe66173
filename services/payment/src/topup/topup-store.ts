import type { ChargeSource } from '../downstream/bank-port.js';
import { CURRENCY } from '../money.js';
import { date, dateOrNull, num, text, textOrNull, txSql, type Row, type Sql, type Tx } from '../sql.js';
import { claimDue, noteTransferAttempt, postpone, type SweptTable } from '../sweeper/sweep-claims.js';
import type { Topup, TopupFailureReason, TopupStatus } from './topup.js';

/** SQL of `topups`. */
export interface TopupStore {
  /** Inserts a new PROCESSING top-up; the retrier leaves it alone until `sweepableAt`. */
  insert(conn: Tx, topup: Topup, sweepableAt: Date): Promise<void>;
  find(topupId: string): Promise<Topup | undefined>;
  /** Writes a final state, only over PROCESSING; false when another driver finished it first. */
  finish(conn: Tx, topup: Topup): Promise<boolean>;
  /** Deletes a PROCESSING top-up that recorded nothing after all (see `Reservation.forget`). */
  remove(conn: Tx, topupId: string): Promise<void>;
  /** Notes that a charge is about to be sent again (the TIMED_OUT rule counts from it). */
  noteTransferAttempt(topupId: string, at: Date): Promise<void>;
  /** Claims up to `limit` PROCESSING top-ups due for the retrier, holding them `holdMs` (see sweep-claims.ts). */
  claimStuck(claim: string, limit: number, holdMs: number): Promise<StuckTopup[]>;
  /** Leaves a still-PROCESSING top-up to the retrier's next look in `delayMs`. */
  postpone(topupId: string, delayMs: number): Promise<void>;
}

export interface StuckTopup {
  topup: Topup;
  sweepAttempts: number;
}

const columns = `topup_id, idempotency_caller_id, idempotency_key, user_id, account_id, settlement_account_id,
  amount, currency, source_kind, source_id, client_ip, status, failure_reason, charge_id, ledger_transfer_id,
  traceparent, tracestate, created_at, finished_at, last_transfer_at`;

const swept: SweptTable = { table: 'topups', idColumn: 'topup_id', openStatus: 'PROCESSING', columns };

function toSource(kind: string, id: string): ChargeSource {
  return kind === 'CARD' ? { kind: 'card', cardId: id } : { kind: 'bank_account', bankAccountId: id };
}

function toTopup(row: Row): Topup {
  const traceparent = textOrNull(row['traceparent']);
  return {
    topupId: text(row['topup_id']),
    idempotency: { callerId: text(row['idempotency_caller_id']), key: text(row['idempotency_key']) },
    userId: text(row['user_id']),
    accountId: text(row['account_id']),
    settlementAccountId: text(row['settlement_account_id']),
    amount: num(row['amount']),
    currency: CURRENCY,
    source: toSource(text(row['source_kind']), text(row['source_id'])),
    clientIp: text(row['client_ip']),
    status: text(row['status']) as TopupStatus,
    failureReason: textOrNull(row['failure_reason']) as TopupFailureReason | null,
    chargeId: text(row['charge_id']),
    ledgerTransferId: text(row['ledger_transfer_id']),
    trace: traceparent === null ? null : { traceparent, tracestate: textOrNull(row['tracestate']) },
    createdAt: date(row['created_at']),
    finishedAt: dateOrNull(row['finished_at']),
    lastTransferAt: date(row['last_transfer_at']),
  };
}

export function createTopupStore(sql: Sql): TopupStore {
  return {
    async insert(conn, topup, sweepableAt) {
      await txSql(conn).write(
        `INSERT INTO topups (topup_id, idempotency_caller_id, idempotency_key, user_id, account_id,
           settlement_account_id, amount, currency, source_kind, source_id, client_ip, status, failure_reason,
           charge_id, ledger_transfer_id, traceparent, tracestate, created_at, finished_at, last_transfer_at,
           next_sweep_at, sweep_attempts)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
        [
          topup.topupId,
          topup.idempotency.callerId,
          topup.idempotency.key,
          topup.userId,
          topup.accountId,
          topup.settlementAccountId,
          topup.amount,
          topup.currency,
          topup.source.kind === 'card' ? 'CARD' : 'BANK_ACCOUNT',
          topup.source.kind === 'card' ? topup.source.cardId : topup.source.bankAccountId,
          topup.clientIp,
          topup.status,
          topup.failureReason,
          topup.chargeId,
          topup.ledgerTransferId,
          topup.trace?.traceparent ?? null,
          topup.trace?.tracestate ?? null,
          topup.createdAt,
          topup.finishedAt,
          topup.lastTransferAt,
          sweepableAt,
        ],
      );
    },

    async find(topupId) {
      const [row] = await sql.rows(`SELECT ${columns} FROM topups WHERE topup_id = ?`, [topupId]);
      return row === undefined ? undefined : toTopup(row);
    },

    async finish(conn, topup) {
      const changed = await txSql(conn).write(
        `UPDATE topups SET status = ?, failure_reason = ?, finished_at = ?
          WHERE topup_id = ? AND status = 'PROCESSING'`,
        [topup.status, topup.failureReason, topup.finishedAt, topup.topupId],
      );
      return changed === 1;
    },

    async remove(conn, topupId) {
      await txSql(conn).write(`DELETE FROM topups WHERE topup_id = ? AND status = 'PROCESSING'`, [topupId]);
    },

    noteTransferAttempt: (topupId, at) => noteTransferAttempt(sql, swept, topupId, at),

    async claimStuck(claim, limit, holdMs) {
      const rows = await claimDue(sql, swept, claim, limit, holdMs);
      return rows.map((row) => ({ topup: toTopup(row), sweepAttempts: num(row['sweep_attempts']) }));
    },

    postpone: (topupId, delayMs) => postpone(sql, swept, topupId, delayMs),
  };
}
