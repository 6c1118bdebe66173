import { appendFile, mkdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Default size at which the span file is rotated: 64 MiB. */
export const DEFAULT_SPAN_FILE_MAX_BYTES = 64 * 1024 * 1024;

/** The rotated generation of a span file (`spans.jsonl` → `spans.jsonl.1`). */
export const rotatedSpanFile = (file: string): string => `${file}.1`;

/**
 * Appends spans to a file as OTLP/JSON `ExportTraceServiceRequest`s, one per line — the same
 * format as the OpenTelemetry collector's file exporter — so a local run without a collector or
 * Jaeger can still be read back (`pnpm trace`) and audited (the card-data leak scan).
 *
 * Background work traces all the time, so the file is rotated once it reaches `maxBytes`: it
 * becomes `<file>.1` (replacing the previous one) and a new file starts, as the collector's
 * file exporter rotates. Every service appends to the same file; when two rotate at once the
 * older generation may be dropped, which a local debugging sink can afford.
 */
export class FileSpanExporter implements SpanExporter {
  private readonly ready: Promise<unknown>;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly maxBytes: number = DEFAULT_SPAN_FILE_MAX_BYTES,
  ) {
    this.ready = mkdir(path.dirname(file), { recursive: true });
  }

  private async rotateWhenFull(): Promise<void> {
    const size = await stat(this.file).then(
      (stats) => stats.size,
      () => 0,
    );
    if (size >= this.maxBytes) await rename(this.file, rotatedSpanFile(this.file)).catch(() => undefined);
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    const line = Buffer.from(JsonTraceSerializer.serializeRequest(spans) ?? new Uint8Array()).toString(
      'utf8',
    );
    // Serialised appends keep each batch on its own, whole line.
    this.pending = this.pending
      .then(() => this.ready)
      .then(() => this.rotateWhenFull())
      .then(() => appendFile(this.file, `${line}\n`))
      .then(
        () => resultCallback({ code: ExportResultCode.SUCCESS }),
        (error: unknown) =>
          resultCallback({
            code: ExportResultCode.FAILED,
            error: error instanceof Error ? error : new Error(String(error)),
          }),
      );
  }

  async shutdown(): Promise<void> {
    await this.pending;
  }

  async forceFlush(): Promise<void> {
    await this.pending;
  }
}
