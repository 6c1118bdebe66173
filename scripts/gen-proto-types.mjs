#!/usr/bin/env node
// `pnpm gen`: TypeScript types for every proto, written to packages/platform/src/generated/.
//
// The output is generated, never committed (.gitignore), and rewritten whole on every run so a
// removed or renamed proto leaves nothing stale behind. It must exist before `pnpm typecheck`.
//
// Import specifiers get a `.js` extension (--importFileExtension): the root tsconfig resolves
// with NodeNext, where an ESM file may not import a relative path without its extension.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const protoRoot = path.join(repoRoot, 'proto');
const outDir = path.join(repoRoot, 'packages', 'platform', 'src', 'generated');

// Resolve the tools and the health proto the way @koban/platform itself does, since they are
// its dependencies rather than the root's.
const requireFromPlatform = createRequire(path.join(repoRoot, 'packages', 'platform', 'package.json'));
const protoLoaderDir = path.dirname(requireFromPlatform.resolve('@grpc/proto-loader/package.json'));
const genTypesBin = path.join(protoLoaderDir, 'build', 'bin', 'proto-loader-gen-types.js');
/** @type {{ protoPath: string }} */
const healthCheck = requireFromPlatform('grpc-health-check');
// protoPath is <package>/proto/health/v1/health.proto; its import root is three levels up.
const healthIncludeDir = path.resolve(path.dirname(healthCheck.protoPath), '..', '..');

/** Every .proto under `dir`, as paths relative to it with forward slashes, sorted. */
function listProtos(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.proto'))
    .map((entry) =>
      path
        .relative(dir, path.join(entry.parentPath ?? entry.path, entry.name))
        .split(path.sep)
        .join('/'),
    )
    .sort();
}

const protoFiles = [...listProtos(protoRoot), 'health/v1/health.proto'];

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

execFileSync(
  process.execPath,
  [
    genTypesBin,
    '--longs=String',
    '--enums=String',
    '--defaults',
    '--oneofs',
    '--includeComments',
    '--grpcLib=@grpc/grpc-js',
    '--importFileExtension=.js',
    '--includeDirs',
    path.relative(repoRoot, protoRoot),
    '--includeDirs',
    path.relative(repoRoot, healthIncludeDir),
    '--outDir',
    path.relative(repoRoot, outDir),
    ...protoFiles,
  ],
  // Relative paths keep machine-specific directories out of the generated "Original file" notes.
  { cwd: repoRoot, stdio: 'inherit' },
);

// A per-file ProtoGrpcType for protos without a service (the events) still declares the gRPC
// import and the SubtypeConstructor helper; the root tsconfig's noUnusedLocals rejects them.
const subtypeConstructorDecl = /^type SubtypeConstructor<[^\n]*\n(?:[^\n]*\n)*?\};\n/m;
for (const entry of readdirSync(outDir, { withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
  const file = path.join(outDir, entry.name);
  let source = readFileSync(file, 'utf8');
  const original = source;
  if (!source.includes('SubtypeConstructor<typeof')) source = source.replace(subtypeConstructorDecl, '');
  if (!/\bgrpc\./.test(source))
    source = source.replace(/^import type \* as grpc from '@grpc\/grpc-js';\n/m, '');
  if (source !== original) writeFileSync(file, source);
}

console.log(`generated types for ${protoFiles.length} protos in ${path.relative(repoRoot, outDir)}`);
