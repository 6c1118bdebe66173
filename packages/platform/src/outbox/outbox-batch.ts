import { randomBytes } from 'node:crypto';
import { EVENT_TYPE_HEADER } from '../events/topics.js';
import { TRACEPARENT_HEADER, TRACESTATE_HEADER, type EventHeaders } from '../kafka/trace-headers.js';

/** An outbox row as the relay reads it back after claiming it. */
export interface OutboxRow {
  eventId: string;
  topic: string;
  key: string;
  eventType: string;
  payload: Buffer;
  traceparent: string | null;
  tracestate: string | null;
  /** Claims so far, this one included. */
  attempts: number;
}

/** The longest claim token `outbox.claimed_by` holds. */
export const MAX_CLAIM_TOKEN_LENGTH = 64;

const claimSuffixBytes = 8;

/**
 * A claim token unique to one batch: the relay's id (for people reading the table) and a random
 * suffix, so that a relay finds exactly the rows of its own claim and never those of an earlier,
 * expired one of its own.
 */
export function claimToken(
  relayId: string,
  random: () => Buffer = () => randomBytes(claimSuffixBytes),
): string {
  const suffix = random().toString('hex');
  return `${relayId.slice(0, MAX_CLAIM_TOKEN_LENGTH - suffix.length - 1)}/${suffix}`;
}

/**
 * The `koban-event-type` header value: the full message name. The outbox stores the short type
 * name (`PaymentCompleted`), which is a message of `koban.events.v1`; a name that is already
 * qualified is kept.
 */
export function eventTypeHeaderValue(eventType: string): string {
  return eventType.includes('.') ? eventType : `koban.events.v1.${eventType}`;
}

/** The headers a row is published with; the producer adds `event-id` and re-injects the trace. */
export function rowHeaders(row: OutboxRow): EventHeaders {
  const headers: EventHeaders = { [EVENT_TYPE_HEADER]: eventTypeHeaderValue(row.eventType) };
  if (row.traceparent) headers[TRACEPARENT_HEADER] = row.traceparent;
  if (row.traceparent && row.tracestate) headers[TRACESTATE_HEADER] = row.tracestate;
  return headers;
}

/**
 * Splits a batch (in claim order) into lanes, one per topic and key, each keeping the batch's
 * order. Lanes may be published side by side; the rows of a lane only one after the other, so
 * that the events of one key reach their partition in the order they were written.
 */
export function publishLanes<Row extends Pick<OutboxRow, 'topic' | 'key'>>(rows: readonly Row[]): Row[][] {
  const lanes = new Map<string, Row[]>();
  for (const row of rows) {
    const lane = `${row.topic}\u0000${row.key}`;
    const existing = lanes.get(lane);
    if (existing) existing.push(row);
    else lanes.set(lane, [row]);
  }
  return [...lanes.values()];
}

/** Backoff between relay attempts while publishing fails. */
export interface RelayBackoff {
  initialDelayMs: number;
  maxDelayMs: number;
}

/** Exponential backoff after `failures` consecutive failures (1-based), capped, jittered down by up to a fifth. */
export function relayBackoffMs(
  failures: number,
  backoff: RelayBackoff,
  random: () => number = Math.random,
): number {
  const exponential = backoff.initialDelayMs * 2 ** Math.min(30, Math.max(0, failures - 1));
  const capped = Math.min(backoff.maxDelayMs, exponential);
  return Math.max(1, Math.round(capped * (0.8 + 0.2 * random())));
}
