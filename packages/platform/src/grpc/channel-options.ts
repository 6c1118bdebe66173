import type * as grpc from '@grpc/grpc-js';

/**
 * Largest message either side accepts or sends. Koban messages are small (a page of history is
 * the largest); 4 MiB is gRPC's receive default, now also the send limit, so a runaway response
 * fails loudly at the sender instead of at every receiver.
 */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Channel options every Koban client uses unless it overrides them. */
export const defaultChannelOptions: Readonly<grpc.ChannelOptions> = {
  // Pings find a dead peer (a killed pod, a dropped NAT entry) in ~40 s even between calls,
  // instead of at the next call's deadline. grpc-js servers accept pings at this rate.
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  // The default backoff grows to 120 s; a restarted service must be used again within seconds.
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 5_000,
};

/** Server options every Koban server uses unless it overrides them. */
export const defaultServerOptions: Readonly<grpc.ServerOptions> = {
  'grpc.keepalive_time_ms': 60_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  // HTTP/2 connections live for ever otherwise, so new replicas behind a Kubernetes Service
  // would get no traffic from existing clients; a bounded age makes clients reconnect and spread.
  'grpc.max_connection_age_ms': 5 * 60_000,
  'grpc.max_connection_age_grace_ms': 30_000,
};
