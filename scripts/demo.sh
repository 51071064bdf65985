#!/usr/bin/env bash
# ark's main job on a built-in default: snapshot a sample tree (with a large generated file)
# into ./data, list its history, cat a file, then mount it read-only and browse it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
swift build -c release --product ark
ark="$PWD/.build/release/ark"

work=${ARK_DEMO_DIR:-$PWD/demo}
mkdir -p "$work"
cd "$work"
if [ ! -d sample ]; then
    echo "== generating a sample tree in $work/sample"
    mkdir -p sample/docs sample/bin sample/empty
    cp -r /usr/include/linux sample/include-linux 2>/dev/null || true
    printf '# Sample\n\nA tree snapshotted by ark.\n' > sample/README.md
    printf '#!/bin/sh\necho "hello from ark"\n' > sample/bin/hello && chmod +x sample/bin/hello
    ln -sf ../README.md sample/docs/readme-link
    head -c $((256 * 1024 * 1024)) /dev/urandom > sample/large.bin
fi

echo "== ark commit (store: $work/data)"
"$ark" commit sample --repo demo -m "demo snapshot"
echo "== ark log"
"$ark" log --repo demo -n 5
echo "== ark cat demo:README.md"
"$ark" cat demo:README.md
echo "== ark verify"
"$ark" verify

mp="$work/mnt"
mkdir -p "$mp"
if grep -q " $mp " /proc/self/mountinfo; then "$ark" unmount --force "$mp"; fi
if [ -e /dev/fuse ]; then
    echo "== ark mount demo $mp"
    "$ark" mount --daemon demo "$mp"
    ls -la "$mp"
    echo "history: $(ls "$mp/.ark/repos/demo/log")"
    cmp "$mp/large.bin" sample/large.bin && echo "large.bin read back through the mount: identical"
    echo "== mounted at $mp; unmount with: $ark unmount $mp"
else
    echo "(no /dev/fuse here: skipping the mount step)"
fi
