#!/usr/bin/env bash
# Installs what is needed, builds ark and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
swift build
swift test --no-parallel 2>&1 | tee .build/test.log
