// Offline validation of the custom resources deploy/k8s renders, against the schemas of their
// operators' CRDs (crd-schemas/, see deploy/k8s/README.md for where each comes from), the way
// the API server validates them under `kubectl apply`'s default strict field validation:
// types, enums, required fields, bounds, and no field the CRD does not declare.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { networkChaos, podChaos, schedule } from './crd-schemas/chaos-mesh.js';
import { tidbCluster } from './crd-schemas/tidb-operator.js';

type Node = Record<string, unknown>;
const isNode = (value: unknown): value is Node =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A CRD's structural OpenAPI v3 schema as a JSON Schema that rejects what the API server rejects:
 * an object that declares `properties` is closed (no other field) unless it preserves unknown
 * fields or declares `additionalProperties`; `x-kubernetes-int-or-string` takes an integer or a
 * string; `nullable` admits null. Inside `oneOf`/`anyOf`/`allOf`/`not` nothing is closed: there
 * a structural schema only adds constraints to the fields declared outside. `description`,
 * `example`, `default`, `format` and the other `x-kubernetes-*` markers reject nothing and go.
 */
export function strictSchema(node: unknown, inBranch = false): unknown {
  if (!isNode(node)) return node;
  const out: Node = {};
  for (const [key, value] of Object.entries(node)) {
    if (
      key.startsWith('x-kubernetes-') ||
      ['description', 'example', 'externalDocs', 'title', 'default', 'format', 'nullable'].includes(key)
    ) {
      continue;
    }
    if (key === 'properties' && isNode(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, child]) => [name, strictSchema(child, inBranch)]),
      );
    } else if (key === 'items' || key === 'additionalProperties') {
      out[key] = typeof value === 'boolean' ? value : strictSchema(value, inBranch);
    } else if (['oneOf', 'anyOf', 'allOf'].includes(key) && Array.isArray(value)) {
      out[key] = value.map((branch) => strictSchema(branch, true));
    } else if (key === 'not') {
      out[key] = strictSchema(value, true);
    } else {
      out[key] = value;
    }
  }
  if (node['x-kubernetes-int-or-string'] === true && out['anyOf'] === undefined) {
    delete out['type'];
    out['anyOf'] = [{ type: 'integer' }, { type: 'string' }];
  }
  if (node['nullable'] === true && typeof out['type'] === 'string') out['type'] = [out['type'], 'null'];
  const preservesUnknown = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (
    !inBranch &&
    !preservesUnknown &&
    isNode(node['properties']) &&
    node['additionalProperties'] === undefined
  ) {
    out['additionalProperties'] = false;
  }
  return out;
}

const schemasDir = fileURLToPath(new URL('./crd-schemas/', import.meta.url));
const strimzi = (file: string): unknown =>
  JSON.parse(readFileSync(path.join(schemasDir, 'strimzi-0.45.0', file), 'utf8'));

/** The CRD schema of each custom kind deploy/k8s renders, by `apiVersion/kind`. */
export const crdSchemas: Readonly<Record<string, unknown>> = {
  'kafka.strimzi.io/v1beta2/Kafka': strimzi('kafka.json'),
  'kafka.strimzi.io/v1beta2/KafkaNodePool': strimzi('kafkanodepool.json'),
  'kafka.strimzi.io/v1beta2/KafkaTopic': strimzi('kafkatopic.json'),
  'pingcap.com/v1alpha1/TidbCluster': tidbCluster,
  'chaos-mesh.org/v1alpha1/PodChaos': podChaos,
  'chaos-mesh.org/v1alpha1/NetworkChaos': networkChaos,
  'chaos-mesh.org/v1alpha1/Schedule': schedule,
};

const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
const validators = new Map<string, ValidateFunction>();

/** Whether `apiVersion/kind` is one of the custom kinds above. */
export const isCustomKind = (object: { apiVersion: string; kind: string }): boolean =>
  `${object.apiVersion}/${object.kind}` in crdSchemas;

/** What is wrong with a custom resource, one line per problem ('' when it is valid). */
export function customResourceIssues(object: { apiVersion: string; kind: string }): string {
  const id = `${object.apiVersion}/${object.kind}`;
  const schema = crdSchemas[id];
  if (schema === undefined) return `${id}: no CRD schema here`;
  let validate = validators.get(id);
  if (!validate) {
    validate = ajv.compile(strictSchema(schema) as object);
    validators.set(id, validate);
  }
  if (validate(object)) return '';
  return (validate.errors ?? []).map(describe).join('\n');
}

function describe(error: ErrorObject): string {
  const where = error.instancePath || '/';
  if (error.keyword === 'additionalProperties') {
    return `${where}: unknown field ${String(error.params['additionalProperty'])}`;
  }
  return `${where}: ${error.message ?? error.keyword}`;
}
