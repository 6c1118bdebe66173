// Control of the local platform that `pnpm run up` started (pm2 with its home in .run/pm2):
// restarting a service with changed environment, stopping and starting it, waiting for health.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

async function pm2(args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(path.join(root, 'node_modules/.bin/pm2'), args, {
    env: { ...process.env, ...env, PM2_HOME: path.join(root, '.run/pm2') },
  });
  return stdout;
}

/** The pid of a service's process, or 0 when it is not running. */
export async function servicePid(service: string): Promise<number> {
  return Number((await pm2(['pid', `koban-${service}`])).trim().split('\n').pop() ?? 0);
}

/** Waits until every service of the local platform reports healthy. */
export async function waitForHealthy(timeoutMs = 60_000): Promise<void> {
  await run(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'scripts/wait-healthy.ts'), '--timeout-ms', String(timeoutMs)],
    {
      cwd: root,
    },
  );
}

/** Restarts a service with extra environment (e.g. a config switch) and waits for health. */
export async function restartService(service: string, env: Record<string, string>): Promise<void> {
  await pm2(['restart', `koban-${service}`, '--update-env'], env);
  await waitForHealthy();
}

export async function stopService(service: string): Promise<void> {
  await pm2(['stop', `koban-${service}`]);
}

export async function startService(service: string): Promise<void> {
  await pm2(['start', `koban-${service}`]);
  await waitForHealthy();
}

/** The six services of the local platform, as pm2 names them without the `koban-` prefix. */
export const platformServices = [
  'gateway',
  'payment',
  'ledger',
  'bank-integration',
  'fraud',
  'campaign-promo',
];

/** Restarts every service with extra environment (e.g. an OTLP endpoint) and waits for health. */
export async function restartPlatform(env: Record<string, string>): Promise<void> {
  await pm2(['restart', ...platformServices.map((service) => `koban-${service}`), '--update-env'], env);
  await waitForHealthy();
}
