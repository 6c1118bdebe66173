/**
 * A trace as an indented waterfall: the span tree, each span's self time (its duration not
 * covered by its children) and the bottleneck(s). Pure: no I/O. Spans come from the two sources
 * `pnpm trace` reads, each in its own published format:
 * - OTLP JSON (`ExportTraceServiceRequest`, one per line), as the collector's `file` exporter writes;
 * - Jaeger's HTTP query API (`GET /api/traces/{traceId}`, `GET /api/traces?service=&tags=`).
 */

/** The span attribute that carries a payment id, so that a payment's traces can be found. */
export const PAYMENT_ID_ATTRIBUTE = 'koban.payment.id';

/** Share of the whole trace a span's self time must reach to be called a bottleneck. */
export const DEFAULT_BOTTLENECK_SHARE = 0.3;

export type AttributeValue = string | number | boolean;

/** One span, reduced to what the waterfall needs. Times in nanoseconds since the epoch. */
export interface WaterfallSpan {
  traceId: string;
  spanId: string;
  /** Absent (or not in the trace) for a root. */
  parentSpanId?: string | undefined;
  service: string;
  name: string;
  /** OTel span kind as a word: server, client, producer, consumer, internal. */
  kind: string;
  startNs: bigint;
  endNs: bigint;
  error: boolean;
  attributes: Record<string, AttributeValue>;
}

export interface WaterfallNode {
  span: WaterfallSpan;
  depth: number;
  /** From the trace's first span start, in ms. */
  offsetMs: number;
  durationMs: number;
  /** Duration minus the union of the children's intervals (clipped to this span), in ms. */
  selfMs: number;
  /** selfMs / the trace's duration. */
  selfShare: number;
  /** Time between the parent's end and this span's start (an asynchronous hop, e.g. Kafka), in ms. */
  waitedMs: number;
  /** 1 for the worst bottleneck, 2 for the second, ...; undefined when not a bottleneck. */
  bottleneckRank?: number;
  children: WaterfallNode[];
}

export interface Waterfall {
  traceId: string;
  durationMs: number;
  spanCount: number;
  roots: WaterfallNode[];
  /** Every node in display order (depth first, children by start time). */
  nodes: WaterfallNode[];
  bottlenecks: WaterfallNode[];
}

const NS_PER_MS = 1_000_000n;

function nsToMs(ns: bigint): number {
  // Whole microseconds as a bigint first: exact, then small enough for a double.
  return Number(ns / 1000n) / 1000;
}

/** Total length of the union of [start, end) intervals, each clipped to [lo, hi). */
function coveredNs(intervals: Array<[bigint, bigint]>, lo: bigint, hi: bigint): bigint {
  const clipped = intervals
    .map(([s, e]): [bigint, bigint] => [s < lo ? lo : s, e > hi ? hi : e])
    .filter(([s, e]) => e > s)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let total = 0n;
  let curStart: bigint | undefined;
  let curEnd = 0n;
  for (const [s, e] of clipped) {
    if (curStart === undefined || s > curEnd) {
      if (curStart !== undefined) total += curEnd - curStart;
      curStart = s;
      curEnd = e;
    } else if (e > curEnd) {
      curEnd = e;
    }
  }
  if (curStart !== undefined) total += curEnd - curStart;
  return total;
}

/**
 * Builds the waterfall of ONE trace. Spans whose parent is missing (not exported, or sampled
 * away) become roots. Bottlenecks: spans whose self time is at least `bottleneckShare` of the
 * trace, worst first; when none reaches it, the one span with the largest self time.
 */
export function buildWaterfall(
  spans: readonly WaterfallSpan[],
  options: { bottleneckShare?: number } = {},
): Waterfall {
  if (spans.length === 0) throw new Error('no spans: nothing to draw');
  const traceIds = new Set(spans.map((s) => s.traceId));
  if (traceIds.size > 1) throw new Error(`spans of ${traceIds.size} traces given; draw one trace at a time`);
  const share = options.bottleneckShare ?? DEFAULT_BOTTLENECK_SHARE;

  // The same span can arrive twice (two export files, retried exports): keep one.
  const byId = new Map<string, WaterfallSpan>();
  for (const span of spans) byId.set(span.spanId, span);
  const unique = [...byId.values()];

  const traceStart = unique.reduce((min, s) => (s.startNs < min ? s.startNs : min), unique[0].startNs);
  const traceEnd = unique.reduce((max, s) => (s.endNs > max ? s.endNs : max), unique[0].endNs);
  const traceNs = traceEnd - traceStart;
  const traceMs = nsToMs(traceNs);

  const childrenOf = new Map<string, WaterfallSpan[]>();
  const roots: WaterfallSpan[] = [];
  for (const span of unique) {
    const parent = span.parentSpanId;
    if (parent && parent !== span.spanId && byId.has(parent)) {
      const list = childrenOf.get(parent) ?? [];
      list.push(span);
      childrenOf.set(parent, list);
    } else {
      roots.push(span);
    }
  }
  const byStart = (a: WaterfallSpan, b: WaterfallSpan): number =>
    a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : a.spanId.localeCompare(b.spanId);

  const nodes: WaterfallNode[] = [];
  const visited = new Set<string>();
  const build = (span: WaterfallSpan, depth: number, parent: WaterfallSpan | undefined): WaterfallNode => {
    visited.add(span.spanId);
    const kids = (childrenOf.get(span.spanId) ?? []).filter((k) => !visited.has(k.spanId)).sort(byStart);
    const durationNs = span.endNs > span.startNs ? span.endNs - span.startNs : 0n;
    const selfNs =
      durationNs -
      coveredNs(
        kids.map((k) => [k.startNs, k.endNs]),
        span.startNs,
        span.endNs,
      );
    const node: WaterfallNode = {
      span,
      depth,
      offsetMs: nsToMs(span.startNs - traceStart),
      durationMs: nsToMs(durationNs),
      selfMs: nsToMs(selfNs),
      selfShare: traceNs > 0n ? Number((selfNs * 1_000_000n) / traceNs) / 1_000_000 : 0,
      waitedMs: parent && span.startNs > parent.endNs ? nsToMs(span.startNs - parent.endNs) : 0,
      children: [],
    };
    nodes.push(node);
    node.children = kids.map((k) => build(k, depth + 1, span));
    return node;
  };
  const rootNodes = roots.sort(byStart).map((r) => build(r, 0, undefined));

  const ranked = [...nodes].sort((a, b) => b.selfMs - a.selfMs);
  let bottlenecks = ranked.filter((n) => n.selfShare >= share);
  if (bottlenecks.length === 0 && ranked[0] && ranked[0].selfMs > 0) bottlenecks = [ranked[0]];
  bottlenecks.forEach((n, i) => (n.bottleneckRank = i + 1));

  return {
    traceId: unique[0].traceId,
    durationMs: traceMs,
    spanCount: unique.length,
    roots: rootNodes,
    nodes,
    bottlenecks,
  };
}

function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)}s`;
  if (ms >= 10) return `${Math.round(ms)}ms`;
  return `${Number(ms.toFixed(1))}ms`;
}

/** The waterfall as text, one line per span, in the spirit of "API Gateway (12ms) → Payment Service gRPC (8ms)". */
export function renderWaterfall(waterfall: Waterfall): string {
  const lines = [
    `trace ${waterfall.traceId}  ${formatMs(waterfall.durationMs)}  ${waterfall.spanCount} spans`,
  ];
  for (const node of waterfall.nodes) {
    const indent = '  '.repeat(node.depth);
    const arrow = node.depth > 0 ? '→ ' : '';
    const waited = node.waitedMs > 0 ? ` (waited ${formatMs(node.waitedMs)})` : '';
    const status = node.span.error ? ' ✗ error' : '';
    let marker = '';
    if (node.bottleneckRank !== undefined) {
      const which =
        node.bottleneckRank === 1
          ? 'bottleneck'
          : node.bottleneckRank === 2
            ? 'second bottleneck'
            : `bottleneck #${node.bottleneckRank}`;
      marker = ` ← ${which} (self ${formatMs(node.selfMs)}, ${Math.round(node.selfShare * 100)}%)`;
    }
    const offset = `+${formatMs(node.offsetMs)}`.padStart(9);
    lines.push(
      `${offset} ${indent}${arrow}${node.span.service}: ${node.span.name} (${formatMs(node.durationMs)})${waited}${status}${marker}`,
    );
  }
  return lines.join('\n');
}

// ---------- OTLP JSON (collector `file` exporter) ----------

interface OtlpAnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
interface OtlpSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string | undefined;
  name?: string;
  kind?: number | string;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: OtlpKeyValue[];
  status?: { code?: number | string };
}
interface OtlpTracesData {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: Array<{ spans?: OtlpSpan[] }>;
  }>;
}

const OTLP_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

function otlpValue(value: OtlpAnyValue | undefined): AttributeValue | undefined {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  return undefined;
}

function otlpAttributes(list: OtlpKeyValue[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of list ?? []) {
    const v = otlpValue(kv.value);
    if (v !== undefined) out[kv.key] = v;
  }
  return out;
}

function otlpKind(kind: number | string | undefined): string {
  if (typeof kind === 'number') return OTLP_KINDS[kind] ?? 'unspecified';
  if (typeof kind === 'string') return kind.replace(/^SPAN_KIND_/, '').toLowerCase();
  return 'unspecified';
}

/**
 * Spans of one OTLP JSON `TracesData`/`ExportTraceServiceRequest` document (ids as hex, per the
 * OTLP/JSON encoding; times as decimal strings of nanoseconds).
 */
export function spansFromOtlpJson(doc: unknown): WaterfallSpan[] {
  const data = doc as OtlpTracesData;
  const spans: WaterfallSpan[] = [];
  for (const rs of data.resourceSpans ?? []) {
    const resource = otlpAttributes(rs.resource?.attributes);
    const service = typeof resource['service.name'] === 'string' ? resource['service.name'] : 'unknown';
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        if (!s.traceId || !s.spanId) continue;
        spans.push({
          traceId: s.traceId.toLowerCase(),
          spanId: s.spanId.toLowerCase(),
          parentSpanId: s.parentSpanId ? s.parentSpanId.toLowerCase() : undefined,
          service,
          name: s.name ?? '',
          kind: otlpKind(s.kind),
          startNs: BigInt(s.startTimeUnixNano ?? 0),
          endNs: BigInt(s.endTimeUnixNano ?? 0),
          error: s.status?.code === 2 || s.status?.code === 'STATUS_CODE_ERROR',
          attributes: otlpAttributes(s.attributes),
        });
      }
    }
  }
  return spans;
}

/** Spans of a JSON-lines file of OTLP JSON documents; unparsable lines are skipped and counted. */
export function spansFromOtlpJsonLines(text: string): { spans: WaterfallSpan[]; badLines: number } {
  const spans: WaterfallSpan[] = [];
  let badLines = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      spans.push(...spansFromOtlpJson(JSON.parse(line)));
    } catch {
      badLines += 1;
    }
  }
  return { spans, badLines };
}

// ---------- Jaeger query API ----------

interface JaegerTag {
  key: string;
  value: AttributeValue;
}
interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references?: Array<{ refType: string; traceID: string; spanID: string }>;
  startTime: number; // µs since the epoch
  duration: number; // µs
  processID: string;
  tags?: JaegerTag[];
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

/** Spans of a Jaeger `/api/traces` answer (`{ data: [trace, ...] }`), by trace. */
export function spansFromJaeger(answer: unknown): WaterfallSpan[][] {
  const traces = ((answer as { data?: JaegerTrace[] }).data ?? []).filter((t) => Array.isArray(t.spans));
  return traces.map((trace) =>
    trace.spans.map((s) => {
      const tags: Record<string, AttributeValue> = {};
      for (const t of s.tags ?? []) tags[t.key] = t.value;
      const parent = (s.references ?? []).find((r) => r.refType === 'CHILD_OF') ?? s.references?.[0];
      const startNs = BigInt(Math.round(s.startTime)) * 1000n;
      return {
        traceId: s.traceID.toLowerCase().padStart(32, '0'),
        spanId: s.spanID.toLowerCase(),
        parentSpanId: parent?.spanID.toLowerCase(),
        service: trace.processes[s.processID]?.serviceName ?? 'unknown',
        name: s.operationName,
        kind: typeof tags['span.kind'] === 'string' ? tags['span.kind'] : 'unspecified',
        startNs,
        endNs: startNs + BigInt(Math.round(s.duration)) * 1000n,
        error: tags.error === true || tags.error === 'true' || tags['otel.status_code'] === 'ERROR',
        attributes: tags,
      };
    }),
  );
}

// ---------- selection ----------

/** A 32-hex-digit W3C trace id (not all zeros). */
export function isTraceId(text: string): boolean {
  return /^[0-9a-f]{32}$/i.test(text) && !/^0+$/.test(text);
}

/** The spans of each trace that has a span carrying `koban.payment.id = paymentId`, oldest trace first. */
export function tracesOfPayment(spans: readonly WaterfallSpan[], paymentId: string): WaterfallSpan[][] {
  const ids = new Set(
    spans.filter((s) => s.attributes[PAYMENT_ID_ATTRIBUTE] === paymentId).map((s) => s.traceId),
  );
  return groupByTrace(spans.filter((s) => ids.has(s.traceId)));
}

/** Spans grouped by trace id, traces ordered by their first span's start. */
export function groupByTrace(spans: readonly WaterfallSpan[]): WaterfallSpan[][] {
  const byTrace = new Map<string, WaterfallSpan[]>();
  for (const s of spans) {
    const list = byTrace.get(s.traceId) ?? [];
    list.push(s);
    byTrace.set(s.traceId, list);
  }
  const first = (list: WaterfallSpan[]): bigint =>
    list.reduce((m, s) => (s.startNs < m ? s.startNs : m), list[0].startNs);
  return [...byTrace.values()].sort((a, b) => (first(a) < first(b) ? -1 : first(a) > first(b) ? 1 : 0));
}

/** Milliseconds as nanoseconds (for building spans by hand, e.g. in tests). */
export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1000)) * (NS_PER_MS / 1000n);
}
