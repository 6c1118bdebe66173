import {
  propagation,
  ROOT_CONTEXT,
  type Context,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { IHeaders } from 'kafkajs';

/** The header that carries an event's id; consumers deduplicate on it. */
export const EVENT_ID_HEADER = 'event-id';

/** The W3C trace context headers. */
export const TRACEPARENT_HEADER = 'traceparent';
export const TRACESTATE_HEADER = 'tracestate';

/**
 * Headers as written to Kafka. Values are strings here; kafkajs hands them back as Buffers.
 */
export type EventHeaders = Record<string, string>;

// The global propagator is a no-op until an SDK registers one (and may be configured without W3C);
// events must carry W3C trace context in every case, so it is applied directly as well.
const w3c = new W3CTraceContextPropagator();

const setter: TextMapSetter<EventHeaders> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

const getter: TextMapGetter<IHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => headerValue(carrier, key),
};

/**
 * One header as text. A repeated header yields its last value, as Java's `lastHeader` does;
 * missing or empty headers yield `undefined`.
 */
export function headerValue(headers: IHeaders | undefined, name: string): string | undefined {
  const raw = headers?.[name];
  const last = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (last === undefined) return undefined;
  const text = typeof last === 'string' ? last : last.toString('utf8');
  return text === '' ? undefined : text;
}

/** All headers of a consumed message as text (last value of a repeated header). */
export function decodeHeaders(headers: IHeaders | undefined): EventHeaders {
  const decoded: EventHeaders = {};
  for (const name of Object.keys(headers ?? {})) {
    const value = headerValue(headers, name);
    if (value !== undefined) decoded[name] = value;
  }
  return decoded;
}

/** Writes the trace context of `ctx` into `headers` (W3C always, plus what the SDK's propagator adds). */
export function injectTraceHeaders(ctx: Context, headers: EventHeaders): EventHeaders {
  w3c.inject(ctx, headers, setter);
  propagation.inject(ctx, headers, setter);
  return headers;
}

/**
 * The context a consumed message was produced in, on top of `base` (the root context by default).
 * Without valid trace headers, `base` comes back unchanged.
 */
export function extractTraceContext(headers: IHeaders | undefined, base: Context = ROOT_CONTEXT): Context {
  const carrier = headers ?? {};
  return propagation.extract(w3c.extract(base, carrier, getter), carrier, getter);
}
