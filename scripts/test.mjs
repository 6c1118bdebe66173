#!/usr/bin/env node
// `pnpm test`: everything CI checks, in order — generated types, typecheck, lint, format,
// unit and integration tests (real MariaDB, Redis, Kafka), then end-to-end tests against the
// running platform (started with `pnpm run up` when it is not already up, stopped after).
//
// Narrow it with KOBAN_TEST_STAGES=static,unit,e2e (default: all three).
import { readdirSync, readFileSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import path from 'node:path';
import { paths, run } from './local-platform.mjs';

const stages = new Set((process.env.KOBAN_TEST_STAGES ?? 'static,unit,e2e').split(','));
const resultsDir = path.join(paths.run, 'test-results');
rmSync(resultsDir, { recursive: true, force: true });
mkdirSync(resultsDir, { recursive: true });

/** Test files under `dir` (relative to the repo root) whose path matches `pattern`. */
function findTests(dirs, pattern) {
  const files = [];
  for (const dir of dirs) {
    const absolute = path.join(paths.root, dir);
    if (!existsSync(absolute)) continue;
    for (const entry of readdirSync(absolute, { recursive: true })) {
      const file = path.join(dir, String(entry));
      if (!file.includes('node_modules') && pattern.test(file)) files.push(file);
    }
  }
  return files.sort();
}

const workspaces = ['packages', 'services'];
const unitTests = findTests(workspaces, /\/src\/.*\.test\.ts$/);
const integrationTests = findTests(workspaces, /\/test\/.*\.test\.ts$/);
// Offline checks of the deployment files (compose, kustomize overlays rendered with kubectl) and
// of the README's generated sections.
const deployTests = findTests(['tests/deploy', 'tests/docs'], /\.test\.ts$/);
const e2eTests = findTests(['tests/e2e'], /\.test\.ts$/);
// Audits of what the whole suite left behind (e.g. the card-data leak scan) run after it.
const auditTests = findTests(['tests/audit'], /\.test\.ts$/);

/** Runs whose test runner exited non-zero, to count even when their TAP shows no failure. */
const runsFailedWithoutReport = [];

/** Runs node's test runner on `files`; spec output on the console, TAP kept to count results. */
function nodeTest(name, files, concurrency, timeoutMs = 120_000) {
  if (files.length === 0) return;
  console.log(`\n== ${name}: ${files.length} files`);
  const status = run(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${concurrency}`,
      `--test-timeout=${timeoutMs}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${path.join(resultsDir, `${name}.tap`)}`,
      ...files,
    ],
    { allowFailure: true },
  );
  if (status !== 0) runsFailedWithoutReport.push(name);
}

function pnpmScript(name) {
  console.log(`\n== ${name}`);
  run('pnpm', ['run', '--silent', name]);
}

run('pnpm', ['run', '--silent', 'gen']);
if (stages.has('static')) {
  pnpmScript('typecheck');
  pnpmScript('lint');
  pnpmScript('format:check');
  console.log('\n== alert rules (promtool check + unit tests)');
  run('bash', [path.join(paths.root, 'deploy', 'prometheus', 'test-rules.sh')]);
}
if (stages.has('unit')) {
  run('bash', [paths.infraScript, 'ensure']);
  nodeTest('unit-and-integration', [...unitTests, ...integrationTests, ...deployTests], 2);
}
if (stages.has('e2e') && e2eTests.length > 0) {
  const alreadyUp =
    run(process.execPath, ['--import', 'tsx', paths.waitHealthy, '--timeout-ms', '0'], {
      allowFailure: true,
    }) === 0;
  if (!alreadyUp) run(process.execPath, [path.join(paths.root, 'scripts', 'up.mjs')]);
  // End-to-end files run whole scenarios (the credential-stuffing attack alone sends about
  // 20,000 requests), so each file gets 15 minutes rather than the default 2.
  nodeTest('e2e', e2eTests, 1, 900_000);
  nodeTest('audit', auditTests, 1);
  if (!alreadyUp) run(process.execPath, [path.join(paths.root, 'scripts', 'down.mjs')]);
}

// One closing line over every run, in the plain form CI reads.
let passed = 0;
let failed = 0;
for (const file of readdirSync(resultsDir)) {
  const tap = readFileSync(path.join(resultsDir, file), 'utf8');
  passed += Number(/^# pass (\d+)$/m.exec(tap)?.[1] ?? 0);
  // A test cancelled (e.g. by its time-out) did not pass: it counts as failed.
  const failedHere =
    Number(/^# fail (\d+)$/m.exec(tap)?.[1] ?? 0) + Number(/^# cancelled (\d+)$/m.exec(tap)?.[1] ?? 0);
  failed += failedHere;
  if (!/^# pass \d+$/m.test(tap)) failed += 1; // a run that crashed before reporting
  // The runner failed without counting a failure (a file that could not load, say): still a failure.
  if (failedHere === 0 && runsFailedWithoutReport.includes(file.replace(/\.tap$/, ''))) failed += 1;
}
console.log(`\ntests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
