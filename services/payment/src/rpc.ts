import {
  activeTraceHeaders,
  loadPackageDefinition,
  type KobanProtos,
  type ServiceHandlers,
} from '@koban/platform';
import { traceContextFrom, type TraceContext } from './tracing/trace-context.js';

/** The PaymentService definition and its handler, request and response types, from the protos. */
export type PaymentServiceDefinition = KobanProtos['koban']['payment']['v1']['PaymentService']['service'];
export type PaymentHandlers = ServiceHandlers<PaymentServiceDefinition>;
export type RpcName = keyof PaymentHandlers;
export type RpcRequest<Name extends RpcName> = Parameters<PaymentHandlers[Name]>[0];
export type RpcResponse<Name extends RpcName> = Awaited<ReturnType<PaymentHandlers[Name]>>;
type RpcCall = Parameters<PaymentHandlers['GetPayment']>[1];

/**
 * Metadata the gateway sends on Get* calls: the authenticated user or merchant. When present,
 * payment answers `not_found` unless that caller is a party to the resource (the Get* requests
 * have no caller field).
 */
export const CALLER_ID_METADATA_KEY = 'koban-caller-id';

function firstText(call: Pick<RpcCall, 'metadata'>, key: string): string | undefined {
  const [value] = call.metadata.get(key);
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** The caller a Get* call is made for, if the gateway said. */
export function callerOf(call: Pick<RpcCall, 'metadata'>): string | undefined {
  return firstText(call, CALLER_ID_METADATA_KEY);
}

/**
 * The W3C trace context to store with what the call creates: the call's own server span, so the
 * outbox's consumers continue the trace under payment's span; the caller's context from the
 * metadata when no span is active (telemetry off).
 */
export function traceOf(call: Pick<RpcCall, 'metadata'>): TraceContext | null {
  const active = activeTraceHeaders();
  if (active.traceparent !== undefined) return traceContextFrom(active.traceparent, active.tracestate);
  return traceContextFrom(firstText(call, 'traceparent'), firstText(call, 'tracestate'));
}

/** Binary protobuf of one message type: how the responses replays answer are stored. */
export interface MessageCodec<Message> {
  encode(message: Message): Buffer;
  decode(bytes: Buffer): Message;
}

interface SerializableType {
  serialize(value: unknown): Buffer;
  deserialize(bytes: Buffer): unknown;
}

/**
 * The codec of a message of the loaded protos, e.g. `koban.payment.v1.CreatePaymentResponse`.
 * Decoding uses the same conversion options as gRPC, so a stored response reads back exactly as
 * the original one was sent. The protos are looked up on first use, not at import.
 */
export function messageCodec<Message>(fullName: string): MessageCodec<Message> {
  let type: SerializableType | undefined;
  const resolve = (): SerializableType => {
    type ??= loadPackageDefinition()[fullName] as SerializableType | undefined;
    if (type === undefined || typeof type.serialize !== 'function') {
      throw new Error(`${fullName} is not a message of the loaded protos`);
    }
    return type;
  };
  return {
    encode: (message) => resolve().serialize(message),
    decode: (bytes) => resolve().deserialize(bytes) as Message,
  };
}
