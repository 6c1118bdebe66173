/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any --
   rendered manifests are untyped YAML, checked here field by field. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  callGraph,
  faultsOpsCalls,
  kubectlAvailable,
  repoRoot,
  renderKustomization,
  services,
  type K8sObject,
  type ServiceName,
} from './deploy-support.js';
import { customResourceIssues, isCustomKind } from './crd-validation.js';
import { configIssues } from './service-configs.js';

assert.ok(
  kubectlAvailable(),
  'kubectl (with its built-in kustomize v5) is needed to render deploy/k8s; see deploy/k8s/README.md',
);

const overlays = { dev: renderKustomization('overlays/dev'), prod: renderKustomization('overlays/prod') };
const chaos = renderKustomization('chaos');

/** Validates a built-in object against the Kubernetes OpenAPI schema bundled in kubernetes-models. */
async function validateBuiltIn(object: K8sObject): Promise<void> {
  const module = (await import(`kubernetes-models/${object.apiVersion}/${object.kind}`)) as Record<
    string,
    new (data: unknown) => { validate(): void }
  >;
  const Model = module[object.kind];
  assert.ok(Model, `kubernetes-models has ${object.apiVersion} ${object.kind}`);
  // kustomize folds long base64 values over lines, which the API server's decoder ignores.
  const data = object.kind === 'Secret' ? mapValues(object.data, (v) => v.replace(/\s+/g, '')) : object.data;
  new Model({ ...object, ...(data ? { data } : {}) }).validate();
}

/**
 * What the runtime image of the Dockerfile runs: its WORKDIR (per service) and the tsx loader
 * its ENTRYPOINT imports, so a Job that overrides the command uses the same ones.
 */
const image = (() => {
  const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
  const runtime = dockerfile.slice(dockerfile.search(/^FROM \S+ AS runtime$/m));
  const workdirs = [...runtime.matchAll(/^WORKDIR (\S+)$/gm)].map((m) => m[1]);
  const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(runtime)![1]) as string[];
  const loader = entrypoint[entrypoint.indexOf('--import') + 1];
  // The prune stage deletes tests, test folders and other services; nothing else of the service.
  const pruned = (file: string) => /\.test\.ts$/.test(file) || file.split('/').includes('test');
  return { workdir: workdirs.at(-1)!, loader, pruned };
})();

const mapValues = (record: Record<string, string> | undefined, f: (value: string) => string) =>
  record && Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v)]));
const find = (objects: K8sObject[], kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);
const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  selector !== undefined && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The environment a service's pod gets: its ConfigMaps, then the Secret keys it references. */
function podEnvironment(objects: K8sObject[], service: ServiceName, secrets: Record<string, string>) {
  const container = find(objects, 'Deployment', service)!.spec.template.spec.containers[0];
  return containerEnvironment(objects, container, service, secrets);
}

/** A container's environment: its ConfigMaps, then its own variables and Secret keys. */
function containerEnvironment(
  objects: K8sObject[],
  container: any,
  service: string,
  secrets: Record<string, string>,
) {
  const env: Record<string, string> = {};
  for (const source of container.envFrom as { configMapRef: { name: string } }[]) {
    const configMap = find(objects, 'ConfigMap', source.configMapRef.name);
    assert.ok(configMap, `ConfigMap ${source.configMapRef.name} is rendered`);
    Object.assign(env, configMap.data);
  }
  for (const variable of container.env as { name: string; value?: string; valueFrom?: any }[]) {
    const ref = variable.valueFrom?.secretKeyRef as { name: string; key: string } | undefined;
    if (ref) {
      const rendered = find(objects, 'Secret', ref.name);
      const value = rendered
        ? Buffer.from(rendered.data?.[ref.key] ?? '', 'base64').toString()
        : secrets[ref.key];
      assert.ok(value !== undefined, `${service}: secret ${ref.name}/${ref.key} has a value`);
      env[variable.name] = value;
    } else if (variable.value !== undefined) env[variable.name] = variable.value;
  }
  return env;
}

for (const [overlay, objects] of Object.entries(overlays)) {
  describe(`overlay ${overlay}`, () => {
    test('every rendered object is namespaced to koban and valid', async () => {
      assert.ok(objects.length > 40, `rendered ${objects.length} objects`);
      for (const object of objects) {
        const id = `${object.apiVersion} ${object.kind} ${object.metadata?.name}`;
        assert.ok(object.metadata?.name, `${id} has a name`);
        if (object.kind !== 'Namespace') assert.equal(object.metadata.namespace, 'koban', `${id} namespace`);
        if (isCustomKind(object)) {
          // Against its operator's CRD schema (crd-validation.ts), unknown fields rejected.
          assert.equal(customResourceIssues(object), '', id);
        } else {
          await assert.doesNotReject(validateBuiltIn(object), id);
        }
      }
    });

    for (const service of services) {
      test(`${service.name}: probes, limits, non-root, read-only root, graceful drain, PDB, HPA, SA`, () => {
        const deployment = find(objects, 'Deployment', service.name);
        assert.ok(deployment, 'Deployment');
        const pod = deployment.spec.template.spec;
        const labels = deployment.spec.template.metadata.labels as Record<string, string>;
        const [container] = pod.containers;
        for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
          const spec = container[probe];
          assert.ok(spec?.grpc || spec?.httpGet, `${probe} on grpc health or HTTP`);
          if (spec.grpc) assert.equal(spec.grpc.port, service.grpcPort);
        }
        for (const kind of ['requests', 'limits']) {
          assert.ok(container.resources?.[kind]?.cpu, `cpu ${kind}`);
          assert.ok(container.resources?.[kind]?.memory, `memory ${kind}`);
        }
        assert.equal(pod.securityContext?.runAsNonRoot, true);
        assert.ok(pod.securityContext.runAsUser > 0);
        assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
        assert.equal(container.securityContext?.allowPrivilegeEscalation, false);
        assert.deepEqual(container.securityContext?.capabilities?.drop, ['ALL']);

        const common =
          find(objects, 'ConfigMap', 'koban-common') ??
          objects.find((o) => o.metadata.name.startsWith('koban-common'));
        const drainMs = Number(common?.data?.SHUTDOWN_GRACE_MS);
        assert.ok(drainMs > 0, 'SHUTDOWN_GRACE_MS is set');
        const preStopSeconds = Number(container.lifecycle?.preStop?.exec?.command?.[1] ?? 0);
        assert.ok(
          pod.terminationGracePeriodSeconds * 1000 > drainMs + preStopSeconds * 1000,
          'grace > preStop + drain',
        );

        const pdb = ofKind(objects, 'PodDisruptionBudget').find((p) =>
          matches(p.spec.selector.matchLabels, labels),
        );
        assert.ok(pdb, 'a PodDisruptionBudget selects its pods');
        const hpa = ofKind(objects, 'HorizontalPodAutoscaler').find(
          (h) => h.spec.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === service.name,
        );
        assert.ok(hpa, 'a HorizontalPodAutoscaler scales it');
        assert.ok(find(objects, 'ServiceAccount', pod.serviceAccountName), 'its ServiceAccount');
        const svc = find(objects, 'Service', service.name);
        assert.ok(svc && matches(svc.spec.selector, labels), 'a Service selects its pods');
        assert.ok(svc.spec.ports.some((p: { port: number }) => p.port === service.grpcPort));
      });

      test(`${service.name}: its pod environment parses with the service's config schema`, () => {
        const prodSecrets = {
          password: 'unused',
          ADMIN_TOKEN: randomBytes(24).toString('hex'),
          CARD_VAULT_KEYS: `k1:${randomBytes(32).toString('base64')}`,
          CARD_FINGERPRINT_SECRET: randomBytes(24).toString('hex'),
          ISSUER_SIM_SECRET: randomBytes(24).toString('hex'),
        };
        const env = podEnvironment(objects, service.name, prodSecrets);
        assert.equal(configIssues(service.name, env), '');
        assert.equal(env.GRPC_PORT, String(service.grpcPort));
      });
    }

    test('every Deployment: probes, requests and limits, non-root, read-only root, a PDB and an HPA', () => {
      const deployments = ofKind(objects, 'Deployment');
      assert.ok(deployments.length >= services.length + 1, 'the services and the collector');
      for (const deployment of deployments) {
        const name = deployment.metadata.name;
        const pod = deployment.spec.template.spec;
        const labels = deployment.spec.template.metadata.labels as Record<string, string>;
        assert.equal(pod.securityContext?.runAsNonRoot, true, `${name}: runAsNonRoot`);
        for (const container of pod.containers) {
          const id = `${name}/${container.name}`;
          assert.ok(container.readinessProbe && container.livenessProbe, `${id}: readiness and liveness`);
          for (const kind of ['requests', 'limits']) {
            assert.ok(
              container.resources?.[kind]?.cpu && container.resources?.[kind]?.memory,
              `${id}: ${kind}`,
            );
          }
          assert.equal(container.securityContext?.readOnlyRootFilesystem, true, `${id}: read-only root`);
          assert.equal(container.securityContext?.allowPrivilegeEscalation, false, `${id}: no escalation`);
        }
        assert.ok(
          ofKind(objects, 'PodDisruptionBudget').some((p) => matches(p.spec.selector.matchLabels, labels)),
          `${name}: a PodDisruptionBudget`,
        );
        assert.ok(
          ofKind(objects, 'HorizontalPodAutoscaler').some(
            (h) => h.spec.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === name,
          ),
          `${name}: a HorizontalPodAutoscaler`,
        );
      }
    });

    test('NetworkPolicies allow exactly the call graph (and the ops calls of faults), both ways', () => {
      const policies = ofKind(objects, 'NetworkPolicy');
      const deny = policies.find(
        (p) => Object.keys(p.spec.podSelector.matchLabels ?? {}).join() === 'app.kubernetes.io/part-of',
      );
      assert.ok(deny, 'a default deny over the Koban pods');
      assert.deepEqual([...deny.spec.policyTypes].sort(), ['Egress', 'Ingress']);
      assert.equal(deny.spec.ingress, undefined);
      assert.equal(deny.spec.egress, undefined);

      const nameOf = (selector: any): ServiceName | undefined =>
        services.find((s) => selector?.matchLabels?.['app.kubernetes.io/name'] === s.name)?.name;
      const ingressPairs = new Set<string>();
      const egressPairs = new Set<string>();
      for (const policy of policies) {
        const target = nameOf(policy.spec.podSelector);
        if (!target) continue;
        for (const rule of policy.spec.ingress ?? []) {
          if (!rule.from) {
            // Only the gateway's public HTTP port is open to any source.
            assert.equal(target, 'gateway');
            assert.deepEqual(rule.ports, [{ protocol: 'TCP', port: 8080 }]);
            continue;
          }
          for (const peer of rule.from) {
            const caller = nameOf(peer.podSelector);
            if (caller) {
              ingressPairs.add(`${caller}->${target}`);
              const port: number = services.find((s) => s.name === target)!.grpcPort;
              assert.deepEqual(rule.ports, [{ protocol: 'TCP', port }], `${caller}->${target} on gRPC only`);
            } else {
              assert.ok(peer.namespaceSelector, 'other sources are namespaces (monitoring)');
              assert.deepEqual(
                rule.ports,
                [{ protocol: 'TCP', port: 9464 }],
                'monitoring reaches metrics only',
              );
            }
          }
        }
        for (const rule of policy.spec.egress ?? []) {
          assert.ok(rule.to?.length > 0, `${target}: no egress rule is open to everything`);
          for (const peer of rule.to) {
            const callee = nameOf(peer.podSelector);
            if (callee) egressPairs.add(`${target}->${callee}`);
          }
        }
      }
      const faultsEnabled =
        objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('koban-common'))?.data
          ?.FAULTS_ENABLED === 'true';
      const pairs = (graph: Partial<Record<string, readonly string[]>>) =>
        Object.entries(graph).flatMap(([caller, callees]) => (callees ?? []).map((c) => `${caller}->${c}`));
      const expected = new Set([...pairs(callGraph), ...(faultsEnabled ? pairs(faultsOpsCalls) : [])]);
      assert.deepEqual([...ingressPairs].sort(), [...expected].sort());
      assert.deepEqual([...egressPairs].sort(), [...expected].sort());
    });
  });
}

for (const [overlay, objects] of Object.entries(overlays)) {
  describe(`overlay ${overlay}: migrations Job`, () => {
    const job = find(objects, 'Job', 'migrations');

    test('the services do not migrate at start: the Job does', () => {
      const common = objects.find(
        (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('koban-common'),
      );
      assert.equal(common?.data?.MIGRATE_ON_START, 'false');
      assert.ok(job, 'a Job named migrations is rendered');
    });

    for (const service of services) {
      test(`${service.name}: a container runs its migrate entry from its own image`, () => {
        const pod = job!.spec.template.spec;
        const container = pod.containers.find((c: { name: string }) => c.name === service.name);
        assert.ok(container, `a container for ${service.name}`);
        const deployment = find(objects, 'Deployment', service.name)!.spec.template.spec.containers[0];
        assert.equal(container.image, deployment.image, 'the same image and tag as the service');

        // node --import <the image's tsx loader> <file>, resolved from the image's WORKDIR.
        assert.equal(image.workdir, '/app/services/${SERVICE}');
        const [node, flag, loader, file, ...rest] = container.command as string[];
        assert.deepEqual([node, flag, loader, rest], ['node', '--import', image.loader, []]);
        assert.equal(file, 'src/migrate.ts');
        const source = `services/${service.name}/${file}`;
        assert.ok(existsSync(path.join(repoRoot, source)), `${source} exists`);
        assert.equal(image.pruned(source), false, `${source} survives the prune stage`);
        assert.ok(existsSync(path.join(repoRoot, 'services', service.name, 'migrations')));

        // The same schema, server and credentials as the service itself.
        const secrets = { password: 'prod-password' };
        const jobEnv = containerEnvironment(objects, container, `migrations/${service.name}`, secrets);
        const serviceEnv = podEnvironment(objects, service.name, {
          ...secrets,
          ADMIN_TOKEN: randomBytes(24).toString('hex'),
          CARD_VAULT_KEYS: `k1:${randomBytes(32).toString('base64')}`,
          CARD_FINGERPRINT_SECRET: randomBytes(24).toString('hex'),
          ISSUER_SIM_SECRET: randomBytes(24).toString('hex'),
        });
        for (const key of ['MYSQL_HOST', 'MYSQL_PORT', 'MYSQL_USER', 'MYSQL_PASSWORD', 'MYSQL_DATABASE']) {
          assert.equal(jobEnv[key], serviceEnv[key], key);
        }

        assert.deepEqual(container.securityContext?.capabilities?.drop, ['ALL']);
        assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
        assert.equal(container.securityContext?.allowPrivilegeEscalation, false);
        assert.ok(container.resources?.limits?.cpu && container.resources?.limits?.memory, 'limits');
        assert.ok(container.volumeMounts.some((m: { mountPath: string }) => m.mountPath === '/tmp'));
      });
    }

    test('runs non-root, only one container per service, reaching DNS and TiDB only', () => {
      const pod = job!.spec.template.spec;
      assert.deepEqual(
        pod.containers.map((c: { name: string }) => c.name).sort(),
        services.map((s) => s.name).sort(),
      );
      assert.equal(pod.securityContext?.runAsNonRoot, true);
      assert.ok(pod.securityContext.runAsUser > 0);
      assert.ok(find(objects, 'ServiceAccount', pod.serviceAccountName));
      assert.ok(job!.spec.ttlSecondsAfterFinished > 0, 'a finished Job goes, so the next apply recreates it');

      const labels = job!.spec.template.metadata.labels as Record<string, string>;
      const policies = ofKind(objects, 'NetworkPolicy').filter((p) =>
        matches(p.spec.podSelector.matchLabels, labels),
      );
      assert.deepEqual(policies.map((p) => p.metadata.name).sort(), ['koban-default-deny', 'migrations']);
      const own = find(objects, 'NetworkPolicy', 'migrations')!;
      assert.equal(own.spec.ingress, undefined, 'nothing reaches it');
      const egressPorts: number[] = own.spec.egress.flatMap((rule: { ports: { port: number }[] }) =>
        rule.ports.map((p) => p.port),
      );
      assert.deepEqual(
        egressPorts.sort((a, b) => a - b),
        [53, 53, 4000],
      );
    });
  });
}

describe('overlay differences', () => {
  const common = (objects: K8sObject[]) =>
    objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('koban-common'))!.data!;

  test('prod runs 3 replicas per service spread over zones, faults off, production mode', () => {
    const { prod } = overlays;
    assert.equal(common(prod).FAULTS_ENABLED, 'false');
    assert.equal(common(prod).NODE_ENV, 'production');
    for (const service of services) {
      const deployment = find(prod, 'Deployment', service.name)!;
      assert.equal(deployment.spec.replicas, 3);
      const zone = deployment.spec.template.spec.topologySpreadConstraints?.find(
        (c: any) => c.topologyKey === 'topology.kubernetes.io/zone',
      );
      assert.equal(zone?.whenUnsatisfiable, 'DoNotSchedule');
      assert.equal(zone?.maxSkew, 1);
      assert.deepEqual(zone?.labelSelector?.matchLabels, { 'app.kubernetes.io/name': service.name });
      assert.ok(find(prod, 'HorizontalPodAutoscaler', service.name)!.spec.minReplicas >= 3);
      assert.equal(find(prod, 'PodDisruptionBudget', service.name)!.spec.minAvailable, 2);
    }
    assert.equal(ofKind(prod, 'Secret').length, 0, 'prod secrets are created outside git');
  });

  test('dev enables faults and generates the dev secrets', () => {
    assert.equal(common(overlays.dev).FAULTS_ENABLED, 'true');
    assert.ok(ofKind(overlays.dev, 'Secret').some((s) => s.metadata.name.startsWith('koban-secrets')));
  });

  test('prod TiDB: 3 PD and 3 TiKV over zones; Kafka: KRaft, 3 brokers, rack aware, topics RF 3 ISR 2', () => {
    const { prod } = overlays;
    const tidb = find(prod, 'TidbCluster', 'koban')!;
    assert.equal(tidb.spec.pd.replicas, 3);
    assert.equal(tidb.spec.tikv.replicas, 3);
    assert.equal(tidb.spec.topologySpreadConstraints[0].topologyKey, 'topology.kubernetes.io/zone');

    const kafka = find(prod, 'Kafka', 'koban')!;
    assert.equal(kafka.metadata.annotations?.['strimzi.io/kraft'], 'enabled');
    assert.equal(kafka.spec.kafka.rack.topologyKey, 'topology.kubernetes.io/zone');
    assert.equal(kafka.spec.zookeeper, undefined);
    const pools = ofKind(prod, 'KafkaNodePool');
    assert.equal(pools.find((p) => p.spec.roles.includes('broker'))?.spec.replicas, 3);
    assert.ok(pools.find((p) => p.spec.roles.includes('controller'))!.spec.replicas >= 3);
    const topics = ofKind(prod, 'KafkaTopic')
      .map((t) => t.metadata.name)
      .sort();
    assert.deepEqual(topics, ['cashback.v1', 'cashback.v1.dlq', 'payments.v1', 'payments.v1.dlq']);
    for (const topic of ofKind(prod, 'KafkaTopic')) {
      assert.equal(topic.spec.replicas, 3);
      assert.equal(topic.spec.config['min.insync.replicas'], 2);
      assert.equal(topic.metadata.labels?.['strimzi.io/cluster'], 'koban');
    }

    const redis = find(prod, 'StatefulSet', 'redis')!;
    assert.ok(redis.spec.replicas >= 3);
    assert.match(JSON.stringify(redis.spec.template.spec.containers[0].args), /--replicaof redis-0/);
    assert.ok(find(prod, 'Deployment', 'otel-collector'));
  });
});

describe('Chaos Mesh experiments', () => {
  test('kill a pod, delay one link by 500 ms, fail a TiKV pod', () => {
    for (const object of chaos) {
      assert.equal(object.metadata.namespace, 'koban');
      assert.equal(
        customResourceIssues(object),
        '',
        `${object.kind} ${object.metadata.name} matches its CRD`,
      );
    }
    const kinds = chaos.map((o) => `${o.kind}/${o.metadata.name}`);
    assert.ok(
      chaos.some((o) => o.kind === 'PodChaos' && o.spec.action === 'pod-kill'),
      kinds.join(),
    );
    const delay = chaos.find((o) => o.kind === 'NetworkChaos')!;
    assert.equal(delay.spec.action, 'delay');
    assert.equal(delay.spec.delay.latency, '500ms');
    assert.ok(delay.spec.selector.labelSelectors['app.kubernetes.io/name']);
    assert.ok(
      delay.spec.target.selector.labelSelectors['app.kubernetes.io/name'],
      'one link: a source and a target',
    );
    const tikv = chaos.find((o) => o.kind === 'PodChaos' && o.spec.action === 'pod-failure')!;
    assert.equal(tikv.spec.selector.labelSelectors['app.kubernetes.io/component'], 'tikv');
  });
});
