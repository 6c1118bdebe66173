// Waits until every local service reports healthy: gRPC services through grpc.health.v1, the
// gateway through GET /readyz. On time-out, names the unhealthy ones and shows their last log
// lines. `--timeout-ms 0` checks once (exit 0 when all are healthy, 1 otherwise).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createHealthProbe } from '@koban/platform';

interface LocalService {
  name: string;
  grpcPort?: number;
  httpPort?: number;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { services } = JSON.parse(readFileSync(path.join(root, 'deploy/local/services.json'), 'utf8')) as {
  services: LocalService[];
};
const { values } = parseArgs({ options: { 'timeout-ms': { type: 'string', default: '90000' } } });
const deadline = Date.now() + Number(values['timeout-ms']);

const checks = services.map((service) => {
  // The gateway's /readyz covers its own gRPC port and its dependencies; others answer health.
  if (service.httpPort === undefined && service.grpcPort !== undefined) {
    const probe = createHealthProbe(`127.0.0.1:${service.grpcPort}`, 500);
    return { name: service.name, check: () => probe.check(), close: () => probe.close() };
  }
  const url = `${process.env.GATEWAY_URL ?? `http://127.0.0.1:${service.httpPort}`}/readyz`;
  const check = async () => {
    try {
      return (await fetch(url, { signal: AbortSignal.timeout(1_000) })).ok;
    } catch {
      return false;
    }
  };
  return { name: service.name, check, close: () => undefined };
});

let unhealthy = checks.map((c) => c.name);
for (;;) {
  const results = await Promise.all(checks.map(async (c) => ({ name: c.name, ok: await c.check() })));
  unhealthy = results.filter((r) => !r.ok).map((r) => r.name);
  if (unhealthy.length === 0 || Date.now() >= deadline) break;
  await new Promise((resolve) => setTimeout(resolve, 250));
}
for (const c of checks) c.close();

if (unhealthy.length > 0) {
  if (Number(values['timeout-ms']) > 0) {
    console.error(`not healthy in time: ${unhealthy.join(', ')}`);
    for (const name of unhealthy) {
      const log = path.join(root, '.run', 'logs', `${name}.log`);
      if (!existsSync(log)) continue;
      const tail = readFileSync(log, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
      console.error(`--- last lines of .run/logs/${name}.log\n${tail}`);
    }
  }
  process.exit(1);
}
