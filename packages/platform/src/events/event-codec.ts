import { randomUUID } from 'node:crypto';
import type { MessageTypeDefinition } from '@grpc/proto-loader';
import type { ProtoGrpcType as EventsProto } from '../generated/envelope.js';
import type { EventEnvelope, EventEnvelope__Output } from '../generated/koban/events/v1/EventEnvelope.js';
import { loadPackageDefinition } from '../grpc/load-protos.js';
import { toTimestamp } from '../grpc/timestamp.js';
import type { EventKind } from './topics.js';

type EventsPackage = EventsProto['koban']['events']['v1'];

/** The name of a message of `koban.events.v1`: `EventEnvelope`, `PaymentCompleted`... */
export type EventTypeName = {
  [Name in keyof EventsPackage]: EventsPackage[Name] extends MessageTypeDefinition<never, unknown>
    ? Name
    : never;
}[keyof EventsPackage];

/** What `encodeEvent` takes for a message: the generated permissive type (int64 as string or number). */
export type EventInput<Name extends EventTypeName> =
  EventsPackage[Name] extends MessageTypeDefinition<infer In, unknown> ? In : never;

/** What `decodeEvent` returns for a message: the generated type with defaults filled in. */
export type EventOutput<Name extends EventTypeName> =
  EventsPackage[Name] extends MessageTypeDefinition<never, infer Out> ? Out : never;

/** The full protobuf name of an events message, e.g. `koban.events.v1.PaymentCompleted`. */
export function eventFullName(typeName: EventTypeName): string {
  return `koban.events.v1.${typeName}`;
}

/** The message type name of an envelope member: `paymentCompleted` → `PaymentCompleted`. */
export function eventTypeNameOf(kind: EventKind): EventTypeName {
  return (kind.charAt(0).toUpperCase() + kind.slice(1)) as EventTypeName;
}

function messageType(typeName: EventTypeName): MessageTypeDefinition<unknown, unknown> {
  const definition = loadPackageDefinition()[eventFullName(typeName)];
  if (definition === undefined || definition.format !== 'Protocol Buffer 3 DescriptorProto') {
    throw new Error(`${eventFullName(typeName)} is not a message type`);
  }
  return definition as MessageTypeDefinition<unknown, unknown>;
}

/**
 * Encodes an events message in binary protobuf. Uses the same loaded protos and conversion
 * options as gRPC, so the generated types describe what goes in and comes out.
 */
export function encodeEvent<Name extends EventTypeName>(typeName: Name, payload: EventInput<Name>): Buffer {
  return messageType(typeName).serialize(payload);
}

/**
 * Decodes an events message: int64 as decimal strings, enums as names, unset fields as their
 * defaults, `event` naming the oneof member set. Throws on bytes that are not valid protobuf.
 */
export function decodeEvent<Name extends EventTypeName>(
  typeName: Name,
  buffer: Buffer | Uint8Array,
): EventOutput<Name> {
  const bytes = Buffer.isBuffer(buffer)
    ? buffer
    : Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  return messageType(typeName).deserialize(bytes) as EventOutput<Name>;
}

/** The payload type of one envelope member, e.g. `PaymentCompleted` for `paymentCompleted`. */
export type EnvelopeEvent<Kind extends EventKind> = NonNullable<EventEnvelope[Kind]>;

/** Envelope fields besides the event itself. */
export interface EnvelopeMetadata {
  /** The Kafka key: the id of the account the event is about. */
  key: string;
  /** The producing service, e.g. `payment`. */
  producer: string;
  /** A UUID by default. Pass a stored one when re-publishing (an outbox row). */
  eventId?: string | undefined;
  /** When the fact happened; now by default. */
  occurredAt?: Date | number | undefined;
}

/** An envelope around one event, ready for `encodeEvent('EventEnvelope', ...)`. */
export function buildEnvelope<Kind extends EventKind>(
  kind: Kind,
  event: EnvelopeEvent<Kind>,
  metadata: EnvelopeMetadata,
): EventEnvelope {
  return {
    eventId: metadata.eventId ?? randomUUID(),
    occurredAt: toTimestamp(metadata.occurredAt ?? Date.now()),
    key: metadata.key,
    producer: metadata.producer,
    [kind]: event,
  };
}

/** Encodes an envelope (the value of every Koban Kafka record). */
export function encodeEnvelope(envelope: EventEnvelope): Buffer {
  return encodeEvent('EventEnvelope', envelope);
}

/**
 * Decodes a record value. `event` names the member set; it is undefined when the producer is
 * newer and sent a kind this build does not know, which a consumer logs and skips.
 */
export function decodeEnvelope(buffer: Buffer | Uint8Array): EventEnvelope__Output {
  return decodeEvent('EventEnvelope', buffer);
}
