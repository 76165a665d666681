#!/usr/bin/env bash
# Installs (if missing) and starts what Airlock's tests need on a Debian host without
# systemd: Docker (Debian's docker.io) and PostgreSQL (Debian's postgresql), and the tools the
# tests call (git, gcc, openssl, Chromium, docker-compose, ...).
# Idempotent: a second run finds both up and returns at once.
# Prints the test database URL on its last line: TEST_DATABASE_URL=...
set -euo pipefail

need=()
command -v dockerd >/dev/null || need+=(docker.io)
[ -x /usr/bin/pg_ctlcluster ] || need+=(postgresql)
command -v debootstrap >/dev/null || need+=(debootstrap)
# The compose deployment's end-to-end test (Debian 12's docker-compose 1.29).
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v nginx >/dev/null || need+=(nginx-light)
command -v git >/dev/null || need+=(git)
# The escape suite compiles its syscall probes statically on the host.
command -v gcc >/dev/null || need+=(gcc)
dpkg -s libc6-dev >/dev/null 2>&1 || need+=(libc6-dev)
# The egress tests make a self-signed certificate; the disk-cap tests make ext4 images.
command -v openssl >/dev/null || need+=(openssl)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v curl >/dev/null || need+=(curl)
# The run-history page's browser test drives Debian's Chromium with playwright-core (which
# never downloads a browser of its own).
[ -x /usr/bin/chromium ] || need+=(chromium)
# The image-rebuild Action's tests push to a local registry (issue 11).
command -v docker-registry >/dev/null || need+=(docker-registry)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

# --- Docker -----------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
  echo "starting dockerd"
  mkdir -p /var/log
  nohup dockerd >/var/log/airlock-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start:" >&2; tail -n 30 /var/log/airlock-dockerd.log >&2; exit 1; }
fi
echo "docker $(docker version -f '{{.Server.Version}}') up"

# --- local registry (127.0.0.1:5000) --------------------------------------------
if ! curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
  echo "starting docker-registry on 127.0.0.1:5000"
  mkdir -p /var/lib/airlock-registry
  nohup docker-registry serve "$(dirname "$0")/local-registry.yml" >/var/log/airlock-registry.log 2>&1 &
  for _ in $(seq 1 60); do
    curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1 && break
    sleep 0.5
  done
  curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1 || { echo "docker-registry did not start:" >&2; tail -n 30 /var/log/airlock-registry.log >&2; exit 1; }
fi
echo "registry up on 127.0.0.1:5000"

# --- PostgreSQL ---------------------------------------------------------------
version=$(ls /usr/lib/postgresql | sort -V | tail -n1)
if ! pg_lsclusters -h 2>/dev/null | awk '{print $2}' | grep -qx main; then
  pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters -h | awk '$2=="main"{print $4}' | grep -qx online; then
  echo "starting postgresql $version"
  pg_ctlcluster "$version" main start
fi
port=$(pg_lsclusters -h | awk '$2=="main"{print $3}')
su postgres -c "psql -p $port -qtAc \"select 1 from pg_roles where rolname='airlock'\"" | grep -q 1 ||
  su postgres -c "psql -p $port -qc \"create role airlock login superuser password 'airlock'\""
su postgres -c "psql -p $port -qtAc \"select 1 from pg_database where datname='airlock_test'\"" | grep -q 1 ||
  su postgres -c "psql -p $port -qc 'create database airlock_test owner airlock'"
echo "postgresql $version up on port $port"
echo "TEST_DATABASE_URL=postgres://airlock:airlock@127.0.0.1:$port/airlock_test"
