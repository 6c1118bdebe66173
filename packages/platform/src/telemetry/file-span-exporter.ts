import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/**
 * Appends spans to a file as OTLP/JSON `ExportTraceServiceRequest`s, one per line — the same
 * format as the OpenTelemetry collector's file exporter — so a local run without a collector or
 * Jaeger can still be read back (`pnpm trace`) and audited (the card-data leak scan).
 */
export class FileSpanExporter implements SpanExporter {
  private readonly ready: Promise<unknown>;
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {
    this.ready = mkdir(path.dirname(file), { recursive: true });
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    const line = Buffer.from(JsonTraceSerializer.serializeRequest(spans) ?? new Uint8Array()).toString(
      'utf8',
    );
    // Serialised appends keep each batch on its own, whole line.
    this.pending = this.pending
      .then(() => this.ready)
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
