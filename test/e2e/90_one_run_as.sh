#!/usr/bin/env bash
# One way to act as another role (docs/security.md, "Acting as another role"):
# SetUserIdAndSecContext, SetSessionUserId and friends appear only in
# src/pg/run_as.cpp. Everything else goes through nova::pg::run_as.
set -uo pipefail
cd "$(dirname "$0")/../.."
found="$(grep -rnE '\b(SetUserIdAndSecContext|SetUserIdAndContext|SetSessionAuthorization|SetCurrentRoleId)\b' \
           src bgworker tools --include='*.cpp' --include='*.h' --include='*.c' | grep -v '^src/pg/run_as\.cpp:' \
           | grep -vE '^[^:]+:[0-9]+:\s*//')"
if [ -n "$found" ]; then
  echo "FAIL: acting as another role outside src/pg/run_as.cpp:"
  echo "$found"
  exit 1
fi
echo "ok: SetUserIdAndSecContext only in src/pg/run_as.cpp"
