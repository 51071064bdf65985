#!/usr/bin/env bash
# Installs the Debian packages ark needs to build, test and mount. Sourced by the other scripts.
set -euo pipefail
ARK_DEBS="pkg-config libsodium-dev libzstd-dev zlib1g-dev libsqlite3-dev libfuse3-dev fuse3 git attr rsync iproute2 python3"
# The S3 server of the tests and benchmarks (scripts/s3-server.sh): OpenStack Swift with s3api.
ARK_DEBS="$ARK_DEBS swift-proxy swift-object swift-container swift-account memcached curl"
# Its https front end: openssl makes the CA and the server certificate at start.
ARK_DEBS="$ARK_DEBS openssl"
# Installs whichever of the given Debian packages are missing (apt-get update first).
ark_install_debs() {
  local missing="" p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    echo "installing:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq $missing >/dev/null
  fi
}
ark_install_debs $ARK_DEBS
