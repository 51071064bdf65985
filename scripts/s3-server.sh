#!/usr/bin/env bash
# A real S3-compatible server on loopback for the tests and benchmarks: OpenStack Swift (Debian 12's
# swift-proxy/-object/-container/-account) with the s3api middleware and a tempauth user, as a
# single-node "Swift All In One": one device directory, rings built with swift-ring-builder,
# mount_check off. See docs/ARCHITECTURE.md ("S3 pack storage") for why Swift and not radosgw.
#
#   scripts/s3-server.sh start        installs the packages if missing, starts the four servers,
#                                     waits until S3 answers, creates the bucket, prints the exports
#   scripts/s3-server.sh stop         stops every server it started
#   scripts/s3-server.sh env          prints the exports (eval "$(scripts/s3-server.sh env)")
#   scripts/s3-server.sh status       exit 0 when S3 answers
#   scripts/s3-server.sh proxy-stop   stops only the S3 front end (connections are refused)
#   scripts/s3-server.sh proxy-start  starts it again and waits until it answers
#
# It serves S3 over http on ARK_S3_PORT and over https on ARK_S3_TLS_PORT: a second proxy-server
# (same pipeline, same storage servers) with `cert_file`/`key_file`, whose certificate (for
# 127.0.0.1 and localhost) is signed by a CA the script makes with openssl in $ARK_S3_DIR/tls/ on
# first start (ca.pem is what clients trust: ark's `ca_file`, `restic --cacert`, `curl --cacert`).
#
# Environment: ARK_S3_DIR (data, default .build/s3-server), ARK_S3_PORT (default 8480; the
# storage servers use the three ports after it, memcached the fourth), ARK_S3_TLS_PORT (https,
# default ARK_S3_PORT + 5), ARK_S3_BUCKET (default ark-test), ARK_S3_PROXY_WORKERS (processes per
# proxy, default 0: one process, no fork; each proxy forks that many workers otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DIR=${ARK_S3_DIR:-$ROOT/.build/s3-server}
PORT=${ARK_S3_PORT:-8480}
BUCKET=${ARK_S3_BUCKET:-ark-test}
OBJ_PORT=$((PORT + 1)) CONT_PORT=$((PORT + 2)) ACCT_PORT=$((PORT + 3)) MEMCACHE_PORT=$((PORT + 4))
TLS_PORT=${ARK_S3_TLS_PORT:-$((PORT + 5))}
PROXY_WORKERS=${ARK_S3_PROXY_WORKERS:-0}
ENDPOINT="http://127.0.0.1:$PORT"
TLS_ENDPOINT="https://127.0.0.1:$TLS_PORT"
CA="$DIR/tls/ca.pem"
ACCESS_KEY="test:tester" SECRET_KEY="testing"
SWIFT_DEBS="swift-proxy swift-object swift-container swift-account memcached"

print_env() {
  cat <<EOF
export AWS_ACCESS_KEY_ID='$ACCESS_KEY'
export AWS_SECRET_ACCESS_KEY='$SECRET_KEY'
export AWS_DEFAULT_REGION=us-east-1
export ARK_TEST_S3_ENDPOINT=$ENDPOINT
export ARK_TEST_S3_TLS_ENDPOINT=$TLS_ENDPOINT
export ARK_TEST_S3_CA='$CA'
export ARK_TEST_S3_BUCKET=$BUCKET
export ARK_S3_DIR='$DIR'
EOF
}

# 0 when the pid in pidfile $1 is alive and is the process that file names: its command line
# contains $2. Pid files outlive a reboot or a cached .build, and pids are reused.
ours() {
  local pidfile=$1 pattern=$2 pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$pattern"
}

# 0 when both proxies answer their health checks (the https one with a certificate ca.pem trusts).
healthy() {
  curl -sf -m 2 "$ENDPOINT/healthcheck" >/dev/null 2>&1 &&
    curl -sf -m 2 --cacert "$CA" "$TLS_ENDPOINT/healthcheck" >/dev/null 2>&1
}

# A CA and a server certificate it signs for 127.0.0.1 and localhost (EC P-256, 10 years), made
# once per data directory; made again when missing, expiring within a day, or not signed by ca.pem.
make_certificates() {
  local t="$DIR/tls"
  mkdir -p "$t"
  if [ -f "$CA" ] && [ -f "$t/server.pem" ] && [ -f "$t/server.key" ] &&
    openssl x509 -checkend 86400 -noout -in "$t/server.pem" >/dev/null 2>&1 &&
    openssl verify -CAfile "$CA" "$t/server.pem" >/dev/null 2>&1; then
    return 0
  fi
  rm -f "$t"/*.pem "$t"/*.key "$t"/*.srl "$t"/*.csr "$t"/*.ext
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 -subj "/CN=ark test S3 CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$t/ca.key" -out "$CA" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$t/server.key" -out "$t/server.csr" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
    "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$t/server.ext"
  openssl x509 -req -in "$t/server.csr" -CA "$CA" -CAkey "$t/ca.key" -CAcreateserial -days 3650 -extfile "$t/server.ext" \
    -out "$t/server.pem" 2>/dev/null
  chmod 600 "$t/ca.key" "$t/server.key"
}

# tempauth keeps its tokens (and the proxy its account and container info) in memcached.
start_memcached() {
  local pidfile="$DIR/run/memcached.pid"
  if ours "$pidfile" "-p $MEMCACHE_PORT"; then return 0; fi
  setsid nohup memcached -l 127.0.0.1 -p "$MEMCACHE_PORT" -U 0 -m 64 -u "$(id -un)" </dev/null >>"$DIR/log/memcached.log" 2>&1 &
  echo $! >"$pidfile"
}

# Writes the configuration, and the rings once (they take ~1 s to build).
configure() {
  mkdir -p "$DIR/etc" "$DIR/srv/sdb1" "$DIR/run" "$DIR/log"
  local user; user=$(id -un)
  local common="[DEFAULT]
devices = $DIR/srv
mount_check = false
swift_dir = $DIR/etc
user = $user
workers = 0
log_name = ark-s3
log_facility = LOG_LOCAL1
log_level = WARNING"
  cp /etc/swift/swift.conf "$DIR/etc/swift.conf"
  printf '%s\nbind_ip = 127.0.0.1\nbind_port = %s\n\n[pipeline:main]\npipeline = object-server\n\n[app:object-server]\nuse = egg:swift#object\n\n[object-replicator]\n[object-updater]\n[object-auditor]\n' \
    "$common" "$OBJ_PORT" >"$DIR/etc/object-server.conf"
  printf '%s\nbind_ip = 127.0.0.1\nbind_port = %s\n\n[pipeline:main]\npipeline = container-server\n\n[app:container-server]\nuse = egg:swift#container\n\n[container-replicator]\n[container-updater]\n[container-auditor]\n[container-sync]\n' \
    "$common" "$CONT_PORT" >"$DIR/etc/container-server.conf"
  printf '%s\nbind_ip = 127.0.0.1\nbind_port = %s\n\n[pipeline:main]\npipeline = account-server\n\n[app:account-server]\nuse = egg:swift#account\n\n[account-replicator]\n[account-auditor]\n[account-reaper]\n' \
    "$common" "$ACCT_PORT" >"$DIR/etc/account-server.conf"
  cat >"$DIR/etc/proxy-server.conf" <<EOF
${common/workers = 0/workers = $PROXY_WORKERS}
bind_ip = 127.0.0.1
bind_port = $PORT

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
max_upload_part_num = 10000

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = $SECRET_KEY .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MEMCACHE_PORT

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
EOF
  # The https front end: the same pipeline on TLS_PORT (eventlet wraps the listening socket).
  sed -e "s|^bind_port = $PORT\$|bind_port = $TLS_PORT\ncert_file = $DIR/tls/server.pem\nkey_file = $DIR/tls/server.key|" \
    -e "s|^log_name = ark-s3\$|log_name = ark-s3-tls|" "$DIR/etc/proxy-server.conf" >"$DIR/etc/proxy-tls-server.conf"
  local stamp="$OBJ_PORT $CONT_PORT $ACCT_PORT"
  if [ -f "$DIR/etc/object.ring.gz" ] && [ -f "$DIR/etc/container.ring.gz" ] && [ -f "$DIR/etc/account.ring.gz" ] &&
    [ "$(cat "$DIR/etc/ports" 2>/dev/null)" = "$stamp" ]; then return 0; fi
  (
    cd "$DIR/etc"
    local ring port
    for ring in object:$OBJ_PORT container:$CONT_PORT account:$ACCT_PORT; do
      port=${ring#*:} ring=${ring%%:*}
      rm -f "$ring.builder"
      swift-ring-builder "$ring.builder" create 6 1 1 >/dev/null
      swift-ring-builder "$ring.builder" add "r1z1-127.0.0.1:$port/sdb1" 1 >/dev/null
      # Exit status 1 is a warning (nothing to move); 2 is an error.
      swift-ring-builder "$ring.builder" rebalance >/dev/null || [ $? -eq 1 ]
    done
  )
  echo "$stamp" >"$DIR/etc/ports"
}

start_one() { # name: starts swift-<name>-server (proxy-tls: swift-proxy-server) unless its pid is alive
  local name=$1 pidfile="$DIR/run/$1.pid"
  if ours "$pidfile" "$DIR/etc/$name-server.conf"; then return 0; fi
  setsid nohup "swift-${name%-tls}-server" "$DIR/etc/$name-server.conf" -v </dev/null >>"$DIR/log/$name.log" 2>&1 &
  echo $! >"$pidfile"
}

pattern_of() { # name: what the command line of the server of that name contains
  if [ "$1" = memcached ]; then echo "-p $MEMCACHE_PORT"; else echo "$DIR/etc/$1-server.conf"; fi
}

stop_one() { # name: stops the server it started (and any child it forked), waits up to 5 s
  local pidfile="$DIR/run/$1.pid" pid children i
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if ours "$pidfile" "$(pattern_of "$1")"; then
    children=$(pgrep -P "$pid" || true)
    kill "$pid" $children 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" $children 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

listening() { (: </dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

# Waits until the storage servers accept connections and the proxy answers its health check.
wait_healthy() {
  local end=$((SECONDS + 120))
  while [ "$SECONDS" -lt "$end" ]; do
    if listening "$MEMCACHE_PORT" && listening "$OBJ_PORT" && listening "$CONT_PORT" && listening "$ACCT_PORT" && healthy; then
      return 0
    fi
    sleep 0.2
  done
  echo "s3-server: the proxies did not answer on $ENDPOINT and $TLS_ENDPOINT within 120 s (see $DIR/log/proxy.log, proxy-tls.log)" >&2
  return 1
}

# Creates the bucket through Swift's own API (a container in the tempauth account): no S3 client needed.
make_bucket() {
  local headers token url
  headers=$(curl -sf -m 15 --retry 5 --retry-all-errors --retry-delay 1 -D - -o /dev/null -H "X-Auth-User: $ACCESS_KEY" -H "X-Auth-Key: $SECRET_KEY" "$ENDPOINT/auth/v1.0")
  token=$(printf '%s' "$headers" | tr -d '\r' | sed -n 's/^[Xx]-[Aa]uth-[Tt]oken: //p')
  url=$(printf '%s' "$headers" | tr -d '\r' | sed -n 's/^[Xx]-[Ss]torage-[Uu]rl: //p')
  curl -sf -m 10 --retry 5 --retry-all-errors --retry-delay 1 -X PUT -H "X-Auth-Token: $token" "$url/$BUCKET" -o /dev/null
}

case "${1:-}" in
  start)
    if ! command -v swift-proxy-server >/dev/null || ! command -v memcached >/dev/null || ! command -v openssl >/dev/null; then
      source scripts/deps.sh
      ark_install_debs $SWIFT_DEBS openssl
    fi
    mkdir -p "$DIR/run"
    if ! ours "$DIR/run/proxy.pid" "$(pattern_of proxy)"; then
      # Not running: stop what a previous run may have left, then the ports must be free.
      for s in proxy-tls proxy object container account memcached; do stop_one $s; done
      for p in $PORT $OBJ_PORT $CONT_PORT $ACCT_PORT $MEMCACHE_PORT $TLS_PORT; do
        if listening "$p"; then
          echo "s3-server: port $p on 127.0.0.1 is in use by another process (choose others with ARK_S3_PORT, ARK_S3_TLS_PORT)" >&2
          exit 1
        fi
      done
      rm -rf "$DIR/srv/sdb1"
    fi
    # A server started before the https front end existed: its port must be free too.
    if ! ours "$DIR/run/proxy-tls.pid" "$(pattern_of proxy-tls)" && listening "$TLS_PORT"; then
      echo "s3-server: port $TLS_PORT on 127.0.0.1 is in use by another process (choose another with ARK_S3_TLS_PORT)" >&2
      exit 1
    fi
    configure
    make_certificates
    start_memcached
    for s in account container object; do start_one $s; done
    start_one proxy
    start_one proxy-tls
    wait_healthy
    make_bucket
    print_env
    ;;
  stop)
    for s in proxy-tls proxy object container account memcached; do stop_one $s; done
    ;;
  env) print_env ;;
  status) healthy ;;
  proxy-stop) stop_one proxy ;; # the https front end keeps running
  proxy-start)
    start_one proxy
    wait_healthy
    ;;
  *)
    echo "usage: $0 start|stop|env|status|proxy-stop|proxy-start" >&2
    exit 2
    ;;
esac
