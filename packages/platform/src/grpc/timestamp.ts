import type { Timestamp, Timestamp__Output } from '../generated/google/protobuf/Timestamp.js';

/**
 * A `google.protobuf.Timestamp` for a Date or epoch milliseconds, as the generated message types
 * take it (seconds as a decimal string, since int64 travels as a string).
 */
export function toTimestamp(time: Date | number): Timestamp__Output {
  const ms = typeof time === 'number' ? time : time.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}

/** Epoch milliseconds of a `google.protobuf.Timestamp` (sub-millisecond precision is dropped). */
export function timestampToMillis(timestamp: Timestamp | Timestamp__Output): number {
  return Number(timestamp.seconds ?? 0) * 1000 + Math.floor((timestamp.nanos ?? 0) / 1_000_000);
}

/** A Date for a `google.protobuf.Timestamp`; undefined for an unset (null) one. */
export function fromTimestamp(timestamp: Timestamp | Timestamp__Output | null | undefined): Date | undefined {
  return timestamp === null || timestamp === undefined ? undefined : new Date(timestampToMillis(timestamp));
}
