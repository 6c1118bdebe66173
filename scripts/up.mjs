#!/usr/bin/env node
// `pnpm run up`: local infrastructure (MariaDB, Redis, Kafka), then the six services under pm2;
// returns once every service reports healthy. Safe to run when already up.
import { mkdirSync } from 'node:fs';
import { paths, run, pm2 } from './local-platform.mjs';

const started = Date.now();
run('bash', [paths.infraScript, 'ensure']);
mkdirSync(paths.logs, { recursive: true });
pm2(['start', paths.ecosystem, '--update-env']);
run(process.execPath, [
  '--import',
  'tsx',
  paths.waitHealthy,
  '--timeout-ms',
  process.env.UP_TIMEOUT_MS ?? '90000',
]);

const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(`Koban is up in ${seconds} s.
  gateway:  ${process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080'}
  logs:     .run/logs/<service>.log  (supervisor: PM2_HOME=.run/pm2 pnpm exec pm2 status)
  stop:     pnpm run down`);
