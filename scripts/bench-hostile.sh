#!/usr/bin/env bash
# Benchmarks ark under hostile peers on loopback, before and after the defenses, in one run:
#   1. a listed peer's sync latency while 2,000 idle TCP connections are held open against the
#      daemon (no key needed), and the daemon's CPU during the flood;
#   2. the daemon's peak RSS while a member opens getObjects streams and never grants credit;
#   3. an honest peer's commit latency while another member floods announcements of heads
#      that nobody can serve (and never answers requests).
# "before" is the `ark` binary built from BENCH_BEFORE_REV (default: the last commit before the
# defenses), "after" the working tree's; both are release builds and face the same attacker
# (`ark-hostile`, built from this tree). Prints one markdown table. See docs/benchmarks.md.
#
#   scripts/bench-hostile.sh [--quick]     --quick: 500 idle connections, shorter attacks
#
# Every socket is on 127.0.0.1 and every daemon runs with [net] discovery = false.
# Environment: BENCH_BEFORE_REV, BENCH_DIR (work dir, default a temp dir under /var/tmp, removed
# at the end unless BENCH_KEEP=1).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICK=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    *) echo "bench-hostile.sh: unknown argument '$a' (only --quick)" >&2; exit 2 ;;
  esac
done
# The credit-starvation attack is kept to one connection: against the "before" binary it holds
# about 9 MiB per stream (2.3 GB at 256 streams); the tests run 4 x 256 against the current one.
IDLE=2000; STARVE_CONN=1; STARVE_STREAMS=256; BOGUS=20; HOLD=30; BOGUS_WAIT=120
[ "$QUICK" = 1 ] && { IDLE=500; STARVE_STREAMS=64; BOGUS=5; HOLD=15; BOGUS_WAIT=60; }
BEFORE_REV=${BENCH_BEFORE_REV:-6fa04c8}
# The attacker against the "before" binary: ark-hostile as of the last commit that speaks its
# sync protocol (1; protocol 2 came with tree format v2), with every attack of this script.
HOSTILE_BEFORE_REV=${BENCH_HOSTILE_BEFORE_REV:-80052b6}

# --- dependencies and builds ---------------------------------------------------------------
source scripts/deps.sh
ark_install_debs python3 procps
echo "building ark and ark-hostile (release)..." >&2
swift build -c release >&2
BIN=$(swift build -c release --show-bin-path)
HOSTILE="$BIN/ark-hostile"
BEFORE_SRC="$ROOT/.build-bench-before"
echo "building ark at $BEFORE_REV (release) for the 'before' column..." >&2
if [ ! -d "$BEFORE_SRC" ]; then git worktree add -f --detach "$BEFORE_SRC" "$BEFORE_REV" >&2; else git -C "$BEFORE_SRC" checkout -q --detach "$BEFORE_REV"; fi
(cd "$BEFORE_SRC" && swift build -c release --product ark >&2)
BINS="$ROOT/.build/bench-hostile-bins"; mkdir -p "$BINS"
cp "$(cd "$BEFORE_SRC" && swift build -c release --show-bin-path)/ark" "$BINS/ark-before"
# Same checkout, so the dependencies are built once.
echo "building ark-hostile at $HOSTILE_BEFORE_REV (release) for the 'before' column..." >&2
git -C "$BEFORE_SRC" checkout -q --detach "$HOSTILE_BEFORE_REV"
(cd "$BEFORE_SRC" && swift build -c release --product ark-hostile >&2)
cp "$(cd "$BEFORE_SRC" && swift build -c release --show-bin-path)/ark-hostile" "$BINS/ark-hostile-before"
git -C "$BEFORE_SRC" checkout -q --detach "$BEFORE_REV"
declare -A ARKBIN=( [before]="$BINS/ark-before" [after]="$BIN/ark" )
declare -A HOSTILEBIN=( [before]="$BINS/ark-hostile-before" [after]="$HOSTILE" )
PROBE="python3 $ROOT/scripts/bench-sync-probe.py"

# --- work directory and cleanup ------------------------------------------------------------
W=${BENCH_DIR:-$(mktemp -d -p /var/tmp ark-bench-hostile.XXXXXX)}
mkdir -p "$W"
PIDS=()
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s%N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }
hwm_mb() { awk '/VmHWM/{printf "%.0f", $2*1024/1e6}' "/proc/$1/status" 2>/dev/null || echo "-"; }
pct() { awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN{ printf "%.0f", (b-a)/s*100 }'; }
wait_listening() { local i; for i in $(seq 1 2000); do [ -s "$W/$1/data/listen_addr" ] && return 0; sleep 0.005; done; return 1; }

# node DIR BIN: a store in $W/DIR; prints its id
node() { rm -rf "$W/$1"; mkdir -p "$W/$1"; (cd "$W/$1" && "$2" id); }
# conf DIR PORT "name id addr|-" ...: ark.toml with repo proj (full) and these remotes
conf() {
  local dir=$1 port=$2 r name id addr list=""; shift 2
  for r in "$@"; do
    read -r name id addr <<< "$r"
    [ -n "$list" ] && list="$list, "
    if [ "$addr" = "-" ]; then list="$list{ name = \"$name\", node_id = \"$id\" }"
    else list="$list{ name = \"$name\", node_id = \"$id\", addrs = [\"$addr\"] }"; fi
  done
  printf '[net]\nlisten = "127.0.0.1:%s"\ndiscovery = false\n\n[[repos]]\nid = "proj"\nfetch = "full"\nremotes = [ %s ]\n' "$port" "$list" > "$W/$dir/ark.toml"
}
# daemon DIR BIN: starts `ark run` in DIR with the usual soft limit of 1,024 open files (a
# login shell's or a systemd service's default; the hard limit stays), sets DPID
daemon() {
  (cd "$W/$1" && ulimit -Sn 1024 && ARK_LOG=info exec "$2" run >> "$W/$1/run.log" 2>&1) &
  DPID=$!; PIDS+=("$DPID")
}
stop() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
commit() {   # commit DIR BIN FILE: a new file in DIR/src, committed; prints the commit id
  mkdir -p "$W/$1/src"; head -c 4096 /dev/urandom > "$W/$1/src/$3"
  (cd "$W/$1" && "$2" commit src --repo proj -m "$3")
}

declare -A R
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for v in before after; do
  ARK=${ARKBIN[$v]}; HOSTILE=${HOSTILEBIN[$v]}
  echo "--- $v ($ARK)" >&2

  # 1. Idle-connection flood: V accepts, H (listed, dials V) starts during the flood.
  vid=$(node v "$ARK"); hid=$(node h "$ARK")
  vport=$(free_port); hport=$(free_port)
  conf v "$vport" "h $hid -"; conf h "$hport" "v $vid 127.0.0.1:$vport"
  daemon v "$ARK"; vpid=$DPID; wait_listening v
  "$HOSTILE" idle-connections --target "127.0.0.1:$vport" --count "$IDLE" --reconnects 1000000 --seconds "$HOLD" > "$W/idle-$v.json" 2>&1 &
  apid=$!; PIDS+=("$apid")
  sleep 3
  c0=$(cpu_s "$vpid"); t_cpu=$(now)
  cid=$(commit v "$ARK" flood.txt)
  t0=$(now); daemon h "$ARK"; hpid=$DPID
  R[flood_$v]=$($PROBE commit "$W/h/data/index.sqlite" "$cid" "$t0" 20) || R[flood_$v]=">20000"
  sleep 5
  R[flood_cpu_$v]=$(pct "$c0" "$(cpu_s "$vpid")" "$(awk -v a="$t_cpu" -v b="$(now)" 'BEGIN{print (b-a)/1e9}')")
  R[flood_fds_$v]=$(ls "/proc/$vpid/fd" 2>/dev/null | wc -l)
  kill "$apid" 2>/dev/null; wait "$apid" 2>/dev/null || true
  stop "$hpid"; stop "$vpid"

  # 2. Credit starvation: M (a member) opens getObjects streams for V's largest chunks and
  #    never grants credit.
  vid=$(node v "$ARK"); mkdir -p "$W/m"; mid=$(node m "$ARK")
  vport=$(free_port)
  conf v "$vport" "m $mid -"
  mkdir -p "$W/v/src"; head -c $((256 << 20)) /dev/urandom > "$W/v/src/big.bin"
  (cd "$W/v" && "$ARK" commit src --repo proj -m big > /dev/null)
  daemon v "$ARK"; vpid=$DPID; wait_listening v
  base=$(hwm_mb "$vpid")
  "$HOSTILE" credit-starve --target "127.0.0.1:$vport" --victim "$vid" --key-store "$W/m/data" \
    --connections "$STARVE_CONN" --streams "$STARVE_STREAMS" --seconds 15 > "$W/starve-$v.json" 2>&1 || true
  R[starve_base_$v]=$base
  R[starve_$v]=$(hwm_mb "$vpid")
  stop "$vpid"

  # 3. Bogus announcements: M announces heads nobody has and never answers; H commits.
  vid=$(node v "$ARK"); hid=$(node h "$ARK"); mid=$(node m "$ARK")
  vport=$(free_port); hport=$(free_port)
  conf v "$vport" "h $hid 127.0.0.1:$hport" "m $mid -"; conf h "$hport" "v $vid 127.0.0.1:$vport"
  daemon v "$ARK"; vpid=$DPID; daemon h "$ARK"; hpid=$DPID
  wait_listening v; wait_listening h
  cid=$(commit h "$ARK" warm.txt)
  $PROBE commit "$W/v/data/index.sqlite" "$cid" "$(now)" 30 > /dev/null || true
  "$HOSTILE" bogus-announce --target "127.0.0.1:$vport" --victim "$vid" --key-store "$W/m/data" \
    --count "$BOGUS" --seconds $((BOGUS_WAIT + 10)) > "$W/bogus-$v.json" 2>&1 &
  apid=$!; PIDS+=("$apid")
  sleep 2
  cid=$(commit h "$ARK" honest.txt); t0=$(now)
  R[bogus_$v]=$($PROBE commit "$W/v/data/index.sqlite" "$cid" "$t0" "$BOGUS_WAIT") || R[bogus_$v]=">$((BOGUS_WAIT * 1000))"
  kill "$apid" 2>/dev/null; wait "$apid" 2>/dev/null || true
  stop "$hpid"; stop "$vpid"
done

OUT="$ROOT/.build/bench-hostile-$(date -u +%Y%m%dT%H%M%SZ).md"
{
  echo "## ark under hostile peers, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r), load before the run: $LOAD_START. before = ark $BEFORE_REV attacked by ark-hostile $HOSTILE_BEFORE_REV, after = $(git rev-parse --short HEAD)$( [ -n "$(git status --porcelain -- Sources)" ] && echo '+changes')."
  echo
  echo "| measurement | target | before | after |"
  echo "|---|---|---|---|"
  echo "| listed peer: commit visible after its daemon starts, $IDLE idle connections held (ms) | < 2000 | ${R[flood_before]} | ${R[flood_after]} |"
  echo "| daemon CPU during the flood (% of one core) | near idle | ${R[flood_cpu_before]} | ${R[flood_cpu_after]} |"
  echo "| daemon open descriptors during the flood | | ${R[flood_fds_before]} | ${R[flood_fds_after]} |"
  echo "| daemon peak RSS, $STARVE_CONN connections x $STARVE_STREAMS getObjects streams, no credit (MB; idle ${R[starve_base_after]}) | < 300 | ${R[starve_before]} | ${R[starve_after]} |"
  echo "| honest commit latency while a member announces $BOGUS unservable heads (ms) | < 2000 | ${R[bogus_before]} | ${R[bogus_after]} |"
} | tee "$OUT"
echo "(saved to $OUT)" >&2
