# One image for the three Kaiban processes (API, worker, agency simulator); docker-compose.yml picks
# the entry point per service. TypeScript runs through tsx, as in package.json's start scripts.
# No Temporal CLI inside: in containers Kaiban always connects to TEMPORAL_ADDRESS.
FROM node:20-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false
WORKDIR /app

# Dependencies first, so a source change does not reinstall them. tsx is a runtime dependency;
# @temporalio/worker's native core ships prebuilt for glibc (hence -slim, not -alpine).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY . .
# The operator console's static files (console/dist, not in git), built with the esbuild that tsx brings.
RUN node --import tsx scripts/build-console.ts
# KAIBAN_DATA_DIR (development secrets) must be writable by the unprivileged user; compose mounts a
# named volume here, which takes this ownership on first use.
RUN mkdir -p /app/data && chown node:node /app/data
USER node

# The standalone API (what `npm run start:api` runs, without the npm and sh wrappers, so that
# SIGTERM from `docker stop` reaches node and the process shuts down cleanly).
EXPOSE 3000 4000
CMD ["node", "--import", "tsx", "api/main.ts"]
