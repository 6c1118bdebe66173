import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildWaterfall,
  isTraceId,
  msToNs,
  renderWaterfall,
  spansFromJaeger,
  spansFromOtlpJson,
  spansFromOtlpJsonLines,
  tracesOfPayment,
  type WaterfallSpan,
} from './waterfall.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const T0 = 1_700_000_000_000; // ms since the epoch

function span(
  spanId: string,
  parentSpanId: string | undefined,
  service: string,
  name: string,
  startMs: number,
  endMs: number,
  extra: Partial<WaterfallSpan> = {},
): WaterfallSpan {
  return {
    traceId: TRACE,
    spanId,
    parentSpanId,
    service,
    name,
    kind: 'internal',
    startNs: msToNs(T0 + startMs),
    endNs: msToNs(T0 + endMs),
    error: false,
    attributes: {},
    ...extra,
  };
}

/** gateway → payment → (fraud 10 ms, campaign-promo 60 ms): campaign-promo holds 60 % of the trace. */
function slowCampaignTrace(): WaterfallSpan[] {
  return [
    span('a1', undefined, 'gateway', 'POST /v1/payments', 0, 100),
    span('b1', 'a1', 'payment', 'grpc.koban.payment.v1.PaymentService/CreatePayment', 5, 95),
    span('c1', 'b1', 'fraud', 'grpc.koban.fraud.v1.FraudService/Assess', 10, 20),
    span('d1', 'b1', 'campaign-promo', 'grpc.koban.campaign.v1.CampaignService/GrantCashback', 30, 90),
  ];
}

test('the tree follows parent ids and orders children by start time with offsets from the trace start', () => {
  const w = buildWaterfall([...slowCampaignTrace()].reverse());
  assert.equal(w.traceId, TRACE);
  assert.equal(w.durationMs, 100);
  assert.deepEqual(
    w.nodes.map((n) => [n.span.service, n.depth, n.offsetMs, n.durationMs]),
    [
      ['gateway', 0, 0, 100],
      ['payment', 1, 5, 90],
      ['fraud', 2, 10, 10],
      ['campaign-promo', 2, 30, 60],
    ],
  );
  assert.equal(w.roots.length, 1);
  assert.deepEqual(
    w.roots[0].children[0].children.map((n) => n.span.spanId),
    ['c1', 'd1'],
  );
});

test('self time is the duration not covered by children', () => {
  const w = buildWaterfall(slowCampaignTrace());
  const self = Object.fromEntries(w.nodes.map((n) => [n.span.service, n.selfMs]));
  assert.deepEqual(self, { gateway: 10, payment: 20, fraud: 10, 'campaign-promo': 60 });
});

test('overlapping (parallel) children are counted once in the parent self time', () => {
  const w = buildWaterfall([
    span('p', undefined, 'payment', 'CreatePayment', 0, 100),
    span('x', 'p', 'redis', 'GET', 10, 50),
    span('y', 'p', 'mysql', 'INSERT', 30, 70),
    // A child running past its parent's end (asynchronous) only counts up to that end.
    span('z', 'p', 'kafka', 'send', 90, 130),
  ]);
  const parent = w.nodes.find((n) => n.span.spanId === 'p')!;
  assert.equal(parent.selfMs, 100 - 60 - 10);
});

test('the span with the largest self time over the threshold is the bottleneck', () => {
  const w = buildWaterfall(slowCampaignTrace());
  assert.deepEqual(
    w.bottlenecks.map((n) => n.span.service),
    ['campaign-promo'],
  );
  assert.equal(w.bottlenecks[0].bottleneckRank, 1);
  assert.equal(w.nodes.find((n) => n.span.service === 'payment')!.bottleneckRank, undefined);
});

test('two spans over the threshold are ranked bottleneck and second bottleneck', () => {
  const w = buildWaterfall([
    span('a', undefined, 'gateway', 'POST /v1/payments', 0, 1000),
    span('b', 'a', 'payment', 'CreatePayment', 0, 1000),
    span('c', 'b', 'fraud', 'Assess', 0, 340),
    span('d', 'b', 'campaign-promo', 'GrantCashback', 400, 1000),
  ]);
  assert.deepEqual(
    w.bottlenecks.map((n) => [n.span.service, n.bottleneckRank]),
    [
      ['campaign-promo', 1],
      ['fraud', 2],
    ],
  );
  const text = renderWaterfall(w);
  assert.match(text, /campaign-promo: GrantCashback \(600ms\) ← bottleneck \(self 600ms, 60%\)/);
  assert.match(text, /fraud: Assess \(340ms\) ← second bottleneck/);
});

test('when no span reaches the threshold the largest self time is still named', () => {
  const w = buildWaterfall(
    [
      span('a', undefined, 'gateway', 'GET', 0, 100),
      span('b', 'a', 'payment', 'x', 0, 25),
      span('c', 'a', 'ledger', 'y', 25, 50),
      span('d', 'a', 'fraud', 'z', 50, 78),
      span('e', 'a', 'campaign-promo', 'w', 78, 100),
    ],
    { bottleneckShare: 0.5 },
  );
  assert.deepEqual(
    w.bottlenecks.map((n) => n.span.service),
    ['fraud'],
  );
});

test('a span whose parent is missing becomes a root, and duplicate spans are drawn once', () => {
  const spans = slowCampaignTrace();
  const w = buildWaterfall([
    ...spans,
    spans[2],
    span('q', 'not-exported', 'fraud', 'consume payments.v1', 120, 130),
  ]);
  assert.equal(w.spanCount, 5);
  assert.deepEqual(
    w.roots.map((n) => n.span.spanId),
    ['a1', 'q'],
  );
});

test('a child starting after its parent ended shows the wait (an asynchronous hop)', () => {
  const w = buildWaterfall([
    span('p', undefined, 'payment', 'payments.v1 publish', 0, 2),
    span('c', 'p', 'campaign-promo', 'payments.v1 process', 342, 350),
  ]);
  const consumer = w.nodes.find((n) => n.span.spanId === 'c')!;
  assert.equal(consumer.waitedMs, 340);
  assert.match(renderWaterfall(w), /→ campaign-promo: payments\.v1 process \(8ms\) \(waited 340ms\)/);
});

test('the rendering indents one level per depth, marks errors and starts with the trace summary', () => {
  const spans = slowCampaignTrace();
  spans[2] = { ...spans[2], error: true };
  const lines = renderWaterfall(buildWaterfall(spans)).split('\n');
  assert.equal(lines[0], `trace ${TRACE}  100ms  4 spans`);
  assert.match(lines[1], /^\s+\+0ms gateway: POST \/v1\/payments \(100ms\)$/);
  assert.match(lines[2], /^\s+\+5ms {3}→ payment: /);
  assert.match(lines[3], /^\s+\+10ms {5}→ fraud: .*\(10ms\) ✗ error$/);
});

test('spans of several traces are refused', () => {
  assert.throws(
    () =>
      buildWaterfall([
        ...slowCampaignTrace(),
        { ...slowCampaignTrace()[0], traceId: 'f'.repeat(32), spanId: 'zz' },
      ]),
    /2 traces/,
  );
  assert.throws(() => buildWaterfall([]), /no spans/);
});

/** An ExportTraceServiceRequest as the collector's file exporter writes it (OTLP/JSON). */
const otlpLine = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'payment' } }] },
      scopeSpans: [
        {
          scope: { name: '@opentelemetry/instrumentation-grpc' },
          spans: [
            {
              traceId: TRACE.toUpperCase(),
              spanId: '00f067aa0ba902b7',
              parentSpanId: '',
              name: 'grpc.koban.payment.v1.PaymentService/CreatePayment',
              kind: 2,
              startTimeUnixNano: '1700000000000000000',
              endTimeUnixNano: '1700000000012500000',
              attributes: [
                { key: 'koban.payment.id', value: { stringValue: 'pay_1' } },
                { key: 'rpc.grpc.status_code', value: { intValue: '0' } },
              ],
              status: {},
            },
            {
              traceId: TRACE,
              spanId: '00f067aa0ba902b8',
              parentSpanId: '00f067aa0ba902b7',
              name: 'INSERT',
              kind: 'SPAN_KIND_CLIENT',
              startTimeUnixNano: '1700000000001000000',
              endTimeUnixNano: '1700000000003000000',
              status: { code: 2, message: 'deadlock' },
            },
          ],
        },
      ],
    },
  ],
};

test('OTLP JSON spans take the service from the resource and normalise ids, kinds and status', () => {
  const [root, child] = spansFromOtlpJson(otlpLine);
  assert.equal(root.service, 'payment');
  assert.equal(root.traceId, TRACE);
  assert.equal(root.parentSpanId, undefined);
  assert.equal(root.kind, 'server');
  assert.equal(root.endNs - root.startNs, 12_500_000n);
  assert.equal(root.attributes['koban.payment.id'], 'pay_1');
  assert.equal(root.attributes['rpc.grpc.status_code'], 0);
  assert.equal(root.error, false);
  assert.equal(child.kind, 'client');
  assert.equal(child.error, true);
  assert.equal(buildWaterfall([root, child]).nodes[1].offsetMs, 1);
});

test('a JSON-lines file is read line by line and bad lines are counted, not fatal', () => {
  const text = `${JSON.stringify(otlpLine)}\n{not json\n\n${JSON.stringify(otlpLine)}\n`;
  const { spans, badLines } = spansFromOtlpJsonLines(text);
  assert.equal(spans.length, 4);
  assert.equal(badLines, 1);
});

test('Jaeger API traces map process ids to services and CHILD_OF references to parents', () => {
  const [trace] = spansFromJaeger({
    data: [
      {
        traceID: TRACE,
        processes: { p1: { serviceName: 'gateway' }, p2: { serviceName: 'payment' } },
        spans: [
          {
            traceID: TRACE,
            spanID: 'aa',
            operationName: 'POST',
            startTime: 1_000_000,
            duration: 12_000,
            processID: 'p1',
            tags: [],
          },
          {
            traceID: TRACE,
            spanID: 'bb',
            operationName: 'CreatePayment',
            references: [{ refType: 'CHILD_OF', traceID: TRACE, spanID: 'aa' }],
            startTime: 1_002_000,
            duration: 8_000,
            processID: 'p2',
            tags: [
              { key: 'error', type: 'bool', value: true },
              { key: 'span.kind', type: 'string', value: 'server' },
            ],
          },
        ],
      },
    ],
  });
  assert.equal(trace.length, 2);
  const [a, b] = trace;
  assert.equal(a.service, 'gateway');
  assert.equal(b.service, 'payment');
  assert.equal(b.parentSpanId, 'aa');
  assert.equal(b.kind, 'server');
  assert.equal(b.error, true);
  const w = buildWaterfall(trace);
  assert.deepEqual(
    w.nodes.map((n) => [n.span.service, n.offsetMs, n.durationMs]),
    [
      ['gateway', 0, 12],
      ['payment', 2, 8],
    ],
  );
});

test('a payment id selects every span of the traces that carry it, and nothing else', () => {
  const other = span('o', undefined, 'gateway', 'GET /v1/me', 0, 5, { traceId: 'e'.repeat(32) });
  const spans = slowCampaignTrace();
  spans[1] = { ...spans[1], attributes: { 'koban.payment.id': 'pay_42' } };
  const traces = tracesOfPayment([...spans, other], 'pay_42');
  assert.equal(traces.length, 1);
  assert.equal(traces[0].length, 4);
  assert.deepEqual(tracesOfPayment(spans, 'pay_unknown'), []);
});

test('trace ids are 32 hex digits, not all zero', () => {
  assert.equal(isTraceId(TRACE), true);
  assert.equal(isTraceId('0'.repeat(32)), false);
  assert.equal(isTraceId('pay_01HZX'), false);
  assert.equal(isTraceId(TRACE.slice(1)), false);
});
