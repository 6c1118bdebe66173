// The sweeper's row claims against the real schema: top-ups are swept while PROCESSING, the
// others while PENDING, and postponing or noting an attempt must touch exactly the open rows.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { poolSql } from '../src/sql.js';
import { claimDue, noteTransferAttempt, postpone, type SweptTable } from '../src/sweeper/sweep-claims.js';
import { freshDatabase, type TestDatabase } from './support/test-database.js';

const topups: SweptTable = {
  table: 'topups',
  idColumn: 'topup_id',
  openStatus: 'PROCESSING',
  columns: 'topup_id',
};

describe('sweep claims on top-ups (open while PROCESSING)', () => {
  let database: TestDatabase;
  before(async () => {
    database = await freshDatabase();
  });
  after(() => database.drop());

  async function insertTopup(status: 'PROCESSING' | 'COMPLETED'): Promise<string> {
    const topupId = `top_${randomUUID().slice(0, 12)}`;
    await database.db.query(
      `INSERT INTO topups (topup_id, idempotency_caller_id, idempotency_key, user_id, account_id,
         settlement_account_id, amount, currency, source_kind, source_id, status, charge_id,
         ledger_transfer_id, created_at, last_transfer_at, next_sweep_at)
       VALUES (?, 'u', ?, 'u', 'acc', 'settle', 100, 'JPY', 'bank', 'ba', ?, ?, ?,
         NOW(3) - INTERVAL 1 MINUTE, NOW(3) - INTERVAL 1 MINUTE, NOW(3) - INTERVAL 1 SECOND)`,
      [topupId, randomUUID(), status, `chg_${topupId}`, `ltr_${topupId}`],
    );
    return topupId;
  }

  const row = async (topupId: string) =>
    (
      await database.db.query(
        'SELECT next_sweep_at > NOW(3) + INTERVAL 30 SECOND AS far, last_transfer_at FROM topups WHERE topup_id = ?',
        [topupId],
      )
    )[0];

  it('postpones a PROCESSING top-up and leaves a finished one alone', async () => {
    const open = await insertTopup('PROCESSING');
    const done = await insertTopup('COMPLETED');
    const sql = poolSql(database.db);
    await postpone(sql, topups, open, 60_000);
    await postpone(sql, topups, done, 60_000);
    assert.equal(Number((await row(open))?.['far']), 1, 'the open top-up waits a minute');
    assert.equal(Number((await row(done))?.['far']), 0, 'a finished top-up is not touched');
  });

  it('claims only due PROCESSING top-ups and notes their transfer attempts', async () => {
    const open = await insertTopup('PROCESSING');
    const sql = poolSql(database.db);
    const claimed = await claimDue(sql, topups, randomUUID(), 100, 60_000);
    assert.ok(claimed.some((r) => r['topup_id'] === open));
    const at = new Date(Date.now() + 5_000);
    await noteTransferAttempt(sql, topups, open, at);
    assert.equal(((await row(open))?.['last_transfer_at'] as Date).getTime(), Math.floor(at.getTime()));
  });
});
