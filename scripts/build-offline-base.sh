#!/usr/bin/env bash
# Builds a Debian base image locally when the public base image cannot be pulled
# (air-gapped hosts, CI without a registry). The result is tagged with the same
# name the Dockerfiles default to, so `docker build` then works unchanged.
#
#   scripts/build-offline-base.sh [TAG]     default TAG: debian:bookworm-slim
#
# The Debian mirror is read from this host's own apt sources: nothing here names one.
set -euo pipefail

tag="${1:-debian:bookworm-slim}"
suite="${AIRLOCK_BASE_SUITE:-bookworm}"

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag already present"
  exit 0
fi

mirror="${AIRLOCK_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  # deb822 sources (URIs:) first, then one-line sources (deb URL suite ...).
  mirror=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
  [ -n "$mirror" ] || mirror=$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
fi
if [ -z "$mirror" ]; then
  echo "no Debian mirror found in /etc/apt; set AIRLOCK_DEBIAN_MIRROR" >&2
  exit 1
fi

command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install -y debootstrap" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "debootstrap $suite (minbase) into $work/rootfs"
debootstrap --variant=minbase "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}
# Trim what a slim image leaves out; apt lists are fetched again by the Dockerfiles.
rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/"*.bin "$work/rootfs/usr/share/doc/"* "$work/rootfs/usr/share/man/"*
tar -C "$work/rootfs" -c . | docker import \
  --change 'CMD ["bash"]' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  - "$tag" >/dev/null
echo "imported $tag ($(docker image inspect -f '{{.Size}}' "$tag") bytes)"
