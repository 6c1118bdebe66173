import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PAYMENT_ID_ATTRIBUTE, createInMemorySpans, type InMemorySpans } from '@koban/platform';
import { metadataWith } from './support/grpc-metadata.js';
import { newKey, startHarness, type Harness } from './support/payment-harness.js';

void describe('payment telemetry', { timeout: 60_000 }, () => {
  let h: Harness;
  let spans: InMemorySpans;
  before(async () => {
    h = await startHarness();
    spans = createInMemorySpans();
  });
  after(async () => {
    await spans.shutdown();
    await h.close();
  });

  const scenario = (amount = 1_000, balance = 10_000) => {
    const payer = h.newUser(balance);
    const merchant = h.newMerchant();
    const request = {
      idempotencyKey: newKey(),
      callerId: payer.userId,
      payerUserId: payer.userId,
      merchantId: merchant.merchantId,
      amount,
      currency: 'JPY',
      clientIp: '203.0.113.7',
    };
    return { payer, merchant, request };
  };

  const payments = async (method: string, status: string): Promise<number> =>
    (await h.metrics.value('koban.payments', { method, status })) ?? 0;

  void it('counts a payment once when it reaches its outcome, never for a replay of its key', async () => {
    const completedBefore = await payments('WALLET', 'COMPLETED');
    const declinedBefore = await payments('WALLET', 'DECLINED');

    const { request } = scenario(1_000);
    const first = await h.client.createPayment(request);
    const replay = await h.client.createPayment(request);
    assert.equal(replay.replayed, true);
    assert.equal(replay.payment?.paymentId, first.payment?.paymentId);

    const poor = scenario(5_000, 100);
    const declined = await h.client.createPayment(poor.request);
    assert.equal(declined.payment?.status, 'PAYMENT_STATUS_DECLINED');
    await h.client.createPayment(poor.request);

    assert.equal(await payments('WALLET', 'COMPLETED'), completedBefore + 1);
    assert.equal(await payments('WALLET', 'DECLINED'), declinedBefore + 1);
  });

  void it('counts a payment left PENDING once, when the retry under its key completes it', async () => {
    const before = await payments('WALLET', 'COMPLETED');
    const { request } = scenario(700);
    h.ledger.down = true;
    try {
      await assert.rejects(h.client.createPayment(request), { code: 'service_unavailable' });
    } finally {
      h.ledger.down = false;
    }
    assert.equal(await payments('WALLET', 'COMPLETED'), before);
    const { payment } = await h.client.createPayment(request);
    assert.equal(payment?.status, 'PAYMENT_STATUS_COMPLETED');
    await h.client.createPayment(request);
    assert.equal(await payments('WALLET', 'COMPLETED'), before + 1);
  });

  // The handlers are called in a span standing for the gRPC server span the instrumentation
  // makes in a running service: the tag must land on the span active in the handler.
  // Handlers read only the metadata of their call; `never` lets one stand-in serve every RPC.
  const call = (entries: Record<string, string> = {}): never =>
    ({ metadata: metadataWith(entries) }) as never;
  /** The request as the server decodes it (every scalar present, int64 as a string). */
  const decoded = (request: ReturnType<typeof scenario>['request']) => ({
    ...request,
    amount: String(request.amount),
    payee: 'merchantId' as const,
    method: 'PAYMENT_METHOD_WALLET' as const,
    cardId: '',
  });
  const taggedWith = (name: string): unknown => {
    const span = spans.finished().findLast((s) => s.name === name);
    assert.ok(span, `no ${name} span`);
    return span.attributes[PAYMENT_ID_ATTRIBUTE];
  };

  void it('tags the active span of CreatePayment, its replay and GetPayment with koban.payment.id', async () => {
    const { payer, request } = scenario(1_100);
    const created = await spans.inSpan('create', () =>
      h.app.handlers.CreatePayment(decoded(request), call()),
    );
    const paymentId = created.payment?.paymentId;
    assert.match(paymentId ?? '', /^pmt_/);
    assert.equal(taggedWith('create'), paymentId);

    const replayed = await spans.inSpan('replay', () =>
      h.app.handlers.CreatePayment(decoded(request), call()),
    );
    assert.equal(replayed.replayed, true);
    assert.equal(taggedWith('replay'), paymentId);

    await spans.inSpan('get', () =>
      h.app.handlers.GetPayment({ paymentId: paymentId ?? '' }, call({ 'koban-caller-id': payer.userId })),
    );
    assert.equal(taggedWith('get'), paymentId);
  });

  void it('tags a CreatePayment that fails after the payment was created', async () => {
    const { request } = scenario(800);
    h.ledger.down = true;
    try {
      await assert.rejects(
        spans.inSpan('failing', () => h.app.handlers.CreatePayment(decoded(request), call())),
        { code: 'service_unavailable' },
      );
    } finally {
      h.ledger.down = false;
    }
    const [row] = await h.rows('SELECT payment_id FROM payments WHERE idempotency_key = ?', [
      request.idempotencyKey,
    ]);
    assert.ok(row, 'the payment row exists');
    assert.equal(taggedWith('failing'), row['payment_id']);
  });

  void it('tags CreateRefund and GetRefund with the refunded payment’s id', async () => {
    const { merchant, request } = scenario(1_000);
    const { payment } = await h.client.createPayment(request);
    const paymentId = payment?.paymentId ?? '';
    const { refund } = await spans.inSpan('refund', () =>
      h.app.handlers.CreateRefund(
        { idempotencyKey: newKey(), callerId: merchant.merchantId, paymentId, amount: '300' },
        call(),
      ),
    );
    assert.equal(taggedWith('refund'), paymentId);
    await spans.inSpan('get-refund', () =>
      h.app.handlers.GetRefund(
        { refundId: refund?.refundId ?? '' },
        call({ 'koban-caller-id': merchant.merchantId }),
      ),
    );
    assert.equal(taggedWith('get-refund'), paymentId);
  });
});
