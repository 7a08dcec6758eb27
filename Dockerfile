# syntax=docker/dockerfile:1
# The service ships as one esbuild bundle (scripts/build.ts): a start parses one file instead of
# type-stripping src/ and resolving ~1,500 modules.

FROM node:24-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# better-sqlite3 ships N-API prebuilds in its package, so no install scripts and no compiler.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# esbuild runs from its platform package: its install script is not needed.
RUN npm ci --ignore-scripts
COPY scripts ./scripts
COPY src ./src
RUN node scripts/build.ts

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    INTERNAL_PORT=8081 \
    HOST=0.0.0.0 \
    DATABASE_PATH=/data/connector.db
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
COPY drizzle ./drizzle
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# 8080: public (browsers: /connect, probes); 8081: internal (/v1, metrics, docs) — contract §5.
# Publish only 8080 through the ingress; backends reach 8081 inside the network.
EXPOSE 8080 8081
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
# The young generation is sized for this service's allocation rate, not derived from the memory
# the host or the container limit reports: 16 MB semi-spaces (docs/decisions.md, 13). npm start
# gives the same flags (test/docker-image.test.ts).
CMD ["node", "--max-semi-space-size=16", "dist/server/server.js"]
