import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@koban/platform';
import { createSweeper, type SweepTask } from './sweeper.js';

const logger = createLogger({ service: 'payment-test', level: 'silent' });

void describe('sweeper', () => {
  void it('runs every task and the housekeeping once per sweep, a failing task not stopping the others', async () => {
    const ran: string[] = [];
    const tasks: SweepTask[] = [
      { name: 'payments', run: () => Promise.reject(new Error('database down')) },
      { name: 'refunds', run: (limit) => (ran.push(`refunds:${limit}`), Promise.resolve(2)) },
    ];
    const sweeper = createSweeper({
      tasks,
      housekeeping: () => (ran.push('housekeeping'), Promise.resolve(0)),
      intervalMs: 1_000,
      batchSize: 10,
      logger,
    });
    assert.deepEqual(await sweeper.runOnce(), { payments: 0, refunds: 2 });
    assert.deepEqual(ran, ['refunds:10', 'housekeeping']);
  });

  void it('sweeps again at once after a full batch, pauses otherwise, and stops cleanly', async () => {
    let sweeps = 0;
    const sweeper = createSweeper({
      tasks: [{ name: 'payments', run: (limit) => Promise.resolve(++sweeps < 3 ? limit : 0) }],
      housekeeping: () => Promise.resolve(0),
      intervalMs: 60_000,
      batchSize: 5,
      logger,
    });
    sweeper.start();
    sweeper.start();
    const deadline = Date.now() + 2_000;
    while (sweeps < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(sweeps, 3, 'two full batches, then the one that found less');
    const stopped = Date.now();
    await sweeper.stop();
    assert.ok(Date.now() - stopped < 500, 'stop does not wait out the pause');
    assert.equal(sweeps, 3);
  });
});
