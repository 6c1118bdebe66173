import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { FileSpanExporter, rotatedSpanFile } from './file-span-exporter.js';

interface OtlpJsonLine {
  resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ name: string; traceId: string }> }> }>;
}

describe('FileSpanExporter', () => {
  it('appends finished spans as OTLP/JSON lines that carry their names and trace ids', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'koban-spans-'));
    const file = path.join(dir, 'nested', 'spans.jsonl');
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(new FileSpanExporter(file))],
    });
    try {
      const tracer = provider.getTracer('test');
      const first = tracer.startSpan('POST /v1/payments');
      first.end();
      const second = tracer.startSpan('ledger.Transfer');
      second.end();
      await provider.forceFlush();

      const lines = (await readFile(file, 'utf8')).trim().split('\n');
      assert.equal(lines.length, 2);
      const spans = lines.flatMap((line) =>
        (JSON.parse(line) as OtlpJsonLine).resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
      );
      assert.deepEqual(
        spans.map((span) => span.name),
        ['POST /v1/payments', 'ledger.Transfer'],
      );
      assert.equal(spans[0]?.traceId, first.spanContext().traceId);
    } finally {
      await provider.shutdown();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rotates the file to <file>.1 once it reaches its size limit, keeping one older generation', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'koban-spans-'));
    const file = path.join(dir, 'spans.jsonl');
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(new FileSpanExporter(file, 200))],
    });
    try {
      const tracer = provider.getTracer('test');
      for (const name of ['first', 'second', 'third']) {
        tracer.startSpan(name).end();
        await provider.forceFlush();
      }
      const names = async (at: string) =>
        (await readFile(at, 'utf8'))
          .trim()
          .split('\n')
          .flatMap((line) =>
            (JSON.parse(line) as OtlpJsonLine).resourceSpans.flatMap((r) =>
              r.scopeSpans.flatMap((s) => s.spans.map((span) => span.name)),
            ),
          );
      // Each line is over 200 bytes: every append after the first rotates.
      assert.deepEqual(await names(file), ['third']);
      assert.deepEqual(await names(rotatedSpanFile(file)), ['second']);
    } finally {
      await provider.shutdown();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
