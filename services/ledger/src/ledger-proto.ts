// The ledger's proto types, named from the platform's typed protos (the generated files are the
// platform's own, not exported): handlers, and the messages they take and answer.
import type { KobanProtos, ServiceHandlers } from '@koban/platform';

export type LedgerServiceDefinition = KobanProtos['koban']['ledger']['v1']['LedgerService']['service'];

/** One promise-returning handler per LedgerService RPC. */
export type LedgerHandlers = ServiceHandlers<LedgerServiceDefinition>;

export type LedgerRpc = keyof LedgerHandlers;

/** The decoded request of an RPC (every field present, int64 as decimal strings, enums as names). */
export type RequestOf<Rpc extends LedgerRpc> = Parameters<LedgerHandlers[Rpc]>[0];

/** The response an RPC's handler resolves with. */
export type ResponseOf<Rpc extends LedgerRpc> = Awaited<ReturnType<LedgerHandlers[Rpc]>>;

export type AccountMessage = NonNullable<ResponseOf<'GetAccount'>['account']>;
export type BalanceMessage = NonNullable<ResponseOf<'GetBalance'>['balance']>;
export type TransferMessage = NonNullable<ResponseOf<'GetTransfer'>['transfer']>;
export type EntryMessage = NonNullable<ResponseOf<'ListEntries'>['entries']>[number];

export type OwnerTypeName = RequestOf<'OpenAccount'>['ownerType'];
export type AccountKindName = RequestOf<'OpenAccount'>['kind'];
export type TransferKindName = RequestOf<'Transfer'>['kind'];

/** Maps a decoded enum name; a value this build does not know (a number) maps to undefined. */
export function fromEnum<Name extends string, Value>(
  table: Readonly<Record<Name, Value | undefined>>,
  name: unknown,
): Value | undefined {
  return typeof name === 'string' && Object.hasOwn(table, name) ? table[name as Name] : undefined;
}
