// `pnpm trace <paymentId | traceId>`: prints a payment's trace as an indented waterfall and marks
// the bottleneck(s).
//
// Source of spans, first that applies:
//   JAEGER_URL       Jaeger query API (e.g. http://127.0.0.1:16686): /api/traces/{traceId}, or for a
//                    payment id /api/traces?service=payment&tags={"koban.payment.id":"<id>"}
//   OTEL_SPANS_FILE  OTLP JSON lines written by the collector's `file` exporter
//                    (deploy/otel-collector, KOBAN_SPANS_FILE there); default .run/spans/spans.jsonl
// Options: --service <name> (Jaeger payment search; default payment), --bottleneck-share 0.3
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  PAYMENT_ID_ATTRIBUTE,
  buildWaterfall,
  groupByTrace,
  isTraceId,
  renderWaterfall,
  spansFromJaeger,
  spansFromOtlpJsonLines,
  tracesOfPayment,
  type WaterfallSpan,
} from '../packages/platform/src/telemetry/waterfall.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function usage(message?: string): never {
  if (message) console.error(message);
  console.error('usage: pnpm trace <paymentId | traceId> [--service payment] [--bottleneck-share 0.3]');
  process.exit(2);
}

function parseArgs(argv: string[]): { id: string; service: string; share: number } {
  let id: string | undefined;
  let service = 'payment';
  let share = 0.3;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--service') service = argv[++i] ?? usage('--service needs a value');
    else if (arg === '--bottleneck-share') share = Number(argv[++i]);
    else if (arg === '--help' || arg === '-h') usage();
    else if (!arg.startsWith('-') && id === undefined) id = arg;
    else usage(`unexpected argument ${arg}`);
  }
  if (!id) usage();
  if (!(share > 0 && share <= 1)) usage('--bottleneck-share must be in (0, 1]');
  return { id, service, share };
}

async function fromJaeger(baseUrl: string, id: string, service: string): Promise<WaterfallSpan[][]> {
  const base = baseUrl.replace(/\/+$/, '');
  const url = isTraceId(id)
    ? `${base}/api/traces/${id.toLowerCase()}`
    : `${base}/api/traces?${new URLSearchParams({
        service,
        tags: JSON.stringify({ [PAYMENT_ID_ATTRIBUTE]: id }),
        lookback: '7d',
        limit: '20',
      }).toString()}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (res.status === 404) return [];
  if (!res.ok) throw new Error(`Jaeger answered ${res.status} for ${url}`);
  const traces = spansFromJaeger(await res.json());
  // Search results list each trace once; order them oldest first like the file source.
  return groupByTrace(traces.flat());
}

function fromFile(file: string, id: string): WaterfallSpan[][] {
  if (!existsSync(file)) {
    throw new Error(
      `no span file at ${file}: set JAEGER_URL, or run the collector with its file exporter (deploy/otel-collector) and set OTEL_SPANS_FILE`,
    );
  }
  // The rotated generation first (older spans), then the current file.
  const rotated = `${file}.1`;
  const text = (existsSync(rotated) ? readFileSync(rotated, 'utf8') : '') + readFileSync(file, 'utf8');
  const { spans, badLines } = spansFromOtlpJsonLines(text);
  if (badLines > 0) console.error(`(skipped ${badLines} unparsable line(s) of ${file})`);
  if (isTraceId(id)) {
    const wanted = id.toLowerCase();
    return groupByTrace(spans.filter((s) => s.traceId === wanted));
  }
  return tracesOfPayment(spans, id);
}

async function main(): Promise<void> {
  const { id, service, share } = parseArgs(process.argv.slice(2));
  const jaeger = process.env.JAEGER_URL;
  const file = path.resolve(root, process.env.OTEL_SPANS_FILE ?? '.run/spans/spans.jsonl');
  const traces = jaeger ? await fromJaeger(jaeger, id, service) : fromFile(file, id);
  if (traces.length === 0) {
    console.error(`no trace found for ${id} in ${jaeger ?? file}`);
    process.exit(1);
  }
  const blocks = traces.map((spans) => renderWaterfall(buildWaterfall(spans, { bottleneckShare: share })));
  console.log(blocks.join('\n\n'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
