# syntax=docker/dockerfile:1
# One image for every role: `docker run <image> start <role>` or ROLE=<role> (see deploy/helm/README.md).
#
# The image builds what CI tested: the Node major of .nvmrc (CI and the tests run that Node; see
# scripts/use-node.sh), the same package-lock.json, isolated-vm 6.2.0 (prebuilt for Node 24 inside
# its npm package; the build stages have a compiler should it need to build from source).
# test/src/deploy/dockerfile.test.ts checks that this major, .nvmrc and the lockfile agree.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /app
# Manifests first so the dependency layer is cached until package-lock.json changes.
# (One line per workspace of package.json; test/src/deploy/dockerfile.test.ts keeps the list complete.)
COPY package.json package-lock.json ./
COPY libs/core/package.json libs/core/
COPY libs/db/package.json libs/db/
COPY libs/secrets/package.json libs/secrets/
COPY libs/dev-services/package.json libs/dev-services/
COPY libs/plugin-vm/package.json libs/plugin-vm/
COPY libs/plugin-runtime/package.json libs/plugin-runtime/
COPY libs/management/package.json libs/management/
COPY libs/admin-api/package.json libs/admin-api/
COPY libs/admin-ui/package.json libs/admin-ui/
COPY libs/capture/package.json libs/capture/
COPY libs/ingestion/package.json libs/ingestion/
COPY libs/export/package.json libs/export/
COPY libs/scheduling/package.json libs/scheduling/
COPY libs/try-it/package.json libs/try-it/
COPY libs/admin-contract/package.json libs/admin-contract/
COPY apps/capture/package.json apps/capture/
COPY apps/ingest-worker/package.json apps/ingest-worker/
COPY apps/job-worker/package.json apps/job-worker/
COPY apps/scheduler/package.json apps/scheduler/
COPY apps/exporter/package.json apps/exporter/
COPY apps/cli/package.json apps/cli/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY bin/ bin/
COPY libs/ libs/
COPY apps/ apps/
# The CLI's project references build every app and lib it starts (not test/ or bench/); the web
# UI is bundled by Vite (a devDependency, not in the runtime) into libs/admin-ui/dist, which capture serves.
RUN npx tsc -b apps/cli \
  && npm run build -w @plugin-server/admin-ui \
  && find libs apps -name '*.tsbuildinfo' -delete \
  && rm -rf libs/*/node_modules apps/*/node_modules

# The runtime's node_modules: `npm ci --omit=dev` from the same lockfile (the bridged SDKs, aws-sdk,
# @google-cloud/*, snowflake-sdk, are dependencies of libs/plugin-vm, so they are in it).
FROM node:${NODE_VERSION}-bookworm AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/core/package.json libs/core/
COPY libs/db/package.json libs/db/
COPY libs/secrets/package.json libs/secrets/
COPY libs/dev-services/package.json libs/dev-services/
COPY libs/plugin-vm/package.json libs/plugin-vm/
COPY libs/plugin-runtime/package.json libs/plugin-runtime/
COPY libs/management/package.json libs/management/
COPY libs/admin-api/package.json libs/admin-api/
COPY libs/admin-ui/package.json libs/admin-ui/
COPY libs/capture/package.json libs/capture/
COPY libs/ingestion/package.json libs/ingestion/
COPY libs/export/package.json libs/export/
COPY libs/scheduling/package.json libs/scheduling/
COPY libs/try-it/package.json libs/try-it/
COPY libs/admin-contract/package.json libs/admin-contract/
COPY apps/capture/package.json apps/capture/
COPY apps/ingest-worker/package.json apps/ingest-worker/
COPY apps/job-worker/package.json apps/job-worker/
COPY apps/scheduler/package.json apps/scheduler/
COPY apps/exporter/package.json apps/exporter/
COPY apps/cli/package.json apps/cli/
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# GLIBC_TUNABLES: glibc keeps freed memory otherwise (libs/core/src/malloc-tunables.ts says why).
ENV NODE_ENV=production \
    LOG_FORMAT=json \
    METRICS_PORT=9090 \
    GLIBC_TUNABLES=glibc.malloc.trim_threshold=131072
WORKDIR /app
# The same uid the Helm chart's securityContext runs as; owns nothing it could rewrite at runtime.
RUN groupadd --system --gid 10001 plugin-server \
  && useradd --system --uid 10001 --gid plugin-server --home-dir /app --shell /usr/sbin/nologin plugin-server
COPY --from=deps /app/package.json /app/package-lock.json ./
COPY --from=deps /app/node_modules/ node_modules/
COPY --from=build /app/bin/ bin/
COPY --from=build /app/libs/ libs/
COPY --from=build /app/apps/ apps/
# Workspace-local node_modules (a dependency whose version differs from the root's) come from deps too.
COPY --from=deps /app/libs/ libs/
COPY --from=deps /app/apps/ apps/
COPY scripts/docker-entrypoint.sh /usr/local/bin/plugin-server-entrypoint
USER 10001:10001
EXPOSE 8000 9090
ENTRYPOINT ["/usr/local/bin/plugin-server-entrypoint"]
CMD []
