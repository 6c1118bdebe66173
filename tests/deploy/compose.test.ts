import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { readYaml, repoRoot, services } from './deploy-support.js';
import { configIssues, configSchemas, requiredVariables } from './service-configs.js';

interface ComposeService {
  image?: string;
  build?: { context: string; target?: string; args?: Record<string, string> };
  environment?: Record<string, string | number | boolean>;
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: unknown };
  deploy?: { resources?: { limits?: { cpus?: string; memory?: string } } };
  profiles?: string[];
  command?: unknown;
  volumes?: string[];
  read_only?: boolean;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  configs?: Record<string, { content?: string }>;
}

const compose = readYaml('docker-compose.yml') as ComposeFile;
const envOf = (name: string): Record<string, string> =>
  Object.fromEntries(
    Object.entries(compose.services[name]?.environment ?? {}).map(([k, v]) => [k, String(v)]),
  );

describe('docker-compose.yml', () => {
  test('names the stores, the telemetry stack, the one-shot init and the six services', () => {
    const expected = [
      'pd',
      'tikv',
      'tidb',
      'tidb-init',
      'migrations',
      'kafka',
      'redis',
      'otel-collector',
      'jaeger',
      'prometheus',
      'grafana',
      'demo',
      ...services.map((s) => s.name),
    ];
    assert.deepEqual(Object.keys(compose.services).sort(), expected.sort());
  });

  test('uses the official images: pingcap PD/TiKV/TiDB, apache/kafka, the collector contrib', () => {
    assert.match(compose.services.pd.image!, /^pingcap\/pd:v/);
    assert.match(compose.services.tikv.image!, /^pingcap\/tikv:v/);
    assert.match(compose.services.tidb.image!, /^pingcap\/tidb:v/);
    assert.match(compose.services.kafka.image!, /^apache\/kafka:/);
    assert.match(compose.services['otel-collector'].image!, /^otel\/opentelemetry-collector-contrib:/);
    assert.equal(envOf('kafka').KAFKA_PROCESS_ROLES, 'broker,controller', 'Kafka runs in KRaft mode');
  });

  test('mounts the collector config, the Prometheus rules and the Grafana provisioning that exist', () => {
    const mounts = Object.values(compose.services).flatMap((s) => s.volumes ?? []);
    const hostPaths = mounts.filter((m) => m.startsWith('./')).map((m) => m.split(':')[0]);
    assert.ok(hostPaths.includes('./deploy/otel-collector/config.yaml'));
    assert.ok(hostPaths.includes('./deploy/prometheus/rules'));
    assert.ok(hostPaths.includes('./deploy/grafana/provisioning'));
    for (const hostPath of hostPaths)
      assert.ok(existsSync(path.join(repoRoot, hostPath)), `${hostPath} exists`);
    const prometheus = compose.configs?.['prometheus-compose']?.content ?? '';
    for (const service of services) assert.match(prometheus, new RegExp(`'${service.name}:\\d+'`));
  });

  test('every container has a cpu and a memory limit', () => {
    for (const [name, definition] of Object.entries(compose.services)) {
      assert.ok(definition.deploy?.resources?.limits?.cpus, `${name}: cpu limit`);
      assert.ok(definition.deploy?.resources?.limits?.memory, `${name}: memory limit`);
    }
  });

  test('Prometheus loads the mounted alert rules; Grafana provisions the mounted dashboards', () => {
    const target = (service: string, hostPath: string) =>
      (compose.services[service]?.volumes ?? []).find((m) => m.split(':')[0] === hostPath)?.split(':')[1];
    const prometheus = parse(compose.configs?.['prometheus-compose']?.content ?? '') as {
      rule_files: string[];
      scrape_configs: { job_name: string }[];
    };
    const rulesDir = target('prometheus', './deploy/prometheus/rules');
    assert.ok(rulesDir, 'the rules are mounted');
    assert.deepEqual(prometheus.rule_files, [`${rulesDir}/*.yml`]);
    assert.ok(readdirSync(path.join(repoRoot, 'deploy/prometheus/rules')).some((f) => f.endsWith('.yml')));
    assert.deepEqual(prometheus.scrape_configs.map((c) => c.job_name).sort(), ['koban', 'otel-collector']);

    const provider = readYaml('deploy/grafana/provisioning/dashboards/koban.yaml') as {
      providers: { options: { path: string } }[];
    };
    assert.equal(provider.providers[0]?.options.path, target('grafana', './deploy/grafana/dashboards'));
    const datasource = readYaml('deploy/grafana/provisioning/datasources/prometheus.yaml') as {
      datasources: { url: string }[];
    };
    assert.equal(datasource.datasources[0]?.url, 'http://prometheus:9090');
    assert.equal(target('grafana', './deploy/grafana/provisioning'), '/etc/grafana/provisioning');

    const collectorConfig = target('otel-collector', './deploy/otel-collector/config.yaml');
    assert.deepEqual(compose.services['otel-collector']?.command, [`--config=${collectorConfig}`]);
  });

  for (const service of services) {
    describe(service.name, () => {
      const definition = compose.services[service.name];

      test('builds the one Dockerfile with SERVICE set, limits resources, enables faults', () => {
        assert.equal(definition.build?.args?.SERVICE, service.name);
        assert.equal(definition.build?.context, '.');
        assert.ok(definition.deploy?.resources?.limits?.cpus, 'cpu limit');
        assert.ok(definition.deploy?.resources?.limits?.memory, 'memory limit');
        assert.equal(envOf(service.name).FAULTS_ENABLED, 'true');
        assert.equal(definition.read_only, true);
      });

      test('starts after the migrations one-shot, Kafka and Redis are healthy, without migrating', () => {
        const dependsOn = definition.depends_on as Record<string, { condition: string }>;
        assert.equal(dependsOn.migrations?.condition, 'service_completed_successfully');
        assert.equal(envOf(service.name).MIGRATE_ON_START, 'false');
        assert.equal(dependsOn.kafka?.condition, 'service_healthy');
        assert.equal(dependsOn.redis?.condition, 'service_healthy');
      });

      test('waits for the services it calls to be healthy', async () => {
        const { callGraph } = await import('./deploy-support.js');
        const dependsOn = definition.depends_on as Record<string, { condition: string }>;
        for (const callee of callGraph[service.name]) {
          assert.equal(
            dependsOn[callee]?.condition,
            'service_healthy',
            `${service.name} waits for ${callee}`,
          );
        }
      });

      test('its environment sets every variable its config schema requires and parses', () => {
        const env = envOf(service.name);
        for (const variable of requiredVariables(configSchemas[service.name])) {
          assert.ok(variable in env, `${variable} is required by ${service.name}`);
        }
        assert.equal(configIssues(service.name, env), '');
        assert.equal(env.GRPC_PORT, String(service.grpcPort));
        assert.equal(env.MYSQL_HOST, 'tidb');
        assert.equal(env.MYSQL_PORT, '4000');
      });

      test('points every address variable at a compose service on its port', () => {
        const env = envOf(service.name);
        for (const [key, value] of Object.entries(env).filter(([k]) => k.endsWith('_ADDR'))) {
          const [host, port] = value.split(':');
          const target = services.find((s) => s.name === host);
          assert.ok(target, `${key}=${value} names a service`);
          assert.equal(Number(port), target.grpcPort, `${key} port`);
        }
      });
    });
  }

  test('the migrations one-shot runs the migrate entry of every service once TiDB answers', () => {
    const migrations = compose.services.migrations;
    assert.deepEqual(migrations.command, ['pnpm', 'migrate']);
    assert.equal(migrations.build?.target, 'workspace');
    const dependsOn = migrations.depends_on as Record<string, { condition: string }>;
    assert.equal(dependsOn['tidb-init']?.condition, 'service_completed_successfully');
    assert.ok(migrations.deploy?.resources?.limits?.memory, 'memory limit');

    // `pnpm migrate` at the root runs `migrate` in every package under services/ …
    const root = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    assert.match(root.scripts.migrate ?? '', /pnpm -r .*--filter "\.\/services\/\*" run migrate/);
    const env = envOf('migrations');
    assert.equal(env.MYSQL_HOST, 'tidb');
    assert.equal(env.MYSQL_PORT, '4000');
    for (const service of services) {
      // … which is that service's src/migrate.ts, and the one-shot's environment configures it.
      const manifest = JSON.parse(
        readFileSync(path.join(repoRoot, 'services', service.name, 'package.json'), 'utf8'),
      ) as { scripts: Record<string, string> };
      assert.equal(manifest.scripts.migrate, 'node --import tsx src/migrate.ts', service.name);
      assert.ok(existsSync(path.join(repoRoot, 'services', service.name, 'src', 'migrate.ts')));
      assert.equal(configIssues(service.name, env), '', `${service.name} parses the one-shot's environment`);
    }
  });

  test('the demo profile runs pnpm demo against the gateway', () => {
    const demo = compose.services.demo;
    assert.deepEqual(demo.profiles, ['demo']);
    assert.deepEqual(demo.command, ['pnpm', 'demo']);
    assert.equal(envOf('demo').GATEWAY_URL, 'http://gateway:8080');
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');

  test('is multi-stage, takes SERVICE, runs as a numeric non-root user with a health check', () => {
    assert.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 3);
    assert.match(dockerfile, /^ARG SERVICE$/m);
    assert.match(dockerfile, /^USER 10001:10001$/m);
    assert.match(dockerfile, /^HEALTHCHECK /m);
    assert.match(dockerfile, /pnpm install --prod --frozen-lockfile/);
    assert.match(dockerfile, /createHealthProbe/);
  });

  test('the workspace stage the demo profile builds exists', () => {
    assert.match(dockerfile, /^FROM base AS workspace$/m);
    assert.match(dockerfile, /^FROM \$\{NODE_IMAGE\} AS runtime$/m);
  });
});
