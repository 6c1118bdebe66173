// Structure checks of the observability deployment files (deploy/otel-collector, deploy/grafana).
// The Prometheus rules have their own tests: deploy/prometheus/test-rules.sh (promtool).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

// No YAML parser is a direct dependency; `yaml` comes with @opentelemetry/sdk-node (through
// @opentelemetry/configuration), so it is resolved the way those packages resolve it.
const fromSdk = createRequire(createRequire(import.meta.url).resolve('@opentelemetry/sdk-node'));
const fromConfiguration = createRequire(fromSdk.resolve('@opentelemetry/configuration'));
const { parse } = fromConfiguration('yaml') as { parse: (text: string) => unknown };

type Yaml = Record<string, unknown>;
const collector = parse(readFileSync(path.join(root, 'deploy/otel-collector/config.yaml'), 'utf8')) as Yaml;
const section = (name: string): Yaml => collector[name] as Yaml;
const pipelines = (section('service').pipelines ?? {}) as Record<
  string,
  { receivers: string[]; processors?: string[]; exporters: string[] }
>;

test('the collector receives OTLP over gRPC on 4317 and HTTP on 4318', () => {
  const otlp = section('receivers').otlp as { protocols: Record<string, { endpoint: string }> };
  assert.match(otlp.protocols.grpc.endpoint, /:4317$/);
  assert.match(otlp.protocols.http.endpoint, /:4318$/);
});

test('every collector pipeline names only components that are defined', () => {
  const defined = (kind: string): Set<string> => new Set(Object.keys(section(kind) ?? {}));
  const connectors = defined('connectors');
  for (const [name, p] of Object.entries(pipelines)) {
    for (const r of p.receivers)
      assert.ok(defined('receivers').has(r) || connectors.has(r), `${name}: receiver ${r}`);
    for (const x of p.processors ?? []) assert.ok(defined('processors').has(x), `${name}: processor ${x}`);
    for (const e of p.exporters)
      assert.ok(defined('exporters').has(e) || connectors.has(e), `${name}: exporter ${e}`);
  }
  for (const c of connectors) {
    const used = Object.values(pipelines);
    assert.ok(
      used.some((p) => p.exporters.includes(c)) && used.some((p) => p.receivers.includes(c)),
      `connector ${c}`,
    );
  }
});

test('traces, metrics and logs pipelines start with the memory limiter and batch', () => {
  for (const signal of ['traces', 'metrics', 'logs']) {
    const p = pipelines[signal];
    assert.ok(p, `pipeline ${signal}`);
    assert.equal(p.processors?.[0], 'memory_limiter', signal);
    assert.equal(p.processors?.at(-1), 'batch', signal);
  }
});

test('tail sampling keeps every error trace, every trace over 500 ms and a share of the rest', () => {
  assert.ok(pipelines.traces.processors?.includes('tail_sampling'));
  const policies = (section('processors').tail_sampling as { policies: Array<Record<string, Yaml>> })
    .policies;
  const byType = new Map(policies.map((p) => [p.type as unknown as string, p]));
  assert.deepEqual((byType.get('status_code')?.status_code as { status_codes: string[] }).status_codes, [
    'ERROR',
  ]);
  assert.equal((byType.get('latency')?.latency as { threshold_ms: number }).threshold_ms, 500);
  const pct = (byType.get('probabilistic')?.probabilistic as { sampling_percentage: number })
    .sampling_percentage;
  assert.ok(pct > 0 && pct < 100);
});

test('sampled traces go to Datadog and Jaeger, metrics to Datadog and Prometheus, every span to the span file', () => {
  const exporters = section('exporters');
  assert.equal((exporters.datadog as { api: { key: string } }).api.key, '${env:DD_API_KEY}');
  assert.match((exporters['otlp/jaeger'] as { endpoint: string }).endpoint, /jaeger:4317/);
  assert.equal((exporters['file/spans'] as { format: string }).format, 'json');
  assert.deepEqual(pipelines.traces.exporters.sort(), ['datadog', 'otlp/jaeger']);
  assert.deepEqual(pipelines.metrics.exporters.sort(), ['datadog', 'prometheus']);
  const unsampled = Object.values(pipelines).find((p) => p.exporters.includes('file/spans'));
  assert.ok(unsampled && !unsampled.processors?.includes('tail_sampling'));
});

test('the Grafana dashboard has a Prometheus query for each SLI', () => {
  const dashboard = JSON.parse(
    readFileSync(path.join(root, 'deploy/grafana/dashboards/koban-slis.json'), 'utf8'),
  ) as {
    uid: string;
    panels: Array<{ targets: Array<{ expr: string }> }>;
  };
  assert.equal(dashboard.uid, 'koban-slis');
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
  for (const metric of [
    'koban_payments_total',
    'http_server_request_duration_bucket',
    'rpc_server_call_duration_bucket',
    'koban:http_server_error_ratio:rate5m',
    'koban_kafka_consumer_lag',
    'koban_outbox_backlog',
    'koban_outbox_oldest_age_seconds',
    'koban_db_transactions_committed_total',
    'koban_db_rows_written_total',
    'koban_breaker_state',
    'koban_breaker_transitions_total',
    'koban_resilience_fallbacks_total',
    'koban_fraud_lockouts_total',
  ]) {
    assert.ok(exprs.includes(metric), metric);
  }
});
