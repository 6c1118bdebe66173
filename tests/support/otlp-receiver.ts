// An OTLP/HTTP receiver for end-to-end tests: the services' OTLP exporters (protobuf over HTTP,
// `OTEL_EXPORTER_OTLP_ENDPOINT`) post to it and the test reads the spans it collected. It decodes
// the OTLP trace protobuf with protobufjs from the subset of opentelemetry-proto below (field
// numbers as in opentelemetry/proto/{collector/trace,trace,common,resource}/v1; fields not
// listed are skipped by the decoder). Metrics and logs are accepted and dropped.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

const OTLP_TRACE_SUBSET = `
syntax = "proto3";
package otlp;
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message Resource { repeated KeyValue attributes = 1; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message InstrumentationScope { string name = 1; string version = 2; }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  bytes parent_span_id = 4;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  Status status = 15;
}
message Status { string message = 2; int32 code = 3; }
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
  }
}
`;

const requestType = protobuf.parse(OTLP_TRACE_SUBSET).root.lookupType('otlp.ExportTraceServiceRequest');

/** OTLP span kinds (opentelemetry-proto Span.SpanKind). */
export const SpanKind = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  kind: number;
  /** `service.name` of the exporting resource. */
  service: string;
  scope: string;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, string | number | boolean>;
  statusCode: number;
}

interface DecodedKeyValue {
  key: string;
  value?: { stringValue?: string; boolValue?: boolean; intValue?: string; doubleValue?: number };
}

function attributesOf(list: DecodedKeyValue[] = []): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list) {
    if (value?.stringValue !== undefined) out[key] = value.stringValue;
    else if (value?.boolValue !== undefined) out[key] = value.boolValue;
    else if (value?.intValue !== undefined) out[key] = Number(value.intValue);
    else if (value?.doubleValue !== undefined) out[key] = value.doubleValue;
  }
  return out;
}

/** Decodes an OTLP ExportTraceServiceRequest (protobuf) into flat spans. */
export function decodeTraceRequest(body: Uint8Array): ReceivedSpan[] {
  const request = requestType.toObject(requestType.decode(body), { longs: String, bytes: String }) as {
    resourceSpans?: {
      resource?: { attributes?: DecodedKeyValue[] };
      scopeSpans?: {
        scope?: { name?: string };
        spans?: {
          traceId?: string;
          spanId?: string;
          parentSpanId?: string;
          name?: string;
          kind?: number;
          startTimeUnixNano?: string;
          endTimeUnixNano?: string;
          attributes?: DecodedKeyValue[];
          status?: { code?: number };
        }[];
      }[];
    }[];
  };
  const hex = (base64 = '') => Buffer.from(base64, 'base64').toString('hex');
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of request.resourceSpans ?? []) {
    const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name'] ?? '');
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        spans.push({
          traceId: hex(span.traceId),
          spanId: hex(span.spanId),
          parentSpanId: hex(span.parentSpanId),
          name: span.name ?? '',
          kind: span.kind ?? 0,
          service,
          scope: scopeSpans.scope?.name ?? '',
          startNs: BigInt(span.startTimeUnixNano ?? '0'),
          endNs: BigInt(span.endTimeUnixNano ?? '0'),
          attributes: attributesOf(span.attributes),
          statusCode: span.status?.code ?? 0,
        });
      }
    }
  }
  return spans;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`: the value for OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  /** Every span received so far, in arrival order. */
  spans(): ReceivedSpan[];
  /** The spans of one trace. */
  trace(traceId: string): ReceivedSpan[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: ReceivedSpan[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/v1/traces') {
        try {
          received.push(...decodeTraceRequest(Buffer.concat(chunks)));
        } catch (error) {
          response.writeHead(400).end(String(error));
          return;
        }
      }
      // An empty protobuf message is a valid Export*ServiceResponse (nothing rejected).
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: () => [...received],
    trace: (traceId) => received.filter((span) => span.traceId === traceId),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
