# syntax=docker/dockerfile:1.7
# One image per Koban service: docker build --build-arg SERVICE=ledger -t koban/ledger .
#
# Services run their TypeScript with tsx, as they do locally: @koban/platform exports its .ts
# sources and finds proto/ relative to itself (packages/platform/src/grpc/load-protos.ts), so the
# image keeps the workspace layout (proto/, packages/platform, services/<name>) and installs only
# the production dependencies of that one service and its workspace dependencies
# (`pnpm install --prod --filter @koban/<name>...`). tsx is installed apart, in /opt/tsx.
#
# Targets: `runtime` (default, one service) and `workspace` (full dev install: `pnpm demo`).
ARG NODE_IMAGE=node:20.19-bookworm-slim

FROM ${NODE_IMAGE} AS base
ENV PNPM_HOME=/pnpm CI=true COREPACK_ENABLE_DOWNLOAD_PROMPT=0
RUN corepack enable
WORKDIR /src

# Full workspace install: generated proto types, the demo and tests.
FROM base AS workspace
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
RUN --mount=type=cache,id=pnpm,target=/pnpm/store pnpm fetch --frozen-lockfile
COPY . .
RUN --mount=type=cache,id=pnpm,target=/pnpm/store pnpm install --offline --frozen-lockfile && pnpm gen

# Pruned production tree of one service: only its files, its platform and their prod deps.
FROM base AS prune
ARG SERVICE
RUN test -n "$SERVICE" || (echo "build with --build-arg SERVICE=<name>" >&2 && exit 1)
WORKDIR /app
# The whole workspace's manifests keep the lockfile frozen; everything but this service goes after.
COPY . .
COPY --from=workspace /src/packages/platform/src/generated ./packages/platform/src/generated
RUN --mount=type=cache,id=pnpm,target=/pnpm/store \
    pnpm install --prod --frozen-lockfile --ignore-scripts --filter "@koban/${SERVICE}..." \
 && find services -mindepth 1 -maxdepth 1 ! -name "${SERVICE}" -exec rm -rf {} + \
 && rm -rf tests scripts deploy .ci services/${SERVICE}/test packages/platform/test Dockerfile \
 && find . -path ./node_modules -prune -o -name '*.test.ts' -print | xargs rm -f
# tsx, pinned to the workspace's version, outside the pruned tree.
RUN npm install --prefix /opt/tsx --omit=dev --no-audit --no-fund tsx@4.23.15

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ENV NODE_ENV=production SERVICE=${SERVICE} OTEL_SERVICE_NAME=${SERVICE} \
    NODE_OPTIONS="--enable-source-maps"
WORKDIR /app
COPY --from=prune --chown=root:root /opt/tsx /opt/tsx
COPY --from=prune --chown=root:root /app /app
# The container health check: grpc.health.v1 for the gRPC services, GET /healthz for the gateway.
COPY --chown=root:root <<'PROBE' /app/services/${SERVICE}/healthcheck.ts
import { createHealthProbe } from '@koban/platform';
const service = process.env.SERVICE ?? '';
const timeout = AbortSignal.timeout(2_000);
let healthy = false;
if (service === 'gateway') {
  const port = process.env.HTTP_PORT ?? '8080';
  healthy = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: timeout }).then((r) => r.ok, () => false);
} else {
  const probe = createHealthProbe(`127.0.0.1:${process.env.GRPC_PORT ?? ''}`, 2_000);
  healthy = await probe.check('');
  probe.close();
}
process.exit(healthy ? 0 : 1);
PROBE
# Non-root, numeric so Kubernetes' runAsNonRoot can verify it; nothing under /app is writable.
USER 10001:10001
WORKDIR /app/services/${SERVICE}
EXPOSE 50050-50055 8080 9464-9469
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "--import", "/opt/tsx/node_modules/tsx/dist/loader.mjs", "healthcheck.ts"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--import", "/opt/tsx/node_modules/tsx/dist/loader.mjs", "--import", "@koban/platform/telemetry-register", "src/main.ts"]
