// Shared by the deploy tests: renders the kustomize trees with the real kustomize (kubectl's
// built-in one) and parses YAML; no cluster and no network.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse } from 'yaml';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const k8sDir = path.join(repoRoot, 'deploy', 'k8s');

/** The six services, their gRPC ports (deploy/local/services.json) and their config modules. */
export const services = [
  { name: 'ledger', grpcPort: 50052 },
  { name: 'fraud', grpcPort: 50054 },
  { name: 'bank-integration', grpcPort: 50053 },
  { name: 'campaign-promo', grpcPort: 50055 },
  { name: 'payment', grpcPort: 50051 },
  { name: 'gateway', grpcPort: 50050, httpPort: 8080 },
] as const;
export type ServiceName = (typeof services)[number]['name'];

/**
 * Who calls whom over gRPC: ARCHITECTURE.md as extended by the lead (the helper preamble).
 * Kafka flows go through the brokers and are not pod-to-pod calls.
 */
export const callGraph: Readonly<Record<ServiceName, readonly ServiceName[]>> = {
  gateway: ['payment', 'ledger', 'bank-integration', 'campaign-promo'],
  payment: ['fraud', 'ledger', 'bank-integration', 'campaign-promo'],
  'bank-integration': ['fraud'],
  'campaign-promo': ['ledger'],
  ledger: [],
  fraud: [],
};

/**
 * The calls FAULTS_ENABLED adds: GET /v1/admin/breakers on the gateway asks every service's
 * OpsService for its breakers (services/gateway/src/admin/breaker-collector.ts).
 */
export const faultsOpsCalls: Readonly<Partial<Record<ServiceName, readonly ServiceName[]>>> = {
  gateway: ['payment', 'ledger', 'bank-integration', 'fraud', 'campaign-promo'],
};

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests are checked field by field
  spec?: any;
  data?: Record<string, string>;
}

/** `kubectl kustomize` of a folder under deploy/k8s, as objects. */
export function renderKustomization(relative: string): K8sObject[] {
  const output = execFileSync(
    'kubectl',
    ['kustomize', '--load-restrictor', 'LoadRestrictionsNone', path.join(k8sDir, relative)],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return parseYamlStream(output);
}

export function parseYamlStream(text: string): K8sObject[] {
  return parseAllDocuments(text).map((document) => {
    if (document.errors.length > 0) throw new Error(document.errors.map((e) => e.message).join('; '));
    return document.toJS() as K8sObject;
  });
}

/** A YAML file of the repository, with merge keys (`<<: *anchor`) resolved. */
export function readYaml(relative: string): unknown {
  return parse(readFileSync(path.join(repoRoot, relative), 'utf8'), { merge: true });
}

/** Whether kubectl with its built-in kustomize is on this machine. */
export function kubectlAvailable(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
