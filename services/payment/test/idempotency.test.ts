import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from '@koban/platform';
import { newKey, startHarness, type Harness, type HarnessOptions } from './support/payment-harness.js';

/** The same behaviours with Redis up (the fast path) and down (the database alone). */
for (const [label, options] of [
  ['with Redis', {}],
  ['with Redis unavailable', { redisUrl: 'redis://127.0.0.1:1' }],
] as Array<[string, HarnessOptions]>) {
  void describe(`idempotency keys ${label}`, { timeout: 60_000 }, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness(options);
    });
    after(() => h.close());

    const scenario = (amount = 1_000) => {
      const payer = h.newUser(100_000);
      const merchant = h.newMerchant();
      return {
        payer,
        merchant,
        request: {
          idempotencyKey: newKey(),
          callerId: payer.userId,
          payerUserId: payer.userId,
          merchantId: merchant.merchantId,
          amount,
          currency: 'JPY',
        },
      };
    };

    const transfersFor = (payerAccountId: string) =>
      h.ledger.transferCalls.filter((call) => call.postings[0]?.fromAccountId === payerAccountId);

    void it('replays the original answer for the same key and request, moving money once', async () => {
      const { payer, request } = scenario(1_500);
      const first = await h.client.createPayment(request);
      const second = await h.client.createPayment({ ...request, clientIp: '198.51.100.1' });
      assert.equal(first.replayed, false);
      assert.equal(second.replayed, true);
      assert.deepEqual(second.payment, first.payment);
      assert.equal(transfersFor(payer.accountId).length, 1);
      assert.equal(h.ledger.balance(payer.accountId), 98_500);
    });

    void it('replays a declined payment as declined', async () => {
      const payer = h.newUser(10);
      const { request } = scenario(1_000);
      const declinedRequest = { ...request, callerId: payer.userId, payerUserId: payer.userId };
      const first = await h.client.createPayment(declinedRequest);
      const again = await h.client.createPayment(declinedRequest);
      assert.equal(first.payment?.status, 'PAYMENT_STATUS_DECLINED');
      assert.equal(again.replayed, true);
      assert.deepEqual(again.payment, first.payment);
    });

    void it('refuses the same key with another request, as idempotency_key_reused', async () => {
      const { request } = scenario(1_000);
      await h.client.createPayment(request);
      await assert.rejects(h.client.createPayment({ ...request, amount: 1_001 }), {
        code: 'idempotency_key_reused',
        status: 6,
      });
    });

    void it('answers idempotency_in_progress while the first request with the key still runs', async () => {
      const { payer, request } = scenario(1_000);
      h.ledger.transferDelayMs = 400;
      try {
        const first = h.client.createPayment(request);
        await new Promise((resolve) => setTimeout(resolve, 150));
        await assert.rejects(h.client.createPayment(request), {
          code: 'idempotency_in_progress',
          status: 10,
        });
        await assert.rejects(h.client.createPayment({ ...request, amount: 2_000 }), {
          code: 'idempotency_key_reused',
        });
        assert.equal((await first).payment?.status, 'PAYMENT_STATUS_COMPLETED');
      } finally {
        h.ledger.transferDelayMs = 0;
      }
      assert.equal(transfersFor(payer.accountId).length, 1);
    });

    void it('gives 50 concurrent identical requests exactly one payment and one ledger transfer', async () => {
      const { payer, request } = scenario(700);
      h.ledger.transferDelayMs = 50;
      let results: Array<PromiseSettledResult<Awaited<ReturnType<Harness['client']['createPayment']>>>>;
      try {
        results = await Promise.allSettled(Array.from({ length: 50 }, () => h.client.createPayment(request)));
      } finally {
        h.ledger.transferDelayMs = 0;
      }
      const paymentIds = new Set<string>();
      let fresh = 0;
      for (const result of results) {
        if (result.status === 'fulfilled') {
          paymentIds.add(result.value.payment?.paymentId ?? '');
          if (!result.value.replayed) fresh += 1;
        } else {
          assert.ok(result.reason instanceof DomainError, String(result.reason));
          assert.equal(result.reason.code, 'idempotency_in_progress');
        }
      }
      assert.equal(fresh, 1, 'one request did the work');
      assert.equal(paymentIds.size, 1, 'every answer names the same payment');
      const rows = await h.rows('SELECT payment_id FROM payments WHERE payer_user_id = ?', [payer.userId]);
      assert.equal(rows.length, 1);
      const calls = transfersFor(payer.accountId);
      assert.equal(calls.length, 1);
      assert.equal(calls[0]?.transferId, `pay_${String(rows[0]?.['payment_id'])}`);
      assert.equal(h.ledger.balance(payer.accountId), 99_300);

      // Once done, the key answers the stored result.
      const replay = await h.client.createPayment(request);
      assert.equal(replay.replayed, true);
      assert.equal(replay.payment?.paymentId, rows[0]?.['payment_id']);
    });

    void it('scopes keys to the caller: two payers may use the same key', async () => {
      const a = scenario(100);
      const b = scenario(100);
      const key = newKey();
      const first = await h.client.createPayment({ ...a.request, idempotencyKey: key });
      const second = await h.client.createPayment({ ...b.request, idempotencyKey: key });
      assert.equal(second.replayed, false);
      assert.notEqual(first.payment?.paymentId, second.payment?.paymentId);
    });

    void it('does not consume a key on an error that recorded nothing', async () => {
      const { request } = scenario(100);
      await assert.rejects(h.client.createPayment({ ...request, merchantId: 'mch_nobody' }), {
        code: 'not_found',
      });
      const { payment, replayed } = await h.client.createPayment(request);
      assert.equal(replayed, false);
      assert.equal(payment?.status, 'PAYMENT_STATUS_COMPLETED');
    });

    void it('refuses a missing or oversized key, as invalid_request', async () => {
      const { request } = scenario(100);
      await assert.rejects(h.client.createPayment({ ...request, idempotencyKey: '' }), {
        code: 'invalid_request',
      });
      await assert.rejects(h.client.createPayment({ ...request, idempotencyKey: 'k'.repeat(256) }), {
        code: 'invalid_request',
      });
    });

    void it('keeps keys at least 24 hours', async () => {
      const { request } = scenario(100);
      await h.client.createPayment(request);
      const [row] = await h.rows(
        `SELECT TIMESTAMPDIFF(SECOND, completed_at, expires_at) AS kept, state, LENGTH(response) AS bytes
           FROM idempotency_keys WHERE caller_id = ? AND idempotency_key = ?`,
        [request.callerId, request.idempotencyKey],
      );
      assert.equal(row?.['state'], 'COMPLETED');
      assert.ok(Number(row?.['kept']) >= 24 * 3600);
      assert.ok(Number(row?.['bytes']) > 0);
    });
  });
}
