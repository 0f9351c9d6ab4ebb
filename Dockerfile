# syntax=docker/dockerfile:1
#
# orgcast gateway image.
#   docker build -t orgcast:dev .
#   docker run --rm -p 8081:8081 -p 9091:9091 --read-only --tmpfs /tmp orgcast:dev
#
# glibc base (Debian bookworm): the uWebSockets.js native addon does not load on musl/Alpine.
# Node's major version must match a prebuilt addon (node_modules/uWebSockets.js/dist/bin).
ARG NODE_IMAGE=node:20-bookworm-slim

# --- production dependencies only -------------------------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# The SDK's workspace manifest (npm ci checks the lockfile against it); the SDK is not installed.
COPY client/package.json ./client/
# No install scripts are needed at runtime (the addon ships prebuilt binaries).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- compile TypeScript -----------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY client/package.json ./client/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY gateway/src ./gateway/src
RUN npm run build

# --- runtime ----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="orgcast" \
      org.opencontainers.image.description="Kubernetes-native real-time gateway: RabbitMQ task events to the WebSockets of each organization's members" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/orgcast/orgcast" \
      org.opencontainers.image.documentation="https://github.com/orgcast/orgcast/blob/main/docs/operations.md" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"

# Embedded mode writes its development secret to DEV_SECRET_FILE: /tmp is the only writable path
# when the root filesystem is read-only (the Helm chart mounts an emptyDir there).
ENV NODE_ENV=production \
    DEV_SECRET_FILE=/tmp/orgcast-dev/jwt-secret

WORKDIR /app
# Files stay owned by root and read-only to the runtime user.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist/gateway/src ./dist/gateway/src
COPY scripts/run-gateway.sh ./scripts/run-gateway.sh

# The image's unprivileged `node` user, numeric so Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 8081 9091
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.MANAGEMENT_PORT || 9091) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form, through a wrapper that execs node (so node is PID 1 and receives SIGTERM itself:
# graceful drain, docs/operations.md) with stderr filtered of the pinned uWS build's per-connection
# upgrade warning; every other stderr line passes.
ENTRYPOINT ["scripts/run-gateway.sh", "node", "dist/gateway/src/main.js"]
