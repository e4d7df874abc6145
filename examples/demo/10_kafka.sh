#!/usr/bin/env bash
# Embedded Kafka (librdkafka's mock cluster) and the relay worker pointed at it
# Sourced by tools/demo.sh (PG environment set, tools/lib.sh loaded).
source "$NOVA_REPO/tools/kafka.sh"
nova_kafka_start --brokers 3
nova_log "embedded Kafka at $NOVA_KAFKA_BOOTSTRAP"
nova_psql -c "ALTER SYSTEM SET nova.kafka_brokers = '$NOVA_KAFKA_BOOTSTRAP'" -c "SELECT pg_reload_conf()" >/dev/null
nova_relay_wait_state 60 idle running || nova_die "relay did not start: $(nova_psql -c 'SELECT nova.status()')"
psql -X -c "SELECT state, brokers, breaker, worker_pid FROM nova.relay"
