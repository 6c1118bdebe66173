/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-explicit-any --
   each case edits one field of an untyped rendered manifest. */
// The custom-resource validation k8s.test.ts relies on must catch a misspelt or mistyped field of
// every custom kind: each case breaks one field of a rendered manifest and expects the issue.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { crdSchemas, customResourceIssues, strictSchema } from './crd-validation.js';
import { kubectlAvailable, renderKustomization, type K8sObject } from './deploy-support.js';

assert.ok(kubectlAvailable(), 'kubectl (with its built-in kustomize v5) is needed to render deploy/k8s');
const rendered = [...renderKustomization('overlays/prod'), ...renderKustomization('chaos')];

type Spec = any;

/** A copy of the rendered `kind/name` with `change` applied to its spec. */
function broken(kind: string, name: string, change: (spec: Spec) => void): K8sObject {
  const original = rendered.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(original, `${kind}/${name} is rendered`);
  assert.equal(customResourceIssues(original), '', `${kind}/${name} is valid as rendered`);
  const copy = structuredClone(original);
  change(copy.spec);
  return copy;
}

function rename(object: Spec, from: string, to: string): void {
  assert.ok(from in object, `${from} is set`);
  object[to] = object[from];
  delete object[from];
}

describe('custom resources: a misspelt or mistyped field fails', () => {
  const cases: { kind: string; name: string; change: (spec: Spec) => void; issue: RegExp }[] = [
    {
      kind: 'TidbCluster',
      name: 'koban',
      change: (spec) => rename(spec.pd, 'replicas', 'replica'),
      issue:
        /^(?=[\s\S]*\/spec\/pd: unknown field replica$)(?=[\s\S]*must have required property 'replicas')/m,
    },
    {
      kind: 'TidbCluster',
      name: 'koban',
      change: (spec) => (spec.tikv.replicas = '3'),
      issue: /\/spec\/tikv\/replicas: must be integer/,
    },
    {
      kind: 'TidbCluster',
      name: 'koban',
      change: (spec) => (spec.tidb.limits.memory = '4 GB'),
      issue: /\/spec\/tidb\/limits\/memory: must match pattern/,
    },
    {
      kind: 'Kafka',
      name: 'koban',
      change: (spec) => rename(spec.kafka.rack, 'topologyKey', 'topologykey'),
      issue: /\/spec\/kafka\/rack: unknown field topologykey/,
    },
    {
      kind: 'Kafka',
      name: 'koban',
      change: (spec) => (spec.kafka.listeners[0].tls = 'false'),
      issue: /\/spec\/kafka\/listeners\/0\/tls: must be boolean/,
    },
    {
      kind: 'KafkaNodePool',
      name: 'brokers',
      change: (spec) => (spec.roles = ['leader']),
      issue: /\/spec\/roles\/0: must be equal to one of the allowed values/,
    },
    {
      kind: 'KafkaNodePool',
      name: 'brokers',
      change: (spec) => (spec.storage.volumes[0].size = 100),
      issue: /\/spec\/storage\/volumes\/0\/size: must be string/,
    },
    {
      kind: 'KafkaTopic',
      name: 'payments.v1',
      change: (spec) => rename(spec, 'replicas', 'replica'),
      issue: /\/spec: unknown field replica/,
    },
    {
      kind: 'KafkaTopic',
      name: 'payments.v1',
      change: (spec) => (spec.partitions = '12'),
      issue: /\/spec\/partitions: must be integer/,
    },
    {
      kind: 'PodChaos',
      name: 'tikv-pod-failure',
      change: (spec) => rename(spec.selector, 'labelSelectors', 'labelSelector'),
      issue: /\/spec\/selector: unknown field labelSelector/,
    },
    {
      kind: 'PodChaos',
      name: 'payment-pod-kill-once',
      change: (spec) => (spec.mode = 'single'),
      issue: /\/spec\/mode: must be equal to one of the allowed values/,
    },
    {
      kind: 'PodChaos',
      name: 'payment-pod-kill-once',
      change: (spec) => (spec.gracePeriod = -1),
      issue: /\/spec\/gracePeriod: must be >= 0/,
    },
    {
      kind: 'NetworkChaos',
      name: 'payment-to-ledger-delay',
      change: (spec) => rename(spec.delay, 'latency', 'latancy'),
      issue:
        /^(?=[\s\S]*\/spec\/delay: unknown field latancy$)(?=[\s\S]*must have required property 'latency')/m,
    },
    {
      kind: 'NetworkChaos',
      name: 'payment-to-ledger-delay',
      change: (spec) => (spec.direction = 'sideways'),
      issue: /\/spec\/direction: must be equal to one of the allowed values/,
    },
    {
      kind: 'Schedule',
      name: 'payment-pod-kill',
      change: (spec) => rename(spec.podChaos, 'action', 'acton'),
      issue: /\/spec\/podChaos: unknown field acton/,
    },
    {
      kind: 'Schedule',
      name: 'payment-pod-kill',
      change: (spec) => (spec.historyLimit = 0),
      issue: /\/spec\/historyLimit: must be >= 1/,
    },
  ];

  for (const { kind, name, change, issue } of cases) {
    test(`${kind}/${name}: ${change.toString().replace(/^\(spec\) => /, '')}`, () => {
      assert.match(customResourceIssues(broken(kind, name, change)), issue);
    });
  }

  test('every custom kind rendered has a schema, and a failing case above', () => {
    // Built-in groups have no dot (apps, batch, policy, …) or end in .k8s.io (networking.k8s.io).
    const group = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0] : '');
    const custom = rendered.filter(
      (o) => group(o.apiVersion).includes('.') && !group(o.apiVersion).endsWith('.k8s.io'),
    );
    for (const object of custom) {
      assert.ok(
        `${object.apiVersion}/${object.kind}` in crdSchemas,
        `${object.apiVersion} ${object.kind} has a schema`,
      );
    }
    const sorted = (kinds: string[]) => [...new Set(kinds)].sort();
    assert.deepEqual(sorted(cases.map((c) => c.kind)), sorted(custom.map((o) => o.kind)));
    assert.deepEqual(
      sorted(Object.keys(crdSchemas).map((id) => id.split('/').at(-1)!)),
      sorted(custom.map((o) => o.kind)),
    );
  });
});

describe('strictSchema', () => {
  const validate = (schema: unknown, value: unknown) =>
    new Ajv({ strict: false }).compile(strictSchema(schema) as object)(value);

  test('closes an object with properties, but not one that preserves unknown fields or maps', () => {
    const closed = { type: 'object', properties: { a: { type: 'string' } } };
    assert.equal(validate(closed, { a: 'x' }), true);
    assert.equal(validate(closed, { a: 'x', b: 1 }), false);
    const preserved = { ...closed, 'x-kubernetes-preserve-unknown-fields': true };
    assert.equal(validate(preserved, { a: 'x', b: 1 }), true);
    const map = { type: 'object', additionalProperties: { type: 'integer' } };
    assert.equal(validate(map, { any: 1 }), true);
    assert.equal(validate(map, { any: 'x' }), false);
  });

  test('int-or-string takes both, nullable takes null, oneOf branches stay open', () => {
    assert.equal(validate({ 'x-kubernetes-int-or-string': true }, 3), true);
    assert.equal(validate({ 'x-kubernetes-int-or-string': true }, '50%'), true);
    assert.equal(validate({ 'x-kubernetes-int-or-string': true }, true), false);
    assert.equal(validate({ type: 'string', nullable: true }, null), true);
    assert.equal(validate({ type: 'string' }, null), false);
    const oneOf = {
      type: 'object',
      properties: { a: { type: 'string' }, b: { type: 'string' } },
      oneOf: [
        { properties: { a: {} }, required: ['a'] },
        { properties: { b: {} }, required: ['b'] },
      ],
    };
    assert.equal(validate(oneOf, { a: 'x' }), true);
    assert.equal(validate(oneOf, { a: 'x', b: 'y' }), false, 'exactly one branch');
  });
});
