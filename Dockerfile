# syntax=docker/dockerfile:1
# gatewatch: one image for `serve`, `worker` and `start`. Build: docker build -t gatewatch .

# ---- build: compile TypeScript to dist/ with the dev dependencies ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# tsc copies no data files (the demo's real PagerDuty payload): copy them next to their compiled code.
RUN npm run build \
 && (cd src && find . -type f ! -name '*.ts' -exec cp --parents {} ../dist/ \;)

# ---- runtime: production dependencies and dist/ only, as the unprivileged node user ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    PLAYBOOKS_DIR=/app/playbooks
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# No src/ here on purpose: bin/gatewatch.js runs dist/ when src/ is absent.
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY playbooks ./playbooks
USER node
EXPOSE 3000
# /healthz is liveness only (no Redis round trip), so a Redis outage never gets the container killed.
# Worker containers answer on METRICS_PORT; set HEALTHCHECK_PORT to it (compose does).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HEALTHCHECK_PORT||process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1's child-free main process and receives SIGTERM directly for a graceful stop.
ENTRYPOINT ["node", "bin/gatewatch.js"]
CMD ["start"]
