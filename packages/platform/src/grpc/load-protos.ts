import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import healthCheck from 'grpc-health-check';
import type { ProtoGrpcType as BankIntegrationProto } from '../generated/bankintegration.js';
import type { ProtoGrpcType as CampaignProto } from '../generated/campaign.js';
import type { ProtoGrpcType as EventsProto } from '../generated/envelope.js';
import type { ProtoGrpcType as FraudProto } from '../generated/fraud.js';
import type { ProtoGrpcType as GatewayProto } from '../generated/gateway.js';
import type { ProtoGrpcType as HealthProto } from '../generated/health.js';
import type { ProtoGrpcType as LedgerProto } from '../generated/ledger.js';
import type { ProtoGrpcType as OpsProto } from '../generated/ops.js';
import type { ProtoGrpcType as PaymentProto } from '../generated/payment.js';

/**
 * Absolute path of the repository's `proto/` directory, found from this file's location so that
 * no machine path is configured anywhere.
 */
export const protoRoot: string = fileURLToPath(new URL('../../../../proto/', import.meta.url));

// grpc-health-check ships the standard health.proto; its import root is three levels above it.
const healthIncludeDir = path.resolve(path.dirname(healthCheck.protoPath), '..', '..');
const healthProtoFile = 'health/v1/health.proto';

/**
 * The conversion options used everywhere a proto message becomes a JS object, identical to the
 * flags `pnpm gen` gives proto-loader-gen-types so that the generated types describe the objects:
 * int64 as decimal strings, enums as their names, defaults filled in, oneof discriminators set,
 * field names in camelCase.
 */
export const protoConversionOptions = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
} as const satisfies protoLoader.Options;

/**
 * Every Koban package, plus grpc.health.v1, as `grpc.loadPackageDefinition` builds them, typed
 * by the generated `ProtoGrpcType`s: `protos.koban.ledger.v1.LedgerService` is a client
 * constructor whose `.service` is the definition a server implements.
 */
export type KobanProtos = GatewayProto &
  PaymentProto &
  LedgerProto &
  BankIntegrationProto &
  FraudProto &
  CampaignProto &
  OpsProto &
  EventsProto &
  HealthProto;

/** Every .proto under the proto root, as import paths (`koban/ledger/v1/ledger.proto`), sorted. */
export function listProtoFiles(): string[] {
  return readdirSync(protoRoot, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.proto'))
    .map((file) => file.split(path.sep).join('/'))
    .sort();
}

let cachedDefinition: protoLoader.PackageDefinition | undefined;
let cachedProtos: KobanProtos | undefined;

/** The proto-loader package definition of all Koban protos and health; parsed once per process. */
export function loadPackageDefinition(): protoLoader.PackageDefinition {
  cachedDefinition ??= protoLoader.loadSync([...listProtoFiles(), healthProtoFile], {
    ...protoConversionOptions,
    includeDirs: [protoRoot, healthIncludeDir],
  });
  return cachedDefinition;
}

/**
 * The service definitions and client constructors of all Koban protos, loaded at run time from
 * the proto files (not from generated code) and typed with the generated types. Loaded once per
 * process; later calls return the same object.
 */
export function loadProtos(): KobanProtos {
  cachedProtos ??= grpc.loadPackageDefinition(loadPackageDefinition()) as unknown as KobanProtos;
  return cachedProtos;
}
