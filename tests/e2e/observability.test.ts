// One trace per payment, across every hop (issue 7): the platform is restarted with its OTLP
// endpoint pointed at a receiver in this test, a QR payment earns cashback through the retry
// queue (campaign-promo too slow for the payment's 2 s budget, so cashback is PENDING and
// granted later from Kafka), and the receiver must hold one trace spanning the gateway, payment,
// fraud, ledger and campaign-promo, their SQL and Redis spans, the Kafka produce and the
// consumer's processing, with every parent link intact across the outbox. Then `pnpm trace`
// names campaign-promo as the bottleneck of a payment it slowed by 500 ms, and every log line of
// a payment carries its trace id. The platform is restarted without the endpoint afterwards.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  createCampaign,
  createMerchant,
  createQr,
  createUser,
  creditWallet,
  eventually,
  userBalance,
} from '../support/api-client.js';
import {
  SpanKind,
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
} from '../support/otlp-receiver.js';
import { restartPlatform } from '../support/platform.js';
import { clearFault, pay, setFault } from '../support/resilience.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

/** The chain of spans from `span` up to its root (parents looked up among `spans`). */
function ancestry(span: ReceivedSpan, spans: ReceivedSpan[]): ReceivedSpan[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const chain = [span];
  let current = span;
  while (current.parentSpanId) {
    const parent = byId.get(current.parentSpanId);
    if (!parent) break;
    chain.push(parent);
    current = parent;
  }
  return chain;
}

const isSql = (span: ReceivedSpan) =>
  span.attributes['db.system.name'] === 'mysql' || span.attributes['db.system'] === 'mysql';
const isRedis = (span: ReceivedSpan) =>
  span.attributes['db.system.name'] === 'redis' || span.attributes['db.system'] === 'redis';
const isKafka = (span: ReceivedSpan) =>
  span.attributes['messaging.system'] === 'kafka' || span.scope.includes('kafkajs');

describe('one trace per payment', () => {
  let receiver: OtlpReceiver;

  before(async () => {
    receiver = await startOtlpReceiver();
    // A short batch delay so spans reach the receiver within a second or so.
    await restartPlatform({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '500' });
  });

  after(async () => {
    await restartPlatform({ OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_BSP_SCHEDULE_DELAY: '5000' });
    await receiver.close();
  });

  it('follows a QR payment whose cashback is granted by the retry queue across every hop, the outbox and Kafka', async () => {
    const user = await createUser();
    const shop = await createMerchant();
    await createCampaign(shop);
    await creditWallet(user.userId, 10_000);
    const qr = await createQr(shop, 1_000);

    // campaign-promo slower than the 2 s cashback budget: the payment completes with cashback
    // PENDING and a CashbackDeferred event; the retry queue grants it from Kafka.
    await setFault('campaign-promo', { method: 'GrantCashback', latencyMs: 3_000, ttlSeconds: 60 });
    let response: Awaited<ReturnType<typeof pay>>;
    try {
      response = await pay(user, { qrPayload: qr });
    } finally {
      await clearFault('campaign-promo');
    }
    assert.equal(response.status, 201, JSON.stringify(response.body));
    assert.equal(response.body.status, 'COMPLETED');
    assert.equal(response.body.cashback.status, 'PENDING');
    const traceId = response.headers.get('x-trace-id') ?? '';
    assert.match(traceId, /^[0-9a-f]{32}$/);
    await eventually(
      'the deferred cashback granted',
      60_000,
      async () => (await userBalance(user)).points === 100,
    );

    // The retry queue's grant (its span continues the stored trace) and its ledger call end it.
    const grantToLedger = (spans: ReceivedSpan[]) =>
      spans.find(
        (s) =>
          s.service === 'campaign-promo' &&
          s.kind === SpanKind.CLIENT &&
          String(s.attributes['rpc.service'] ?? s.name).includes('LedgerService') &&
          ancestry(s, spans).some((a) => a.name === 'cashback.retry-queue grant'),
      );
    await eventually('the whole trace received', 60_000, () =>
      Promise.resolve(grantToLedger(receiver.trace(traceId)) !== undefined),
    ).catch((error: unknown) => {
      for (const s of receiver.trace(traceId))
        console.log(s.service, s.kind, s.name, s.spanId, s.parentSpanId);
      throw error;
    });
    // Spans of one trace arrive from six exporters in batches: wait until every parent is there.
    await eventually('every parent span received', 30_000, () => {
      const spans = receiver.trace(traceId);
      const ids = new Set(spans.map((s) => s.spanId));
      return Promise.resolve(spans.every((s) => !s.parentSpanId || ids.has(s.parentSpanId)));
    });
    const spans = receiver.trace(traceId);

    const services = new Set(spans.map((s) => s.service));
    for (const service of ['gateway', 'payment', 'fraud', 'ledger', 'campaign-promo'])
      assert.ok(services.has(service), `the trace has ${service} spans (has ${[...services].join(', ')})`);

    const roots = spans.filter((s) => !s.parentSpanId);
    assert.equal(roots.length, 1, `one root: ${roots.map((r) => `${r.service} ${r.name}`).join('; ')}`);
    assert.equal(roots[0]?.service, 'gateway');
    assert.equal(roots[0]?.kind, SpanKind.SERVER);
    assert.equal(roots[0]?.name, 'POST /v1/payments');
    assert.equal(roots[0]?.attributes['http.route'], '/v1/payments');

    const sqlServices = new Set(spans.filter(isSql).map((s) => s.service));
    for (const service of ['payment', 'ledger', 'campaign-promo'])
      assert.ok(sqlServices.has(service), `SQL spans of ${service} (have ${[...sqlServices].join(', ')})`);
    assert.ok(spans.some(isRedis), 'Redis spans');
    for (const span of spans.filter(isSql)) {
      assert.doesNotMatch(
        String(span.attributes['db.query.text'] ?? ''),
        /4111|'[^']*'/,
        'statements are masked',
      );
    }

    const producers = spans.filter((s) => s.kind === SpanKind.PRODUCER && isKafka(s));
    const consumers = spans.filter((s) => s.kind === SpanKind.CONSUMER && isKafka(s));
    assert.ok(
      producers.some((s) => s.service === 'payment'),
      'payment (its outbox relay) produced to Kafka',
    );
    const retryQueueConsumer = consumers.find(
      (s) => s.service === 'campaign-promo' && s.attributes['messaging.destination.name'] === 'cashback.v1',
    );
    assert.ok(retryQueueConsumer, 'campaign-promo consumed the CashbackDeferred event within the trace');

    // Across the outbox: the consumer descends from a Kafka produce, which descends from the
    // payment's own server span, which descends from the gateway's HTTP span.
    const chain = ancestry(retryQueueConsumer, spans);
    const producerIndex = chain.findIndex((s) => s.kind === SpanKind.PRODUCER);
    assert.ok(producerIndex > 0, 'the consumer span descends from the producer span');
    const above = chain.slice(producerIndex);
    assert.ok(
      above.some((s) => s.service === 'payment' && s.kind === SpanKind.SERVER),
      'the produce descends from payment’s CreatePayment span',
    );
    assert.equal(chain.at(-1)?.spanId, roots[0]?.spanId, 'and the chain reaches the gateway root');
    const grant = grantToLedger(spans);
    assert.ok(
      grant && ancestry(grant, spans).at(-1)?.spanId === roots[0]?.spanId,
      'the late grant is in the same tree',
    );

    const grpcServers = new Set(spans.filter((s) => s.kind === SpanKind.SERVER).map((s) => s.service));
    for (const service of ['payment', 'fraud', 'ledger'])
      assert.ok(grpcServers.has(service), `${service} served a gRPC call in the trace`);
    console.log(
      `[observability] trace ${traceId}: ${spans.length} spans from ${[...services].join(', ')}; ` +
        `${spans.filter(isSql).length} SQL, ${spans.filter(isRedis).length} Redis, ${producers.length} produce, ${consumers.length} consume`,
    );

    // Every log line the payment wrote carries its trace id, in every service it touched.
    const paymentId = response.body.paymentId;
    let logLines = 0;
    for (const service of ['gateway', 'payment', 'campaign-promo']) {
      const lines = readFileSync(path.join(root, '.run/logs', `${service}.log`), 'utf8')
        .split('\n')
        .filter((line) => line.includes(paymentId));
      for (const line of lines)
        assert.match(line, new RegExp(`"trace_id":"${traceId}"`), `${service}: ${line}`);
      logLines += lines.length;
    }
    assert.ok(logLines > 0, 'the payment was logged');
  });

  it('names campaign-promo as the bottleneck of a payment it slowed by 500 ms (pnpm trace)', async () => {
    const user = await createUser();
    const shop = await createMerchant();
    await createCampaign(shop);
    await creditWallet(user.userId, 10_000);

    await setFault('campaign-promo', { method: 'GrantCashback', latencyMs: 500, ttlSeconds: 60 });
    let response: Awaited<ReturnType<typeof pay>>;
    try {
      response = await pay(user, { merchantId: shop.merchantId, amount: 1_000, currency: 'JPY' });
    } finally {
      await clearFault('campaign-promo');
    }
    assert.equal(response.status, 201, JSON.stringify(response.body));
    assert.equal(response.body.cashback.status, 'GRANTED');
    const { paymentId } = response.body;

    let output = '';
    await eventually('pnpm trace finds the payment', 60_000, async () => {
      try {
        ({ stdout: output } = await run(
          process.execPath,
          ['--import', 'tsx', 'scripts/trace-waterfall.ts', paymentId],
          {
            cwd: root,
            timeout: 120_000,
            maxBuffer: 16 * 1024 * 1024,
          },
        ));
        return /campaign-promo/.test(output);
      } catch {
        return false;
      }
    });
    console.log(output);
    const bottleneckLines = output.split('\n').filter((line) => /bottleneck/i.test(line));
    assert.ok(bottleneckLines.length > 0, 'a bottleneck is marked');
    assert.match(bottleneckLines[0] ?? '', /campaign-promo/, 'the worst bottleneck is campaign-promo');
  });
});
