#!/usr/bin/env bash
# What reached Kafka: every message with its key and headers, and nova.status()
# Sourced by tools/demo.sh after the workload steps.
nova_relay_wait_drained 60 || nova_log "outbox not drained yet: $(nova_psql -c 'SELECT nova.status()')"
topics="$(kcat -L -J -b "$NOVA_KAFKA_BOOTSTRAP" 2>/dev/null | /usr/bin/python3 -c '
import json, sys
print(" ".join(sorted(t["topic"] for t in json.load(sys.stdin).get("topics", []) if not t["topic"].startswith("__"))))')"
for t in $topics; do
  nova_log "topic $t"
  nova_kafka_consume "$t" 20 | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    h = m.get("headers") or []
    hs = ", ".join("%s=%s" % (h[i], h[i + 1]) for i in range(0, len(h), 2))
    print("  [p%d@%d] key=%s\n      headers: %s\n      payload: %s" % (m["partition"], m["offset"], m.get("key"), hs, m.get("payload")))'
done
nova_log "nova.status()"
psql -X -At -c "SELECT jsonb_pretty(nova.status())"
