#!/bin/sh
# Runs under tini as the container's main process. When the run's socket directory is
# mounted, start the bridge so the agent can reach the metered LLM proxy at
# 127.0.0.1:<port> while the container's network stays `none` (DESIGN §4). Without the
# socket, exec straight away: no node start, so `airlock sandbox exec -- true` stays fast.
set -eu

sock=/run/airlock/llm.sock
port="${AIRLOCK_BRIDGE_PORT:-4000}"

if [ -S "$sock" ]; then
  case "$port" in
    '' | *[!0-9]*)
      echo "airlock entrypoint: AIRLOCK_BRIDGE_PORT must be a number, got '$port'" >&2
      exit 125
      ;;
  esac
  AIRLOCK_BRIDGE_PORT="$port" /usr/local/bin/node /opt/airlock/bridge.mjs &
  bridge=$!
  # Ready when /proc/net/tcp lists 127.0.0.1:<port> in state 0A (LISTEN). Reading
  # /proc needs no writable file and no extra tool; the wait is bounded (~5 s).
  want=$(printf '0100007F:%04X' "$port")
  tries=0
  until awk -v want="$want" '$2 == want && $4 == "0A" { found = 1 } END { exit !found }' /proc/net/tcp 2>/dev/null; do
    if ! kill -0 "$bridge" 2>/dev/null; then
      echo "airlock entrypoint: the socket bridge exited before listening on 127.0.0.1:$port" >&2
      exit 125
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 250 ]; then
      kill "$bridge" 2>/dev/null || true
      echo "airlock entrypoint: the socket bridge did not listen on 127.0.0.1:$port within 5 s" >&2
      exit 125
    fi
    sleep 0.02
  done
  export AIRLOCK_BRIDGE_PORT="$port"
  export OPENAI_BASE_URL="${OPENAI_BASE_URL:-http://127.0.0.1:$port/v1}"
  export ANTHROPIC_BASE_URL="${ANTHROPIC_BASE_URL:-http://127.0.0.1:$port}"
fi

exec "$@"
