#!/usr/bin/env node
// `pnpm run down`: stops what `pnpm run up` started (the services' supervisor and the local
// Kafka broker) and nothing else. Data stays in MariaDB, Redis and .run/kafka.
import { existsSync } from 'node:fs';
import { paths, run, pm2 } from './local-platform.mjs';

if (existsSync(paths.pm2Home)) pm2(['kill'], { allowFailure: true });
run('bash', [paths.infraScript, 'stop-kafka']);
console.log('Koban is down.');
