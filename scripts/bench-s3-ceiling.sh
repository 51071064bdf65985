#!/usr/bin/env bash
# The ceiling of the S3 server of scripts/s3-server.sh (OpenStack Swift with s3api on loopback)
# with a plain client, curl --aws-sigv4, independent of ark and restic: what any client can get
# from this server on this machine.
#   PUT:  objects of BENCH_PUT_MB (default "16 64") MiB, 1/4/8 in flight, the body unsigned
#         (UNSIGNED-PAYLOAD, as restic sends over https) and signed (its SHA-256 in the
#         signature, which s3api then checks by hashing the body: as ark sends)
#   GET:  ranged GETs of BENCH_RANGE_KB (default 4096) KiB from one BENCH_OBJECT_MB (default 512)
#         MiB object, 1/4/8/16 in flight, the object's ranges handed out in order (worker i takes
#         ranges i, i+n, i+2n, ...: a read-ahead of n ranges), page cache dropped before each run
#         (BENCH_DROP=0 to keep it: the server then reads from memory)
# over http and over the https front end. Each worker is one curl process reusing one keep-alive
# connection (a config file with one `next` per request); every response must be 200/206.
# Prints a markdown table: MB/s per concurrency, the CPU the proxy, the object server and the
# client used (100% = one core), and how much of the machine was left idle.
#
#   scripts/bench-s3-ceiling.sh
#
# Environment: BENCH_TOTAL_MB (bytes per run, default 512), BENCH_DIR (work dir, default a temp
# dir under /var/tmp, removed unless BENCH_KEEP=1); ARK_S3_PORT, ARK_S3_DIR and
# ARK_S3_PROXY_WORKERS choose and shape the server instance (scripts/s3-server.sh; started if not
# running; a running one keeps the settings it was started with). Needs root for drop_caches.
# Everything runs on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
# A server this script starts it also stops (a new start empties it).
OWN_SERVER=0; scripts/s3-server.sh status || OWN_SERVER=1
eval "$(scripts/s3-server.sh start)"
PUT_MB=${BENCH_PUT_MB:-"16 64"}; RANGE_KB=${BENCH_RANGE_KB:-4096}; OBJ_MB=${BENCH_OBJECT_MB:-512}
TOTAL_MB=${BENCH_TOTAL_MB:-512}; DROP=${BENCH_DROP:-1}
PREFIX=ceiling-$(date +%s)
W=${BENCH_DIR:-$(mktemp -d -p /var/tmp ark-bench-s3-ceiling.XXXXXX)}
trap '[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"; if [ "$OWN_SERVER" = 1 ]; then scripts/s3-server.sh stop; fi' EXIT
echo "work dir: $W" >&2

# The access key ("account:user" for Swift's tempauth) has a colon, so it travels in the URL,
# percent-encoded, where curl decodes it; curl's --user would split it at the colon.
userinfo() { printf '%s:%s' "${AWS_ACCESS_KEY_ID//:/%3A}" "$AWS_SECRET_ACCESS_KEY"; }
url_of() { # endpoint key
  local scheme=${1%%://*} hostport=${1#*://}
  echo "$scheme://$(userinfo)@$hostport/$ARK_TEST_S3_BUCKET/$PREFIX/$2"
}
# request FILE URL [RANGE] [UPLOAD] [PAYLOAD_HASH]: appends one request to a curl config file.
# The body is sent unsigned (UNSIGNED-PAYLOAD) unless its SHA-256 is given: then it is signed
# and s3api hashes the body to check it, as for ark's requests.
request() {
  {
    [ -s "$1" ] && echo next
    echo "url = \"$2\""
    echo 'aws-sigv4 = "aws:amz:us-east-1:s3"'
    echo "header = \"x-amz-content-sha256: ${5:-UNSIGNED-PAYLOAD}\""
    echo "cacert = \"$ARK_TEST_S3_CA\""
    echo 'output = "/dev/null"'
    echo 'silent'
    echo 'write-out = "%{http_code}\n"'
    [ -n "${3:-}" ] && echo "range = \"$3\""
    [ -n "${4:-}" ] && echo "upload-file = \"$4\""
  } >>"$1"
  return 0
}
# The processes of the named servers (with workers > 0 the forked children do the work).
server_pids() {
  local p pid
  for p in "$@"; do
    pid=$(cat "$ARK_S3_DIR/run/$p.pid" 2>/dev/null) || continue
    echo "$pid"; pgrep -P "$pid" || true
  done
}
ticks() { # CPU ticks (user + system) of the given pids
  local p t=0 s
  for p in "$@"; do
    s=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
    t=$((t + ${s% *} + ${s#* }))
  done
  echo "$t"
}
now() { date +%s%N; }
pct() { awk -v c="$1" -v hz="$(getconf CLK_TCK)" -v a="$2" -v z="$3" 'BEGIN{printf "%.0f", 100*c/hz/((z-a)/1e9)}'; }
children_ticks() { cut -d' ' -f16,17 /proc/$$/stat | awk '{print $1 + $2}'; } # of waited-for children (curl)
idle_ticks() { awk '/^cpu /{print $5 + $6}' /proc/stat; } # idle + iowait, all cores
# run BYTES CONFIGS...: runs one curl per config file at once, checks every status, sets MBPS and
# the CPU, in percent of one core, of the proxies (CPU), the object server (OCPU), the curls
# (CCPU), and what the machine left idle (IDLE, percent of all cores).
run() {
  local bytes=$1 pids opids t0 c0 o0 k0 i0 t1 c1 o1 k1 i1 f codes bad; shift
  pids=$(server_pids proxy proxy-tls); opids=$(server_pids object)
  # shellcheck disable=SC2086
  c0=$(ticks $pids); o0=$(ticks $opids); k0=$(children_ticks); i0=$(idle_ticks); t0=$(now)
  for f in "$@"; do curl -K "$f" >"$f.codes" 2>"$f.err" & done
  wait
  t1=$(now)
  # shellcheck disable=SC2086
  c1=$(ticks $pids); o1=$(ticks $opids); k1=$(children_ticks); i1=$(idle_ticks)
  codes=$(cat "${@/%/.codes}"); bad=$(echo "$codes" | grep -cvE '^20[06]$' || true)
  if [ "$bad" -ne 0 ]; then
    echo "bench-s3-ceiling.sh: $bad of $(echo "$codes" | wc -l) requests failed: $(echo "$codes" | sort | uniq -c | tr '\n' ' ') $(cat "${@/%/.err}" | head -3)" >&2
    exit 1
  fi
  MBPS=$(awk -v b="$bytes" -v a="$t0" -v z="$t1" 'BEGIN{printf "%.0f", b/((z-a)/1e9)/1e6}')
  CPU=$(pct $((c1 - c0)) "$t0" "$t1"); OCPU=$(pct $((o1 - o0)) "$t0" "$t1"); CCPU=$(pct $((k1 - k0)) "$t0" "$t1")
  IDLE=$(pct $(((i1 - i0) / $(nproc))) "$t0" "$t1")
}
drop() { if [ "$DROP" = 1 ]; then sync; echo 3 >/proc/sys/vm/drop_caches; fi; }

declare -A R
PROTOS="http https"
endpoint() { if [ "$1" = https ]; then echo "$ARK_TEST_S3_TLS_ENDPOINT"; else echo "$ARK_TEST_S3_ENDPOINT"; fi; }

# --- PUT -------------------------------------------------------------------------------------
for size in $PUT_MB; do
  head -c $((size << 20)) /dev/urandom >"$W/put-$size.bin"
  hash=$(sha256sum "$W/put-$size.bin" | cut -d' ' -f1)
  count=$(((TOTAL_MB + size - 1) / size))
  for proto in $PROTOS; do
    for payload in unsigned signed; do
      for n in 1 4 8; do
        per=$(((count + n - 1) / n))
        rm -f "$W"/cfg.*
        for w in $(seq 1 "$n"); do
          for k in $(seq 1 "$per"); do
            request "$W/cfg.$w" "$(url_of "$(endpoint "$proto")" "put-$size-$proto-$n-$w-$k")" "" "$W/put-$size.bin" \
              "$([ "$payload" = signed ] && echo "$hash")"
          done
        done
        run $((n * per * (size << 20))) "$W"/cfg.?
        R[put.$size.$proto.$payload.$n]="$MBPS ($CPU, $OCPU, $CCPU; $IDLE)"
        echo "  PUT ${size} MiB, $proto, $payload payload, $n in flight: $MBPS MB/s, CPU proxy $CPU%, object server $OCPU%, curl $CCPU%, machine idle $IDLE%" >&2
      done
    done
  done
  rm -f "$W/put-$size.bin"
done

# --- ranged GET ------------------------------------------------------------------------------
head -c $((OBJ_MB << 20)) /dev/urandom >"$W/object.bin"
request "$W/cfg.upload" "$(url_of "$ARK_TEST_S3_ENDPOINT" object)" "" "$W/object.bin"
[ "$(curl -K "$W/cfg.upload")" = 200 ] || { echo "bench-s3-ceiling.sh: upload of the $OBJ_MB MiB object failed" >&2; exit 1; }
rm -f "$W/object.bin" "$W/cfg.upload"
RANGE=$((RANGE_KB << 10)); RANGES=$(((TOTAL_MB << 20) / RANGE)); OBJ_RANGES=$(((OBJ_MB << 20) / RANGE))
for proto in $PROTOS; do
  for n in 1 4 8 16; do
    rm -f "$W"/cfg.*
    for i in $(seq 0 $((RANGES - 1))); do
      r=$((i % OBJ_RANGES))
      request "$W/cfg.$(printf %02d $((i % n)))" "$(url_of "$(endpoint "$proto")" object)" "$((r * RANGE))-$(((r + 1) * RANGE - 1))"
    done
    drop
    run $((RANGES * RANGE)) "$W"/cfg.??
    R[get.$proto.$n]="$MBPS ($CPU, $OCPU, $CCPU; $IDLE)"
    echo "  GET ${RANGE_KB} KiB ranges, $proto, $n in flight: $MBPS MB/s, CPU proxy $CPU%, object server $OCPU%, curl $CCPU%, machine idle $IDLE%" >&2
  done
done

# --- table -----------------------------------------------------------------------------------
WORKERS=$(sed -n 's/^workers = //p' "$ARK_S3_DIR/etc/proxy-server.conf" | head -1)
echo
echo "$(date -u +%Y-%m-%d) $(date -u +%H:%M) UTC, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); OpenStack Swift $(dpkg-query -W -f='${Version}' swift-proxy) s3api on loopback, proxy workers = $WORKERS; curl $(curl --version | awk 'NR==1{print $2}'), one keep-alive connection per request in flight; $TOTAL_MB MiB per cell; GETs cold (page cache dropped): $([ "$DROP" = 1 ] && echo yes || echo no)."
echo
echo "| MB/s (CPU % of one core: proxy, object server, curl; % of the machine idle) | 1 in flight | 4 | 8 | 16 |"
echo "|---|---|---|---|---|"
for size in $PUT_MB; do
  for proto in $PROTOS; do
    for payload in unsigned signed; do
      echo "| PUT ${size} MiB objects, $proto, $payload payload | ${R[put.$size.$proto.$payload.1]} | ${R[put.$size.$proto.$payload.4]} | ${R[put.$size.$proto.$payload.8]} | |"
    done
  done
done
for proto in $PROTOS; do
  echo "| GET ${RANGE_KB} KiB ranges of a $OBJ_MB MiB object, $proto | ${R[get.$proto.1]} | ${R[get.$proto.4]} | ${R[get.$proto.8]} | ${R[get.$proto.16]} |"
done
