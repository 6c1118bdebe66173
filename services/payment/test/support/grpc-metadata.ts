import { createRequire } from 'node:module';
import type { UnaryCallOptions } from '@koban/platform';

type Metadata = NonNullable<UnaryCallOptions['metadata']>;

// Payment depends on @koban/platform only; tests borrow the platform's own copy of grpc-js to
// build call metadata, the same copy its clients and servers use.
const platformRequire = createRequire(import.meta.resolve('@koban/platform'));
const grpc = platformRequire('@grpc/grpc-js') as { Metadata: new () => Metadata };

/** Call metadata with the given text entries (`traceparent`, `koban-caller-id`...). */
export function metadataWith(entries: Readonly<Record<string, string>>): Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
  return metadata;
}
