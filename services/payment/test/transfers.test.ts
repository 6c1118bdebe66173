import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEnvelope } from '@koban/platform';
import { newKey, startHarness, type Harness } from './support/payment-harness.js';

void describe('P2P transfers', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  const scenario = (amount = 1_000, balance = 5_000) => {
    const sender = h.newUser(balance);
    const recipient = h.newUser(0);
    return {
      sender,
      recipient,
      request: {
        idempotencyKey: newKey(),
        callerId: sender.userId,
        fromUserId: sender.userId,
        toUserId: recipient.userId,
        amount,
        currency: 'JPY',
        message: 'ramen 🍜',
      },
    };
  };

  void it('moves money between wallets and announces TransferCompleted keyed by the sender', async () => {
    const { sender, recipient, request } = scenario(1_200);
    const { transfer, replayed } = await h.client.createTransfer(request);
    assert.equal(replayed, false);
    assert.ok(transfer);
    assert.match(transfer.transferId, /^p2p_/);
    assert.equal(transfer.status, 'TRANSFER_STATUS_COMPLETED');
    assert.equal(transfer.amount, '1200');
    assert.equal(transfer.message, 'ramen 🍜');
    assert.equal(h.ledger.balance(sender.accountId), 3_800);
    assert.equal(h.ledger.balance(recipient.accountId), 1_200);
    const applied = h.ledger.applied.get(`peer_${transfer.transferId}`);
    assert.equal(applied?.kind, 'TRANSFER_KIND_PEER');
    assert.equal(applied.description, 'ramen 🍜');

    const [row] = await h.rows('SELECT topic, event_type, payload FROM outbox WHERE event_key = ?', [
      sender.accountId,
    ]);
    assert.equal(row?.['topic'], 'payments.v1');
    assert.equal(row?.['event_type'], 'TransferCompleted');
    const event = decodeEnvelope(row?.['payload'] as Buffer).transferCompleted;
    assert.equal(event?.transferId, transfer.transferId);
    assert.equal(event.fromAccountId, sender.accountId);
    assert.equal(event.toAccountId, recipient.accountId);
    assert.equal(event.toUserId, recipient.userId);
    assert.equal(event.message, 'ramen 🍜');
    assert.equal(event.ledgerTransferId, `peer_${transfer.transferId}`);
  });

  void it('declines for insufficient funds', async () => {
    const { sender, request } = scenario(6_000, 5_000);
    const { transfer } = await h.client.createTransfer(request);
    assert.equal(transfer?.status, 'TRANSFER_STATUS_DECLINED');
    assert.equal(transfer.declineReason, 'DECLINE_REASON_INSUFFICIENT_FUNDS');
    assert.equal(h.ledger.balance(sender.accountId), 5_000);
  });

  void it('refuses an unknown recipient, as not_found', async () => {
    const { request } = scenario();
    await assert.rejects(h.client.createTransfer({ ...request, toUserId: 'usr_nobody' }), {
      code: 'not_found',
    });
  });

  void it('refuses a transfer to oneself, as invalid_request', async () => {
    const { sender, request } = scenario();
    await assert.rejects(h.client.createTransfer({ ...request, toUserId: sender.userId }), {
      code: 'invalid_request',
      details: { fields: { toUserId: 'cannot transfer to yourself' } },
    });
  });

  void it('accepts a message of 140 characters, emoji included, and refuses 141', async () => {
    const { request } = scenario(10);
    const { transfer } = await h.client.createTransfer({ ...request, message: '🍣'.repeat(140) });
    assert.equal(transfer?.status, 'TRANSFER_STATUS_COMPLETED');
    await assert.rejects(
      h.client.createTransfer({ ...request, idempotencyKey: newKey(), message: 'x'.repeat(141) }),
      {
        code: 'invalid_request',
      },
    );
  });

  void it("refuses moving another user's money, another currency, and amounts out of range", async () => {
    const { request } = scenario();
    await assert.rejects(h.client.createTransfer({ ...request, callerId: h.newUser().userId }), {
      code: 'not_found',
    });
    await assert.rejects(h.client.createTransfer({ ...request, currency: 'EUR' }), {
      code: 'unsupported_currency',
    });
    await assert.rejects(h.client.createTransfer({ ...request, amount: 0 }), { code: 'amount_out_of_range' });
  });

  void it('replays for the same key and refuses it with another request', async () => {
    const { sender, request } = scenario(500);
    const first = await h.client.createTransfer(request);
    const again = await h.client.createTransfer(request);
    assert.equal(again.replayed, true);
    assert.deepEqual(again.transfer, first.transfer);
    assert.equal(h.ledger.balance(sender.accountId), 4_500);
    await assert.rejects(h.client.createTransfer({ ...request, message: 'other' }), {
      code: 'idempotency_key_reused',
    });
  });

  void it('shows a transfer to its sender and recipient only', async () => {
    const { sender, recipient, request } = scenario(100);
    const { transfer } = await h.client.createTransfer(request);
    assert.ok(transfer);
    const asCaller = (callerId: string) =>
      h.client.getTransfer(
        { transferId: transfer.transferId },
        h.withMetadata({ 'koban-caller-id': callerId }),
      );
    assert.deepEqual((await asCaller(sender.userId)).transfer, transfer);
    assert.deepEqual((await asCaller(recipient.userId)).transfer, transfer);
    await assert.rejects(asCaller(h.newUser().userId), { code: 'not_found' });
  });

  void it('has the sweeper complete a transfer whose answer was lost', async () => {
    const { sender, recipient, request } = scenario(700);
    h.ledger.loseTransferAnswers = true;
    try {
      await assert.rejects(h.client.createTransfer(request), { code: 'service_unavailable' });
    } finally {
      h.ledger.loseTransferAnswers = false;
    }
    await h.app.sweeper.runOnce();
    const { transfer, replayed } = await h.client.createTransfer(request);
    assert.equal(replayed, true);
    assert.equal(transfer?.status, 'TRANSFER_STATUS_COMPLETED');
    assert.equal(h.ledger.balance(sender.accountId), 4_300);
    assert.equal(h.ledger.balance(recipient.accountId), 700);
  });
});
