#!/usr/bin/env bash
# What ranged GETs cost the S3 server of scripts/s3-server.sh (OpenStack Swift with s3api on
# loopback) on an object put in one PUT against the same bytes put as a multipart upload (to
# Swift: a static large object, whose every ranged GET reads its manifest of segments first).
# This is why a bucket store's packs go up in one PUT (`S3Configuration.singlePutLimit`).
#   objects: BENCH_OBJECT_MB (default 64) MiB of random bytes, once with one PUT, once as a
#            multipart upload of BENCH_PART_MB (default 8) MiB parts, both with curl over https
#   GETs:    the whole object in ranges of BENCH_RANGE_KB (default "512 4096") KiB,
#            BENCH_INFLIGHT (default 4) curls at once (worker i takes ranges i, i+n, ...), page
#            cache dropped before each run; BENCH_ROUNDS (default 2) rounds, alternating objects
# Prints a markdown table: MB/s and the CPU seconds of the server's processes (proxies, object,
# container and account servers, memcached) per run.
#
#   scripts/bench-s3-ranged-cpu.sh
#
# Environment: BENCH_DIR (work dir, default a temp dir under /var/tmp, removed unless
# BENCH_KEEP=1); ARK_S3_PORT and ARK_S3_DIR choose the server instance (started if not running).
# Needs root for drop_caches. Everything runs on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
OWN_SERVER=0; scripts/s3-server.sh status || OWN_SERVER=1
eval "$(scripts/s3-server.sh start)"
OBJ_MB=${BENCH_OBJECT_MB:-64}; PART_MB=${BENCH_PART_MB:-8}; RANGES_KB=${BENCH_RANGE_KB:-"512 4096"}
N=${BENCH_INFLIGHT:-4}; ROUNDS=${BENCH_ROUNDS:-2}
PREFIX=ranged-cpu-$(date +%s)
W=${BENCH_DIR:-$(mktemp -d -p /var/tmp ark-bench-s3-ranged.XXXXXX)}
trap '[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"; if [ "$OWN_SERVER" = 1 ]; then scripts/s3-server.sh stop; fi' EXIT
echo "work dir: $W" >&2

# The access key ("account:user" for Swift's tempauth) has a colon, so it travels in the URL,
# percent-encoded, where curl decodes it; curl's --user would split it at the colon.
url() { echo "https://${AWS_ACCESS_KEY_ID//:/%3A}:$AWS_SECRET_ACCESS_KEY@${ARK_TEST_S3_TLS_ENDPOINT#https://}/$ARK_TEST_S3_BUCKET/$PREFIX/$1"; }
s3() { curl -sS --fail-with-body --cacert "$ARK_TEST_S3_CA" --aws-sigv4 "aws:amz:us-east-1:s3" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"; }
server_ticks() {
  local p t=0 s
  for p in $(pgrep -f "swift-(proxy|object|container|account)-server|memcached"); do
    s=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
    t=$((t + ${s% *} + ${s#* }))
  done
  echo "$t"
}

head -c $((OBJ_MB << 20)) /dev/urandom >"$W/object.bin"
s3 -o /dev/null -T "$W/object.bin" "$(url one-put)"
# Multipart: initiate, the parts in order (ETags from the headers), complete.
upload_id=$(s3 -X POST "$(url multipart)?uploads=" | sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p')
[ -n "$upload_id" ] || { echo "bench-s3-ranged-cpu.sh: no UploadId from the server" >&2; exit 1; }
parts=$(( (OBJ_MB + PART_MB - 1) / PART_MB ))
xml="<CompleteMultipartUpload>"
for ((i = 1; i <= parts; i++)); do
  dd if="$W/object.bin" of="$W/part" bs=1M skip=$(((i - 1) * PART_MB)) count="$PART_MB" status=none
  etag=$(s3 -o /dev/null -D - -T "$W/part" "$(url multipart)?partNumber=$i&uploadId=$upload_id" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
  [ -n "$etag" ] || { echo "bench-s3-ranged-cpu.sh: part $i answered without an ETag" >&2; exit 1; }
  xml+="<Part><PartNumber>$i</PartNumber><ETag>$etag</ETag></Part>"
done
xml+="</CompleteMultipartUpload>"
s3 -o /dev/null -X POST --data-binary "$xml" "$(url multipart)?uploadId=$upload_id"
rm -f "$W/part"
for key in one-put multipart; do
  s3 -o "$W/check" "$(url $key)"
  cmp -s "$W/check" "$W/object.bin" || { echo "bench-s3-ranged-cpu.sh: $key does not read back" >&2; exit 1; }
done
rm -f "$W/check" "$W/object.bin"

# get KEY RANGE_KB: the whole object in ranges, N curls at once; prints "MB/s server-seconds".
get() {
  local key=$1 range=$(($2 << 10)) count i r t0 t1 v0 v1
  count=$(((OBJ_MB << 20) / range))
  rm -f "$W"/cfg.*
  for ((r = 0; r < count; r++)); do
    i=$((r % N))
    {
      [ -s "$W/cfg.$i" ] && echo next
      echo "url = \"$(url "$key")\""
      echo 'aws-sigv4 = "aws:amz:us-east-1:s3"'
      echo 'header = "x-amz-content-sha256: UNSIGNED-PAYLOAD"'
      echo "cacert = \"$ARK_TEST_S3_CA\""
      echo 'output = "/dev/null"'
      echo 'silent'
      echo 'write-out = "%{http_code}\n"'
      echo "range = \"$((r * range))-$(((r + 1) * range - 1))\""
    } >>"$W/cfg.$i"
  done
  sync; echo 3 >/proc/sys/vm/drop_caches
  v0=$(server_ticks); t0=$(date +%s%N)
  for ((i = 0; i < N && i < count; i++)); do curl -K "$W/cfg.$i" >"$W/codes.$i" & done
  wait
  t1=$(date +%s%N); v1=$(server_ticks)
  if grep -qvx 206 "$W"/codes.*; then echo "bench-s3-ranged-cpu.sh: a ranged GET of $key failed" >&2; exit 1; fi
  awk -v b=$((OBJ_MB << 20)) -v a="$t0" -v z="$t1" -v c=$((v1 - v0)) -v hz="$(getconf CLK_TCK)" \
    'BEGIN{printf "%.0f MB/s, %.2f s", b/((z-a)/1e9)/1e6, c/hz}'
}

declare -A R
for ((round = 1; round <= ROUNDS; round++)); do
  for kb in $RANGES_KB; do
    for key in multipart one-put; do
      res=$(get "$key" "$kb")
      echo "  round $round, $kb KiB ranges, $key: $res" >&2
      R[$kb.$key]="${R[$kb.$key]:+${R[$kb.$key]}; }$res"
    done
  done
done

echo
echo "$(date -u +%Y-%m-%d) $(date -u +%H:%M) UTC, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); OpenStack Swift $(dpkg-query -W -f='${Version}' swift-proxy) s3api on loopback, https; a $OBJ_MB MiB object read whole in ranged GETs, $N in flight, page cache dropped; server CPU = seconds of its processes during the run."
echo
echo "| ranges | multipart object ($PART_MB MiB parts): MB/s, server CPU | one-PUT object: MB/s, server CPU |"
echo "|---|---|---|"
for kb in $RANGES_KB; do echo "| $kb KiB | ${R[$kb.multipart]} | ${R[$kb.one-put]} |"; done
