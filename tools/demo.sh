#!/usr/bin/env bash
# The nova demo: a throwaway PostgreSQL 15 cluster with nova preloaded, the
# embedded Kafka (librdkafka's mock cluster), the sample Nova schema, and two
# reference service processes (examples/service, docs/service.md) driven with curl
# and a WebSocket client: HTTP in, Kafka out. Each step is a file in examples/demo/, run in name order.
# Installs what is missing, builds, installs, and cleans up everything it started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$NOVA_REPO"

nova_ensure_deps
nova_build
nova_install
make -s tools >/dev/null
make -s -C examples/service >/dev/null

nova_test_cluster demo "log_min_messages = warning"
nova_log "cluster at $PGHOST port $PGPORT, database nova"
nova_psql -f examples/nova_schema.sql >/dev/null
for step in examples/demo/*.sh; do
  [ -e "$step" ] || continue
  echo
  nova_log "── $(sed -n '2s/^# *//p' "$step")"
  source "$step"
done
echo
nova_log "demo finished; cleaning up"
