# syntax=docker/dockerfile:1
# One image for every role: `docker run <image> start <role>` or ROLE=<role> (see deploy/helm/README.md).
#
# Node 22 LTS with isolated-vm 5.0.4, the version the lockfile pins and the tests run: 5.0.x
# supports Node 18-22 (its own prebuilt binaries are built on node:22), so the image needs no
# dependency override. The build stage has a compiler in case no prebuilt binary can be fetched.
ARG NODE_VERSION=22

FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /app
# Manifests first so the dependency layer is cached until package-lock.json changes.
# (One line per workspace of package.json; test/src/deploy/dockerfile.test.ts keeps the list complete.)
COPY package.json package-lock.json ./
COPY libs/core/package.json libs/core/
COPY libs/db/package.json libs/db/
COPY libs/dev-services/package.json libs/dev-services/
COPY libs/plugin-vm/package.json libs/plugin-vm/
COPY libs/meta/package.json libs/meta/
COPY libs/admin-api/package.json libs/admin-api/
COPY libs/admin-ui/package.json libs/admin-ui/
COPY libs/capture/package.json libs/capture/
COPY libs/ingestion/package.json libs/ingestion/
COPY libs/export/package.json libs/export/
COPY libs/scheduling/package.json libs/scheduling/
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
# UI is bundled by Vite (a devDependency, pruned after) into libs/admin-ui/dist, which capture serves.
RUN npx tsc -b apps/cli \
  && npm run build -w @plugin-server/admin-ui \
  && npm prune --omit=dev --no-audit --no-fund \
  && find libs apps -name '*.tsbuildinfo' -delete

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    LOG_FORMAT=json \
    METRICS_PORT=9090
WORKDIR /app
# The same uid the Helm chart's securityContext runs as; owns nothing it could rewrite at runtime.
RUN groupadd --system --gid 10001 plugin-server \
  && useradd --system --uid 10001 --gid plugin-server --home-dir /app --shell /usr/sbin/nologin plugin-server
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/bin/ bin/
COPY --from=build /app/libs/ libs/
COPY --from=build /app/apps/ apps/
COPY scripts/docker-entrypoint.sh /usr/local/bin/plugin-server-entrypoint
USER 10001:10001
EXPOSE 8000 9090
ENTRYPOINT ["/usr/local/bin/plugin-server-entrypoint"]
CMD []
