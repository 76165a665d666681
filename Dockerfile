# Airlock itself (app, runner, proxy). Not an agent image: those are in agent-images/.
ARG NODE_IMAGE=node:24-bookworm-slim
FROM ${NODE_IMAGE}
WORKDIR /opt/airlock
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY app ./app
COPY app.yml ./
COPY cli ./cli
COPY core ./core
COPY runner ./runner
COPY migrations ./migrations
COPY agent-images ./agent-images
# `airlock proxy` and `airlock app` run as the unprivileged node user (compose sets it); a
# runner needs root and the Docker socket: it hands workspaces to the sandbox user (1001).
ENTRYPOINT ["node", "/opt/airlock/bin/airlock.js"]
