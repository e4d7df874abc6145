#!/usr/bin/env bash
# Relay drain rate: a backlog of N events (default 300,000) is written while the relay
# is unconfigured, then nova.kafka_brokers is set and the time until nova.outbox is
# empty is measured (embedded Kafka, 3 brokers). Prints events/s.
#   bash bench/relay_drain.sh            (NOVA_BENCH_EVENTS=300000)
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$NOVA_REPO"
N="${NOVA_BENCH_EVENTS:-300000}"
nova_ensure_deps; nova_build; nova_install; make -s tools >/dev/null
source "$NOVA_REPO/tools/kafka.sh"
nova_test_cluster bench_drain "log_min_messages = warning" "shared_buffers = 256MB" "synchronous_commit = off"
nova_kafka_start --brokers 3 --topic nova.bench_posts:6
nova_psql >/dev/null <<SQL
CREATE TABLE public.bench_posts (id bigserial PRIMARY KEY, author text NOT NULL, body text);
SELECT nova.enable_outbox('public.bench_posts');
INSERT INTO public.bench_posts (author, body) SELECT (g % 1000)::text, repeat(md5(g::text), 6)
  FROM generate_series(1, $N) g;
SQL
[ "$(nova_psql -c 'SELECT count(*) FROM nova.outbox')" = "$N" ] || nova_die "backlog not written"
t0=$(date +%s.%N)
nova_kafka_configure_relay
nova_relay_wait_drained 600
t1=$(date +%s.%N)
awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN { printf "drained %d events in %.1f s: %.0f events/s\n", n, b - a, n / (b - a) }'
nova_psql -c "SELECT nova.status()"
