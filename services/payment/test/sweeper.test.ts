import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, newKey, startHarness, type Harness } from './support/payment-harness.js';

void describe('the running sweeper', { timeout: 30_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  void it('completes a stuck payment on its own, and stops when asked', async () => {
    const payer = h.newUser(10_000);
    const merchant = h.newMerchant();
    const request = {
      idempotencyKey: newKey(),
      callerId: payer.userId,
      payerUserId: payer.userId,
      merchantId: merchant.merchantId,
      amount: 3_000,
      currency: 'JPY',
    };
    h.ledger.loseTransferAnswers = true;
    try {
      await assert.rejects(h.client.createPayment(request), { code: 'service_unavailable' });
    } finally {
      h.ledger.loseTransferAnswers = false;
    }

    h.app.sweeper.start();
    const status = await eventually(async () => {
      const [row] = await h.rows('SELECT status FROM payments WHERE payer_user_id = ?', [payer.userId]);
      return row?.['status'] === 'COMPLETED' ? 'COMPLETED' : undefined;
    });
    await h.app.sweeper.stop();
    assert.equal(status, 'COMPLETED');
    assert.equal(h.ledger.balance(merchant.accountId), 3_000);
    const [outbox] = await h.rows('SELECT COUNT(*) AS n FROM outbox WHERE event_key = ?', [payer.accountId]);
    assert.equal(Number(outbox?.['n']), 1);
  });
});
