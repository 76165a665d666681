# Airlock itself (app, runner, proxy). Not an agent image: those are in agent-images/.
ARG NODE_IMAGE=node:24-bookworm-slim
FROM ${NODE_IMAGE}
WORKDIR /opt/airlock
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY cli ./cli
COPY core ./core
COPY runner ./runner
COPY migrations ./migrations
COPY agent-images ./agent-images
USER node
ENTRYPOINT ["node", "/opt/airlock/bin/airlock.js"]
