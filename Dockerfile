# One image for every service of follower-maze; docker-compose.yml picks the
# service with `command`. TypeScript runs directly through tsx: no build step.
FROM node:20-slim

WORKDIR /app

# Manifests first, so the dependency layer is rebuilt only when they change.
# npm ci needs the package.json of every workspace listed in the root package.json.
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY services/ingest/package.json services/ingest/
COPY services/sequencer/package.json services/sequencer/
COPY services/gateway/package.json services/gateway/
COPY tools/verify/package.json tools/verify/
COPY tools/stack/package.json tools/stack/
COPY tools/bench/package.json tools/bench/
# tsx (the runtime loader) is a devDependency, so dev dependencies are installed too.
RUN npm ci --include=dev --no-audit --no-fund && npm cache clean --force

COPY . .

ENV NODE_ENV=production \
    LISTEN_HOST=0.0.0.0
EXPOSE 9090 9099

# The official image's unprivileged user; the sources stay owned by root (read-only to it).
USER node

# Node is PID 1 and handles SIGTERM itself (shared/src/service-runner.ts).
CMD ["node", "--import", "tsx", "services/gateway/src/main.ts"]
