#!/usr/bin/env bash
# Benchmark for git-remote-ark (issue 20): the import benchmark's generated history (N commits,
# default 5000, built by scripts/bench-import.sh's generator), imported into ark, then in one
# run: `git clone ark::<repo>` against `git clone --no-local` of the original (and the helper
# with deltas off, ARK_GIT_DELTAS=0), `git fetch` of one new commit, and the peak memory of each
# (/usr/bin/time -v). Prints a markdown table and the size of the pack each clone received.
# Usage: scripts/bench-git-remote.sh [commits] [directory holding ark and git-remote-ark]
set -euo pipefail
N=${1:-5000}
BIN=${2:-$(pwd)/.build/release}
ARK=$BIN/ark
[ -x "$ARK" ] && [ -x "$BIN/git-remote-ark" ] || { echo "build first: swift build -c release --static-swift-stdlib" >&2; exit 1; }
command -v /usr/bin/time > /dev/null || apt-get install -y -q time > /dev/null
WORK=$(mktemp -d /tmp/ark-bench-git-remote-XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT; echo "work: $WORK" >&2
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME=$WORK PATH=$BIN:$PATH

# The history: bench-import.sh's generator (its python block), run on its own.
sed -n "/^python3 - \"\$N\" > \"\$WORK\/stream\" <<'PY'$/,/^PY$/p" "$(dirname "$0")/bench-import.sh" > "$WORK/gen.sh"
git init -q -b main "$WORK/src"
N=$N WORK=$WORK bash "$WORK/gen.sh"
git -C "$WORK/src" fast-import --quiet < "$WORK/stream"
git -C "$WORK/src" checkout -q main
git -C "$WORK/src" gc -q
COMMITS=$(git -C "$WORK/src" rev-list --all | wc -l)

cd "$WORK"
printf '[store]\npath = "data"\n' > ark.toml
URL="ark::$WORK/ark.toml#bench"
/usr/bin/time -f "%e %M" -o t.import "$ARK" import src --repo bench > /dev/null
# Measured: each command's wall time and peak RSS (the largest process: git or the helper).
measure() { # name, command...
    local name=$1; shift
    /usr/bin/time -v -o "t.$name" "$@" > /dev/null 2> "err.$name" || { cat "err.$name" >&2; exit 1; }
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "t.$name")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "t.$name")
    echo "$name $wall $rss" >> results
}
: > results
measure clone-native git clone -q --no-local src native
measure clone-ark git clone -q "$URL" viaark
[ "$(git -C viaark rev-parse origin/main)" = "$(git -C src rev-parse main)" ] || { echo "ids differ" >&2; exit 1; }
# The same helper sending every object whole (no deltas), for a before/after in one run.
measure clone-ark-whole env ARK_GIT_DELTAS=0 git clone -q "$URL" viaark-whole
[ "$(git -C viaark-whole rev-parse origin/main)" = "$(git -C src rev-parse main)" ] || { echo "ids differ (whole)" >&2; exit 1; }
packs() { du -sb "$1/.git/objects/pack" | awk '{ printf "%.0f MB", $1 / 1e6 }'; }
PACKS="pack received: native $(packs native), ark $(packs viaark), ark without deltas $(packs viaark-whole)"
rm -rf viaark-whole
# One new commit in the source, imported, then fetched into each clone.
echo new > src/new-file.txt; git -C src add new-file.txt; git -C src -c user.name=B -c user.email=b@x commit -q -m "new file"
"$ARK" import src --repo bench > /dev/null
measure fetch-native git -C native fetch -q origin
measure fetch-ark git -C viaark fetch -q origin
[ "$(git -C viaark rev-parse origin/main)" = "$(git -C src rev-parse main)" ] || { echo "ids differ after fetch" >&2; exit 1; }
git -C viaark fsck --no-progress > /dev/null

read -r TI _ < t.import
echo
echo "history: $COMMITS commits (+1 for the fetch); ark import: ${TI} s"
echo
echo "| operation | wall | peak RSS |"
echo "|---|---|---|"
awk '{ printf "| %s | %.2f s | %.0f MB |\n", $1, $2, $3 / 1024 }' results
awk '$1 == "clone-native" {n = $2} $1 == "clone-ark" {a = $2} $1 == "clone-ark-whole" {w = $2}
    END { printf "\nclone ark / native: %.2fx (without deltas: %.2fx)\n", a / n, w / n }' results
echo "$PACKS"
