# syntax=docker/dockerfile:1
# Dockerfile
# Practice 1 (run without root) in a container: three stages so that compilers and dev
# dependencies never reach the image, a numeric unprivileged user, and writes only under /data so
# the container runs with a read-only root filesystem:
#   docker build -t portcullis .
#   docker run --read-only --cap-drop=ALL --security-opt no-new-privileges \
#     -v portcullis-data:/data -p 443:8443 -p 80:8080 --env-file portcullis.env portcullis
# Secrets (PORTCULLIS_SECRET or PORTCULLIS_SECRET_FILE, certificates) come at run time from the
# environment, an env file or mounted secrets; none is baked into any layer.
# test/deploy/dockerfile.test.ts checks this file statically (no Docker engine runs in CI).

# One base for every stage, pinned to an exact release of the current LTS line so that builds
# are repeatable and native modules compiled in "deps" match the runtime's ABI. Bump it with each
# Node.js security release (and pin the digest too where the registry can be reached:
# node:24.22.3-bookworm-slim@sha256:...).
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# --- build: compile TypeScript. Its node_modules (dev dependencies included) never ship. ---------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Only the TypeScript compiler and type packages are used here, so no install script has to run.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json

# --- deps: production dependencies only; better-sqlite3 and argon2 may compile from source. ------
FROM ${NODE_IMAGE} AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# --- runtime: no compiler, no dev dependencies, no npm, no root. -----------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORTCULLIS_HOST=0.0.0.0 \
    PORTCULLIS_HTTPS_PORT=8443 \
    PORTCULLIS_HTTP_PORT=8080 \
    PORTCULLIS_DATA_DIR=/data \
    PORTCULLIS_LOG_FORMAT=json
WORKDIR /app
# The package manager is not needed to run the server; removing it removes its CVEs from scans.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /opt/yarn-* \
           /usr/local/bin/yarn /usr/local/bin/yarnpkg \
 && mkdir -p /data \
 && chown 10001:10001 /data \
 && chmod 0700 /data
# Application files stay owned by root: the server can read its code but never rewrite it.
COPY package.json ./
COPY public ./public
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
# The only writable place: the database, the development certificate, nothing else.
VOLUME /data
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd. 8443 and 8080
# need no capability; publish them as 443 and 80.
USER 10001:10001
EXPOSE 8443 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "scripts/healthcheck.mjs"]
CMD ["node", "dist/src/main.js", "serve"]
