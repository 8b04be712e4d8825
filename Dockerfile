# One image for every service of follower-maze; docker-compose.yml picks the service
# with `command`. The build stage compiles the TypeScript (npm run build); the runtime
# stage holds the compiled JavaScript and production dependencies only, and runs plain
# node as the unprivileged `node` user. test/e2e/compiled-image.e2e.test.ts lays out the
# runtime stage as this file says and runs a pipeline through it.

# Manifests first, so the dependency layers are rebuilt only when they change. npm ci
# needs the package.json of every workspace the root package.json lists.
FROM node:20-slim AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY services/ingest/package.json services/ingest/
COPY services/sequencer/package.json services/sequencer/
COPY services/gateway/package.json services/gateway/
COPY tools/verify/package.json tools/verify/
COPY tools/stack/package.json tools/stack/
COPY tools/bench/package.json tools/bench/
COPY tools/soak/package.json tools/soak/
COPY tools/ops/package.json tools/ops/

FROM manifests AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build-base.json tsconfig.build.json ./
COPY shared shared
COPY services services
RUN npm run build

FROM manifests AS runtime
ENV NODE_ENV=production
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/shared/dist shared/dist
COPY --from=build /app/services/ingest/dist services/ingest/dist
COPY --from=build /app/services/sequencer/dist services/sequencer/dist
COPY --from=build /app/services/gateway/dist services/gateway/dist

ENV LISTEN_HOST=0.0.0.0
# Event port, client port, and METRICS_PORT (/metrics, /livez, /readyz).
EXPOSE 9090 9099 9464

# The official image's unprivileged user; the files stay owned by root (read-only to it).
USER node

# Node is PID 1 and handles SIGTERM itself (shared/src/service-runner.ts).
# --conditions=compiled makes @follower-maze/shared resolve to its dist (shared/package.json).
CMD ["node", "--conditions=compiled", "services/gateway/dist/main.js"]
