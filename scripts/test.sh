#!/usr/bin/env bash
# Installs what is needed, builds ark and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
swift build
# The real S3 server the ArkS3 and S3 store suites talk to (stopped when this script exits).
# The trap comes first: a start that fails half-way must not leave servers behind.
trap 'scripts/s3-server.sh stop' EXIT
if s3env=$(scripts/s3-server.sh start); then
  eval "$s3env"
else
  echo "the S3 test server did not start (see .build/s3-server/log); the S3 suites will fail" >&2
fi
status=0
swift test --no-parallel 2>&1 | tee .build/test.log || status=$?
if [ "$status" -ne 0 ]; then
  # The log is long; repeat what failed at its end so it is the first thing a reader sees.
  echo "=== failures (from .build/test.log) ==="
  grep -E "✘|recorded an issue|error:|fatal|Fatal" .build/test.log | grep -v "^✘ Test run with" | tail -60 || true
  grep -E "^✘ Test run with" .build/test.log || true
fi
exit "$status"
