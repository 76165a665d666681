#!/bin/sh
# Runs under tini as the container's main process. For each socket the runner mounted in
# /run/airlock, start the bridge on a loopback port while the container's network stays
# `none` (DESIGN §4): llm.sock (the metered LLM proxy) on 127.0.0.1:$AIRLOCK_BRIDGE_PORT,
# egress.sock (the egress proxy, granted domains only; issue 10 §7) on
# 127.0.0.1:$AIRLOCK_EGRESS_PORT. Without a socket, exec straight away: no node start, so
# `airlock sandbox exec -- true` stays fast.
set -eu

llm_sock=/run/airlock/llm.sock
egress_sock=/run/airlock/egress.sock
port="${AIRLOCK_BRIDGE_PORT:-4000}"
egress_port="${AIRLOCK_EGRESS_PORT:-4001}"

check_port() {
  case "$2" in
    '' | *[!0-9]*)
      echo "airlock entrypoint: $1 must be a number, got '$2'" >&2
      exit 125
      ;;
  esac
}

routes=""
if [ -S "$llm_sock" ]; then
  check_port AIRLOCK_BRIDGE_PORT "$port"
  routes="$port=$llm_sock"
fi
if [ -S "$egress_sock" ]; then
  check_port AIRLOCK_EGRESS_PORT "$egress_port"
  if [ -n "$routes" ] && [ "$egress_port" -eq "$port" ]; then
    echo "airlock entrypoint: AIRLOCK_EGRESS_PORT and AIRLOCK_BRIDGE_PORT are both $port; give them different ports" >&2
    exit 125
  fi
  routes="$routes $egress_port=$egress_sock"
fi

if [ -n "$routes" ]; then
  # shellcheck disable=SC2086 # one word per route, on purpose
  /usr/local/bin/node /opt/airlock/bridge.mjs $routes &
  bridge=$!
  # Ready when /proc/net/tcp lists 127.0.0.1:<port> in state 0A (LISTEN) for every route.
  # Reading /proc needs no writable file and no extra tool; the wait is bounded (~5 s).
  for route in $routes; do
    listen_port=${route%%=*}
    want=$(printf '0100007F:%04X' "$listen_port")
    tries=0
    until awk -v want="$want" '$2 == want && $4 == "0A" { found = 1 } END { exit !found }' /proc/net/tcp 2>/dev/null; do
      if ! kill -0 "$bridge" 2>/dev/null; then
        echo "airlock entrypoint: the socket bridge exited before listening on 127.0.0.1:$listen_port" >&2
        exit 125
      fi
      tries=$((tries + 1))
      if [ "$tries" -ge 250 ]; then
        kill "$bridge" 2>/dev/null || true
        echo "airlock entrypoint: the socket bridge did not listen on 127.0.0.1:$listen_port within 5 s" >&2
        exit 125
      fi
      sleep 0.02
    done
  done
fi

if [ -S "$llm_sock" ]; then
  export AIRLOCK_BRIDGE_PORT="$port"
  export OPENAI_BASE_URL="${OPENAI_BASE_URL:-http://127.0.0.1:$port/v1}"
  export ANTHROPIC_BASE_URL="${ANTHROPIC_BASE_URL:-http://127.0.0.1:$port}"
fi
if [ -S "$egress_sock" ]; then
  # Both spellings: curl and git read only the lower-case http_proxy, others only the
  # upper-case one. Set, not defaulted: the bridge is the only way out, so any other
  # proxy would only fail. Loopback (the LLM bridge) never goes through the proxy.
  # NODE_USE_ENV_PROXY makes Node's fetch and http honour them, so a refusal reaches a
  # Node tool as the proxy's answer (why, and how to ask) rather than as a DNS failure.
  proxy="http://127.0.0.1:$egress_port"
  export AIRLOCK_EGRESS_PORT="$egress_port"
  export HTTPS_PROXY="$proxy" HTTP_PROXY="$proxy" https_proxy="$proxy" http_proxy="$proxy"
  export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"
  export NODE_USE_ENV_PROXY=1
fi

exec "$@"
