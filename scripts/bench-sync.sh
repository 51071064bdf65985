#!/usr/bin/env bash
# Benchmarks ark's peer-to-peer sync (issue 4) on loopback, in one run and on the same data:
#   1. replication of a large incompressible file to an empty node (`fetch = "full"`) vs rsync
#      over ssh and the rsync daemon;
#   2. replication of a 2,000-commit history to an empty node (+ rsync of the store / git repo);
#   3. lazy time to first byte through `ark mount` of a file only the peer stores;
#   4. announcement-to-visible latency of a new commit between two running daemons;
#   5. RBSR messages, round trips and bytes at n = 10^5 (ark-rbsrbench, in memory).
# Prints markdown tables, with pass/FAIL against the targets. See docs/benchmarks-archive.md,
# section "Sync (issue 4)".
#
#   scripts/bench-sync.sh            1 GiB file, 2,000 commits
#   scripts/bench-sync.sh --quick    64 MiB file, 300 commits
#
# Times are taken without `ark` process start-up inside the measurement: completion is detected by
# scripts/bench-sync-probe.py reading the receiving node's SQLite index directly (the same rows
# `ark log`/`ark cat` consult), polled every 10 ms (2 ms for heads, 0.5 ms for announcements).
# "cold" = `sync; echo 3 > /proc/sys/vm/drop_caches` before each transfer (only as root; the
# report says whether it was done).
#
# Environment: BENCH_SIZE_MB (file size), BENCH_COMMITS (history length), BENCH_LOOP_COMMITS
# (how many `ark commit`s to time for the commit-loop comparison), BENCH_ANNOUNCE (commits for
# the latency test), BENCH_DIR (work dir, default a temp dir under /var/tmp, removed at the end
# unless BENCH_KEEP=1).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICK=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    *) echo "bench-sync.sh: unknown argument '$a' (only --quick)" >&2; exit 2 ;;
  esac
done
if [ "$QUICK" = 1 ]; then
  SIZE_MB=${BENCH_SIZE_MB:-64}; NCOMMITS=${BENCH_COMMITS:-300}
else
  SIZE_MB=${BENCH_SIZE_MB:-1024}; NCOMMITS=${BENCH_COMMITS:-2000}
fi
NLOOP=${BENCH_LOOP_COMMITS:-100}
NANN=${BENCH_ANNOUNCE:-10}
ROOTUSER=0; [ "$(id -u)" = 0 ] && ROOTUSER=1

# --- dependencies and build ----------------------------------------------------------------
source scripts/deps.sh
BENCH_DEBS="openssh-server openssh-client rsync attr fuse3 git python3 procps util-linux"
ark_install_debs $BENCH_DEBS
echo "building ark (release)..." >&2
swift build -c release >&2
BIN=$(swift build -c release --show-bin-path)
ARK="$BIN/ark"
PROBE="python3 $ROOT/scripts/bench-sync-probe.py"

# --- work directory and cleanup ------------------------------------------------------------
W=${BENCH_DIR:-$(mktemp -d -p /var/tmp ark-bench-sync.XXXXXX)}
mkdir -p "$W"
PIDS=()     # background processes started here (daemons, sshd, rsyncd)
MOUNTS=()
cleanup() {
  set +e
  for mp in "${MOUNTS[@]}"; do
    mountpoint -q "$mp" 2>/dev/null && { fusermount3 -u "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null; }
  done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
echo "work dir: $W ($(df -h --output=source "$W" | tail -1))" >&2

# --- helpers -------------------------------------------------------------------------------
now() { date +%s%N; }
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", (b-a)/1e6}'; }
DROPPED=0
drop() { sync; if [ "$ROOTUSER" = 1 ] && echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then DROPPED=1; fi; }
mbps() { awk -v b="$1" -v ms="$2" 'BEGIN{ if (ms > 0) printf "%.0f", b/(ms/1000)/1e6; else print "-" }'; }
x() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "-" }'; }
pf() { if awk "BEGIN{exit !($1)}" 2>/dev/null; then echo pass; else echo FAIL; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {   # until something accepts on 127.0.0.1:$1 (10 s)
  local i
  for i in $(seq 1 1000); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.01; done
  echo "bench-sync.sh: nothing listens on port $1" >&2; return 1
}
cpu_s() {       # user+system CPU seconds of PID so far
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}
jcount() { python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo "?"; }
# runqueue_s PID: seconds PID's live threads spent runnable but waiting for a CPU (schedstat)
runqueue_s() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{w += $2} END{printf "%.1f", w/1e9}'; }
hwm_mb() { awk '/VmHWM/{printf "%.0f", $2*1024/1e6}' "/proc/$1/status" 2>/dev/null || echo "-"; }
# A node: a directory with a store (./data) and an ark.toml. `node NAME` creates it and prints its id.
node() { mkdir -p "$W/$1"; (cd "$W/$1" && "$ARK" id); }
# conf DIR PORT FETCH PEERNAME PEERID PEERPORT REPO... : writes DIR/ark.toml
conf() {
  local dir=$1 port=$2 fetch=$3 pname=$4 pid=$5 pport=$6 r; shift 6
  { echo "[net]"; echo "listen = \"127.0.0.1:$port\""; echo "discovery = false"
    for r in "$@"; do
      echo; echo "[[repos]]"; echo "id = \"$r\""; echo "fetch = \"$fetch\""
      echo "remotes = [ { name = \"$pname\", node_id = \"$pid\", addrs = [\"127.0.0.1:$pport\"] } ]"
    done; } > "$W/$dir/ark.toml"
}
# daemon DIR: starts `ark run` in DIR (debug log in DIR/run.log), sets DPID
daemon() {
  (cd "$W/$1" && ARK_LOG=debug exec "$ARK" run >> "$W/$1/run.log" 2>&1) &
  DPID=$!; PIDS+=("$DPID")
}
stop() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
wait_listening() { local i; for i in $(seq 1 2000); do [ -s "$W/$1/data/listen_addr" ] && return 0; sleep 0.005; done; return 1; }

declare -A R   # results
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
TOP_START=$(ps -eo pcpu=,comm= --sort=-pcpu | head -4 | awk '{printf "%s%s %s%%", (NR>1?", ":""), $2, $1}')

# --- data ----------------------------------------------------------------------------------
SIZE=$((SIZE_MB << 20))
echo "generating a ${SIZE_MB} MiB incompressible file..." >&2
mkdir -p "$W/src/big"
head -c "$SIZE" /dev/urandom > "$W/src/big/big.bin"

# --- ssh and rsync daemon on loopback --------------------------------------------------------
echo "starting a throwaway sshd and rsync daemon..." >&2
mkdir -p "$W/ssh" "$W/rsyncd/dest" /run/sshd 2>/dev/null || mkdir -p "$W/ssh" "$W/rsyncd/dest"
ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/client_key"
cp "$W/ssh/client_key.pub" "$W/ssh/authorized_keys"
SSH_PORT=$(free_port)
cat > "$W/ssh/sshd_config" <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $W/ssh/host_key
PidFile $W/ssh/sshd.pid
AuthorizedKeysFile $W/ssh/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
EOF
/usr/sbin/sshd -D -e -f "$W/ssh/sshd_config" 2> "$W/ssh/sshd.log" &
PIDS+=($!)
RSYNC_PORT=$(free_port)
cat > "$W/rsyncd/rsyncd.conf" <<EOF
use chroot = no
uid = $(id -u)
gid = $(id -g)
[bench]
  path = $W/rsyncd/dest
  read only = no
EOF
rsync --daemon --no-detach --config="$W/rsyncd/rsyncd.conf" --address=127.0.0.1 --port="$RSYNC_PORT" \
  --log-file="$W/rsyncd/rsyncd.log" &
PIDS+=($!)
wait_port "$SSH_PORT"; wait_port "$RSYNC_PORT"
SSH="ssh -p $SSH_PORT -i $W/ssh/client_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
USERHOST="$(id -un)@127.0.0.1"
$SSH "$USERHOST" true || { echo "bench-sync.sh: ssh to the throwaway sshd failed; see $W/ssh/sshd.log" >&2; exit 1; }
SSH_CIPHER=$($SSH -v "$USERHOST" true 2>&1 | sed -n 's/.*kex: server->client cipher: \([^ ]*\).*/\1/p' | head -1)
# rsync_ssh SRC DESTDIR: time (ms) of rsync over ssh into an empty DESTDIR; then `sync` time in R[sync_ms]
rsync_ssh() {
  rm -rf "$2"; mkdir -p "$2"; drop
  local t0; t0=$(now)
  rsync -a -e "$SSH" "$1" "$USERHOST:$2/"
  echo "$(ms_since "$t0")"
}
rsync_daemon() {
  rm -rf "$W/rsyncd/dest"; mkdir -p "$W/rsyncd/dest"; drop
  local t0; t0=$(now)
  rsync -a "$1" "rsync://127.0.0.1:$RSYNC_PORT/bench/"
  echo "$(ms_since "$t0")"
}
sync_ms() { local t0; t0=$(now); sync; ms_since "$t0"; }

# === 1. large file to an empty node ============================================================
echo "1. ${SIZE_MB} MiB file: ark (full replication), rsync over ssh, rsync daemon" >&2
A_ID=$(node a); PA=$(free_port)
t0=$(now); (cd "$W/a" && "$ARK" commit "$W/src/big" --repo big -m big > /dev/null 2>&1); R[commit_ms]=$(ms_since "$t0")
B_ID=$(node b1); PB=$(free_port)
conf a "$PA" full b "$B_ID" "$PB" big
conf b1 "$PB" full a "$A_ID" "$PA" big
daemon a; APID=$DPID; wait_listening a
drop
a_cpu0=$(cpu_s "$APID"); a_rq0=$(runqueue_s "$APID")
t0=$(now)
daemon b1; BPID=$DPID
if R[ark_big_ms]=$($PROBE replicated "$W/b1/data/index.sqlite" big "$t0" 1800 "$W/timeline"); then :; fi
# timeline: when the head became visible, and the chunk bytes stored at each tenth of the run
R[ark_big_head]=$(awk '$2 == 1 {print $1; exit}' "$W/timeline")
R[ark_big_timeline]=$(awk -v total="${R[ark_big_ms]}" '{ t[NR] = $1; b[NR] = $3 } END {
  step = total / 10; next_t = step
  for (i = 1; i <= NR; i++) if (t[i] >= next_t || i == NR) { printf "%s%.1f s: %.0f MiB", (out ? ", " : ""), t[i]/1000, b[i]/1048576; out = 1; while (next_t <= t[i]) next_t += step }
}' "$W/timeline")
R[ark_big_cpu_a]=$(awk -v a="$a_cpu0" -v b="$(cpu_s "$APID")" 'BEGIN{printf "%.1f", b-a}')
R[ark_big_cpu_b]=$(cpu_s "$BPID"); R[ark_big_rss_b]=$(hwm_mb "$BPID"); R[ark_big_rss_a]=$(hwm_mb "$APID")
R[ark_big_rq_a]=$(awk -v a="$a_rq0" -v b="$(runqueue_s "$APID")" 'BEGIN{printf "%.1f", b-a}'); R[ark_big_rq_b]=$(runqueue_s "$BPID")
stop "$BPID"; stop "$APID"
R[ark_big_ok]=no
(cd "$W/b1" && "$ARK" cat big@a:big.bin | cmp -s - "$W/src/big/big.bin") && R[ark_big_ok]=yes
R[ark_big_store]=$(du -sb "$W/b1/data" | cut -f1)
echo "   ark: ${R[ark_big_ms]} ms (identical: ${R[ark_big_ok]})" >&2
R[rsync_ssh_big_ms]=$(rsync_ssh "$W/src/big/big.bin" "$W/rsync-ssh-dest"); R[rsync_ssh_big_sync]=$(sync_ms)
cmp -s "$W/src/big/big.bin" "$W/rsync-ssh-dest/big.bin" || { echo "rsync over ssh copied different bytes" >&2; exit 1; }
echo "   rsync ssh: ${R[rsync_ssh_big_ms]} ms (+ sync ${R[rsync_ssh_big_sync]} ms)" >&2
R[rsyncd_big_ms]=$(rsync_daemon "$W/src/big/big.bin"); R[rsyncd_big_sync]=$(sync_ms)
echo "   rsync daemon: ${R[rsyncd_big_ms]} ms (+ sync ${R[rsyncd_big_sync]} ms)" >&2
rm -rf "$W/rsync-ssh-dest" "$W/rsyncd/dest"/* "$W/b1"

# === 2. history of NCOMMITS commits to an empty node ===========================================
echo "2. ${NCOMMITS}-commit history" >&2
mkdir -p "$W/gen"
t0=$(now)
git init -q --bare "$W/gen/hist.git"
python3 - "$NCOMMITS" <<'EOF' | git -C "$W/gen/hist.git" fast-import --quiet
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
for i in range(n):
    body = ("commit %d\n" % i + "line of history %d\n" % i * 20).encode()
    msg = ("change %d" % i).encode()
    out.write(b"commit refs/heads/main\nmark :%d\ncommitter Bench <bench@example.org> %d +0000\n" % (i + 1, 1700000000 + i))
    out.write(b"data %d\n%s\n" % (len(msg), msg))
    if i > 0:
        out.write(b"from :%d\n" % i)
    out.write(b"M 644 inline dir%d/file%d.txt\ndata %d\n%s\n" % (i % 10, i % 50, len(body), body))
out.write(b"reset HEAD\nfrom :%d\n\n" % n)
EOF
git -C "$W/gen/hist.git" symbolic-ref HEAD refs/heads/main
R[gen_fastimport_ms]=$(ms_since "$t0")
H_ID=$(node h); PH=$(free_port)
t0=$(now); (cd "$W/h" && "$ARK" import "$W/gen/hist.git" --repo hist > /dev/null 2>&1); R[gen_import_ms]=$(ms_since "$t0")
# the alternative: a loop of `ark commit`, NLOOP commits timed (in a throwaway node)
node loop > /dev/null; mkdir -p "$W/gen/loop"
t0=$(now)
for i in $(seq 1 "$NLOOP"); do
  echo "commit $i" > "$W/gen/loop/file$((i % 50)).txt"
  (cd "$W/loop" && "$ARK" commit "$W/gen/loop" --repo loop -m "change $i" > /dev/null 2>&1)
done
R[gen_loop_ms]=$(ms_since "$t0"); rm -rf "$W/loop"
R[gen_loop_per]=$(awk -v t="${R[gen_loop_ms]}" -v n="$NLOOP" 'BEGIN{printf "%.1f", t/n}')
R[hist_count]=$(cd "$W/h" && "$ARK" log --json -n $((NCOMMITS + 1000)) --repo hist | jcount)
B_ID=$(node b2); PB=$(free_port)
conf h "$PH" full b "$B_ID" "$PB" hist
conf b2 "$PB" full a "$H_ID" "$PH" hist
daemon h; HPID=$DPID; wait_listening h
drop
t0=$(now)
daemon b2; BPID=$DPID
R[ark_hist_ms]=$($PROBE commits "$W/b2/data/index.sqlite" hist "$NCOMMITS" "$t0" 600) || true
R[ark_hist_full_ms]=$($PROBE replicated "$W/b2/data/index.sqlite" hist "$t0" 600) || true
R[ark_hist_cpu_b]=$(cpu_s "$BPID"); R[ark_hist_rq_b]=$(runqueue_s "$BPID")
stop "$BPID"; stop "$HPID"
R[ark_hist_seen]=$(cd "$W/b2" && "$ARK" log --json -n $((NCOMMITS + 1000)) --repo hist | jcount)
R[ark_hist_verify]=FAILED; (cd "$W/b2" && "$ARK" verify > /dev/null 2>&1) && R[ark_hist_verify]=ok
echo "   ark: ${R[ark_hist_ms]} ms (log lists ${R[ark_hist_seen]}; all chunks ${R[ark_hist_full_ms]} ms)" >&2
R[hist_store_bytes]=$(du -sb "$W/h/data" | cut -f1); R[hist_git_bytes]=$(du -sb "$W/gen/hist.git" | cut -f1)
R[hist_store_files]=$(find "$W/h/data" -type f | wc -l); R[hist_git_files]=$(find "$W/gen/hist.git" -type f | wc -l)
R[rsync_ssh_store_ms]=$(rsync_ssh "$W/h/data" "$W/rsync-ssh-dest")
R[rsync_ssh_git_ms]=$(rsync_ssh "$W/gen/hist.git" "$W/rsync-ssh-dest")
echo "   rsync ssh: store ${R[rsync_ssh_store_ms]} ms, git repo ${R[rsync_ssh_git_ms]} ms" >&2
rm -rf "$W/rsync-ssh-dest" "$W/b2"

# === 3. lazy time to first byte through a mount ================================================
echo "3. lazy first byte through ark mount" >&2
FUSE_NOTE=""
if [ ! -c /dev/fuse ]; then
  FUSE_NOTE="skipped: /dev/fuse is absent on this machine"
elif ! command -v fusermount3 > /dev/null; then
  FUSE_NOTE="skipped: fusermount3 is not installed"
else
  for size in 4096 1048576; do
    B_ID=$(node "l$size"); PB=$(free_port)
    conf a "$PA" full b "$B_ID" "$PB" big
    conf "l$size" "$PB" lazy a "$A_ID" "$PA" big
    daemon a; APID=$DPID; wait_listening a
    t0=$(now); daemon "l$size"; BPID=$DPID
    R[lazy_meta_ms]=$($PROBE head "$W/l$size/data/index.sqlite" big "$t0" 120) || true
    stop "$BPID"
    mp="$W/l$size/mnt"; mkdir -p "$mp"; MOUNTS+=("$mp")
    drop
    t0=$(now)
    (cd "$W/l$size" && ARK_LOG=info "$ARK" mount --daemon big@a "$mp" 2>> "$W/l$size/mount.log")
    R[lazy_mount_$size]=$(ms_since "$t0")
    R[lazy_read_$size]=$($PROBE read "$mp/big.bin" "$size") || R[lazy_read_$size]=error
    R[lazy_local_$size]=$(getfattr --only-values -n user.ark.local "$mp/big.bin" 2>/dev/null || echo "?")
    R[lazy_chunks_$size]=$(getfattr --only-values -n user.ark.chunks "$mp/big.bin" 2>/dev/null || echo "?")
    (cd "$W/l$size" && "$ARK" unmount "$mp") || fusermount3 -u "$mp" || true
    stop "$APID"
    echo "   first $size bytes: mount ${R[lazy_mount_$size]} ms, read ${R[lazy_read_$size]} ms, local ${R[lazy_local_$size]} bytes" >&2
  done
fi

# === 4. announcement to visible =================================================================
echo "4. announcement-to-visible latency (${NANN} commits)" >&2
mkdir -p "$W/src/ann"; echo start > "$W/src/ann/f.txt"
(cd "$W/a" && "$ARK" commit "$W/src/ann" --repo ann -m start > /dev/null 2>&1)
B_ID=$(node b4); PB=$(free_port)
conf a "$PA" full b "$B_ID" "$PB" ann
conf b4 "$PB" full a "$A_ID" "$PA" ann
daemon a; APID=$DPID; wait_listening a
t0=$(now); daemon b4; BPID=$DPID
$PROBE head "$W/b4/data/index.sqlite" ann "$t0" 60 > /dev/null
sleep 1
read -r R[ann_med] R[ann_max] R[ann_exit_med] R[ann_start_med] R[ann_commit_med] R[ann_ok] R[ann_n] < <(
  $PROBE announce "$ARK" "$W/a" "$W/b4/data/index.sqlite" "$W/src/ann" ann "$NANN" 2> "$W/announce.log" || true)
cat "$W/announce.log" >&2
# what polling with `ark log` would add: the run time of one such invocation on B
lg=(); for i in $(seq 1 10); do t0=$(now); (cd "$W/b4" && "$ARK" log -n 1 --oneline > /dev/null); lg+=("$(ms_since "$t0")"); done
R[ann_logcmd_med]=$(printf '%s\n' "${lg[@]}" | sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
R[ann_pulled_lines]=$(grep -c "pulled 1 commits of ann" "$W/b4/run.log" || true)
stop "$BPID"; stop "$APID"

# === 5. RBSR ================================================================================
echo "5. RBSR at n = 10^5 (ark-rbsrbench)" >&2
RBSR_TABLE=$("$BIN/ark-rbsrbench" --n 100000 --d 1,100,10000)

# --- report --------------------------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
DROP_NOTE="Page caches dropped before each transfer (\`sync; echo 3 > /proc/sys/vm/drop_caches\`, as root)."
[ "$DROPPED" = 1 ] || DROP_NOTE="Page caches NOT dropped (not root or not permitted): sources may be cached."
OUT="$ROOT/.build/bench-sync-$(date -u +%Y%m%dT%H%M%SZ).md"
v() { echo "${R[$1]:--}"; }
s() { awk -v ms="${R[$1]:--}" 'BEGIN{ if (ms ~ /^[0-9.]+$/) printf "%.2f", ms/1000; else print ms }'; }
{
  echo "## ark sync benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, kernel $(uname -r);"
  echo "work dir on $(df --output=fstype "$W" | tail -1). Load average at start $LOAD_START, at end $LOAD_END (busiest at start: $TOP_START)."
  echo "All transfers over 127.0.0.1. ark: Noise_XK ChaChaPoly; ssh cipher: ${SSH_CIPHER:-?}. $DROP_NOTE"
  echo "ark times: from starting the empty node's \`ark run\` (the peer already listening) until its index shows the result,"
  echo "read by a SQLite probe (no \`ark\` process start-up in the measurement). rsync: the whole command, into an empty directory."
  echo
  echo "### 1. ${SIZE_MB} MiB incompressible file to an empty node"
  echo
  echo "| method | time (s) | MB/s | notes |"
  echo "|---|---:|---:|---|"
  echo "| ark, \`fetch = \"full\"\` | $(s ark_big_ms) | $(mbps "$SIZE" "${R[ark_big_ms]}") | data fsynced; identical: $(v ark_big_ok); CPU A $(v ark_big_cpu_a) s, B $(v ark_big_cpu_b) s; waiting for a CPU A $(v ark_big_rq_a) s, B $(v ark_big_rq_b) s; peak RSS A $(v ark_big_rss_a) MB, B $(v ark_big_rss_b) MB |"
  echo "| rsync over ssh | $(s rsync_ssh_big_ms) | $(mbps "$SIZE" "${R[rsync_ssh_big_ms]}") | not fsynced; a \`sync\` afterwards took $(v rsync_ssh_big_sync) ms |"
  echo "| rsync daemon | $(s rsyncd_big_ms) | $(mbps "$SIZE" "${R[rsyncd_big_ms]}") | not fsynced; a \`sync\` afterwards took $(v rsyncd_big_sync) ms |"
  echo
  echo "(\`ark commit\` of the file on A beforehand: $(s commit_ms) s.) ark timeline on B: head (metadata) visible after $(v ark_big_head) ms;"
  echo "chunk bytes stored: $(v ark_big_timeline)."
  echo
  echo "### 2. ${NCOMMITS}-commit history to an empty node"
  echo
  echo "| step | time (s) | notes |"
  echo "|---|---:|---|"
  echo "| build: git fast-import of a synthetic repo | $(s gen_fastimport_ms) | ${NCOMMITS} commits, one small file changed per commit |"
  echo "| build: \`ark import\` of it | $(s gen_import_ms) | A's log lists $(v hist_count) commits |"
  echo "| build: loop of \`ark commit\` (for comparison) | $(awk -v t="${R[gen_loop_per]}" -v n="$NCOMMITS" 'BEGIN{printf "%.2f", t*n/1000}') | extrapolated from $NLOOP commits, $(v gen_loop_per) ms each |"
  echo "| ark: B's index lists all ${NCOMMITS} commits | $(s ark_hist_ms) | \`ark log --json\` on B afterwards: $(v ark_hist_seen) commits; CPU of B $(v ark_hist_cpu_b) s, waiting for a CPU $(v ark_hist_rq_b) s |"
  echo "| ark: ... and every chunk stored | $(s ark_hist_full_ms) | \`ark verify\` on B: $(v ark_hist_verify) |"
  echo "| rsync over ssh of A's store directory | $(s rsync_ssh_store_ms) | $(awk -v b="${R[hist_store_bytes]}" 'BEGIN{printf "%.1f", b/1048576}') MiB in $(v hist_store_files) files |"
  echo "| rsync over ssh of the git repo | $(s rsync_ssh_git_ms) | $(awk -v b="${R[hist_git_bytes]}" 'BEGIN{printf "%.1f", b/1048576}') MiB in $(v hist_git_files) files |"
  echo
  echo "### 3. Lazy first byte through \`ark mount\` (file only the peer stores)"
  echo
  if [ -n "$FUSE_NOTE" ]; then
    echo "$FUSE_NOTE"
  else
    echo "B (\`fetch = \"lazy\"\`) first syncs metadata with \`ark run\` ($(v lazy_meta_ms) ms until the head was visible), stops, then"
    echo "\`ark mount --daemon big@a\` (its in-process daemon dials A). read = open + read of the first bytes right after the mount returned, in one process."
    echo
    echo "| first bytes read | mount returned (ms) | read (ms) | bytes local afterwards (\`user.ark.local\`) | chunks of the file |"
    echo "|---|---:|---:|---:|---:|"
    echo "| 4 KiB | $(v lazy_mount_4096) | $(v lazy_read_4096) | $(v lazy_local_4096) | $(v lazy_chunks_4096) |"
    echo "| 1 MiB | $(v lazy_mount_1048576) | $(v lazy_read_1048576) | $(v lazy_local_1048576) | $(v lazy_chunks_1048576) |"
  fi
  echo
  echo "### 4. Announcement to visible (${R[ann_ok]:-0} of ${R[ann_n]:-$NANN} commits)"
  echo
  echo "Both daemons connected; \`ark commit\` of one small file on A. index->index = from A's head row changing to B's heads"
  echo "containing that commit, both indexes polled every 0.5 ms by one probe process. It includes A's head watcher"
  echo "(inotify + 30 ms debounce), signing and sending the announcement, B's pull of the commit, tree and manifest"
  echo "(one get-objects round trip each) and B's index transaction; it excludes process start-ups."
  echo
  echo "| measure | median (ms) | max (ms) |"
  echo "|---|---:|---:|"
  echo "| index->index | $(v ann_med) | $(v ann_max) |"
  echo "| \`ark commit\` exited -> visible on B | $(v ann_exit_med) | |"
  echo "| \`ark commit\` started -> visible on B | $(v ann_start_med) | |"
  echo "| \`ark commit\` process (for scale) | $(v ann_commit_med) | |"
  echo "| one \`ark log -n 1 --oneline\` on B (what each poll by process would add) | $(v ann_logcmd_med) | |"
  echo
  echo "### 5. RBSR at n = 10^5 (in memory, \`ark-rbsrbench\`)"
  echo
  echo "$RBSR_TABLE"
  echo
  echo "### Targets"
  echo
  echo "| target (issue 4) | measured | result |"
  echo "|---|---|---|"
  echo "| ${SIZE_MB} MiB to an empty node: ark faster than rsync over ssh | ark $(s ark_big_ms) s, rsync $(s rsync_ssh_big_ms) s ($(x "${R[rsync_ssh_big_ms]}" "${R[ark_big_ms]}")x) | $(pf "${R[ark_big_ms]} < ${R[rsync_ssh_big_ms]}") |"
  echo "| announcement visible < 100 ms (median) | $(v ann_med) ms | $(pf "${R[ann_med]} < 100") |"
  echo "| announcement visible < 100 ms (max) | $(v ann_max) ms | $(pf "${R[ann_max]} < 100") |"
  echo "$RBSR_TABLE" | awk -F'|' 'NR > 2 { gsub(/ /, "", $3); gsub(/^ +| +$/, "", $4); gsub(/ /, "", $7); gsub(/ /, "", $9); gsub(/ /, "", $10);
    printf "| RBSR d = %s, %s: bytes <= 4 x d·log16(n)·16 | %s <= %s | %s |\n", $3, $4, $7, $9, $10 }'
} | tee "$OUT"
echo "results saved to $OUT" >&2
exit 0
