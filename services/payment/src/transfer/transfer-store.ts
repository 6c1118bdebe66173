import { CURRENCY } from '../money.js';
import { claimDue, noteTransferAttempt, postpone, type SweptTable } from '../sweeper/sweep-claims.js';
import { date, dateOrNull, num, text, textOrNull, txSql, type Row, type Sql, type Tx } from '../sql.js';
import type { PeerTransfer, PeerTransferStatus } from './transfer.js';

/** SQL of `transfers` (P2P). */
export interface TransferStore {
  insert(conn: Tx, transfer: PeerTransfer, sweepableAt: Date): Promise<void>;
  find(transferId: string): Promise<PeerTransfer | undefined>;
  /** Writes a final state, only over PENDING; false when another driver finished it first. */
  finish(conn: Tx, transfer: PeerTransfer): Promise<boolean>;
  noteTransferAttempt(transferId: string, at: Date): Promise<void>;
  claimStuck(
    claim: string,
    limit: number,
    holdMs: number,
  ): Promise<Array<{ transfer: PeerTransfer; sweepAttempts: number }>>;
  postpone(transferId: string, delayMs: number): Promise<void>;
}

const columns = `transfer_id, idempotency_caller_id, idempotency_key, from_user_id, from_account_id, to_user_id,
  to_account_id, amount, currency, message, client_ip, status, decline_reason, ledger_transfer_id,
  traceparent, tracestate, created_at, finished_at, last_transfer_at`;

const swept: SweptTable = { table: 'transfers', idColumn: 'transfer_id', openStatus: 'PENDING', columns };

function toTransfer(row: Row): PeerTransfer {
  const traceparent = textOrNull(row['traceparent']);
  return {
    transferId: text(row['transfer_id']),
    idempotency: { callerId: text(row['idempotency_caller_id']), key: text(row['idempotency_key']) },
    fromUserId: text(row['from_user_id']),
    fromAccountId: text(row['from_account_id']),
    toUserId: text(row['to_user_id']),
    toAccountId: text(row['to_account_id']),
    amount: num(row['amount']),
    currency: CURRENCY,
    message: text(row['message']),
    clientIp: text(row['client_ip']),
    status: text(row['status']) as PeerTransferStatus,
    declineReason: textOrNull(row['decline_reason']) === 'INSUFFICIENT_FUNDS' ? 'INSUFFICIENT_FUNDS' : null,
    ledgerTransferId: text(row['ledger_transfer_id']),
    trace: traceparent === null ? null : { traceparent, tracestate: textOrNull(row['tracestate']) },
    createdAt: date(row['created_at']),
    finishedAt: dateOrNull(row['finished_at']),
    lastTransferAt: date(row['last_transfer_at']),
  };
}

export function createTransferStore(sql: Sql): TransferStore {
  return {
    async insert(conn, transfer, sweepableAt) {
      await txSql(conn).write(
        `INSERT INTO transfers (transfer_id, idempotency_caller_id, idempotency_key, from_user_id, from_account_id,
           to_user_id, to_account_id, amount, currency, message, client_ip, status, decline_reason,
           ledger_transfer_id, traceparent, tracestate, created_at, finished_at, last_transfer_at, next_sweep_at,
           sweep_attempts)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
        [
          transfer.transferId,
          transfer.idempotency.callerId,
          transfer.idempotency.key,
          transfer.fromUserId,
          transfer.fromAccountId,
          transfer.toUserId,
          transfer.toAccountId,
          transfer.amount,
          transfer.currency,
          transfer.message,
          transfer.clientIp,
          transfer.status,
          transfer.declineReason,
          transfer.ledgerTransferId,
          transfer.trace?.traceparent ?? null,
          transfer.trace?.tracestate ?? null,
          transfer.createdAt,
          transfer.finishedAt,
          transfer.lastTransferAt,
          sweepableAt,
        ],
      );
    },

    async find(transferId) {
      const [row] = await sql.rows(`SELECT ${columns} FROM transfers WHERE transfer_id = ?`, [transferId]);
      return row === undefined ? undefined : toTransfer(row);
    },

    async finish(conn, transfer) {
      const changed = await txSql(conn).write(
        `UPDATE transfers SET status = ?, decline_reason = ?, finished_at = ?
          WHERE transfer_id = ? AND status = 'PENDING'`,
        [transfer.status, transfer.declineReason, transfer.finishedAt, transfer.transferId],
      );
      return changed === 1;
    },

    noteTransferAttempt: (transferId, at) => noteTransferAttempt(sql, swept, transferId, at),

    async claimStuck(claim, limit, holdMs) {
      const rows = await claimDue(sql, swept, claim, limit, holdMs);
      return rows.map((row) => ({ transfer: toTransfer(row), sweepAttempts: num(row['sweep_attempts']) }));
    },

    postpone: (transferId, delayMs) => postpone(sql, swept, transferId, delayMs),
  };
}
