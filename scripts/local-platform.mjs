// Paths and process helpers shared by the local up/down/test scripts.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const paths = {
  root,
  run: path.join(root, '.run'),
  logs: path.join(root, '.run', 'logs'),
  pm2Home: path.join(root, '.run', 'pm2'),
  infraScript: path.join(root, 'deploy', 'local', 'infra.sh'),
  ecosystem: path.join(root, 'deploy', 'local', 'ecosystem.config.cjs'),
  waitHealthy: path.join(root, 'scripts', 'wait-healthy.ts'),
  pm2Bin: path.join(root, 'node_modules', '.bin', 'pm2'),
};

/** Runs a command in the repo root with inherited output; exits this process if it fails. */
export function run(command, args, { env = process.env, allowFailure = false } = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0 && !allowFailure) {
    console.error(`failed: ${command} ${args.join(' ')} (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
  return result.status ?? 1;
}

/** pm2 with its home inside .run/, so `down` kills our daemon and never another one. */
export function pm2(args, options = {}) {
  return run(paths.pm2Bin, args, { ...options, env: { ...process.env, PM2_HOME: paths.pm2Home } });
}
