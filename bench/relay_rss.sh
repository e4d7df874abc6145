#!/usr/bin/env bash
# Relay memory: resident set size of the relay worker before and after it delivered
# 1,000,000 events (sampled while it works), and its delivery rate on the way.
#   bash bench/relay_rss.sh                 (NOVA_BENCH_EVENTS=1000000)
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$NOVA_REPO"
EVENTS="${NOVA_BENCH_EVENTS:-1000000}"; CHUNK=50000
nova_ensure_deps; nova_build; nova_install; make -s tools >/dev/null
source "$NOVA_REPO/tools/kafka.sh"
nova_test_cluster bench_rss "log_min_messages = warning"
nova_kafka_start --brokers 3 --topic nova.rss:6
nova_kafka_configure_relay
nova_relay_wait_ready 30 || nova_die "relay did not start"
nova_psql -c "SELECT nova.publish('nova.rss', g::text, 'Warmup', '{}') FROM generate_series(1, 1000) g" >/dev/null
nova_relay_wait_drained 60
pid="$(nova_relay_pid)"
# VmRSS counts the shared buffers the worker touched; RssAnon is its private memory.
rss() { awk '/^RssAnon/ {print $2}' "/proc/$pid/status"; }
rss_all() { awk '/^(VmRSS|RssAnon|RssFile|RssShmem)/ {printf "%s %s kB  ", $1, $2}' "/proc/$pid/status"; }
before="$(rss)"; before_all="$(rss_all)"
nova_log "relay pid $pid, RSS before: ${before} kB; writing $EVENTS events in chunks of $CHUNK"
max="$before"
d0="$(nova_psql -c "SELECT nova.status()->>'delivered'")"
t0=$(date +%s)
written=0
while [ "$written" -lt "$EVENTS" ]; do
  nova_psql -c "SELECT count(nova.publish('nova.rss', (g % 10000)::text, 'RssProbe',
                  jsonb_build_object('n', g, 'body', repeat('x', 100)))) FROM generate_series($written + 1, $written + $CHUNK) g" >/dev/null
  written=$((written + CHUNK))
  r="$(rss)"; [ "$r" -gt "$max" ] && max=$r
  # Flat means: no growth from one quarter to the next (the first batches allocate the
  # producer's buffers and the cached plans once).
  [ $((written % (EVENTS / 4))) -eq 0 ] && nova_log "after writing $written events: RssAnon $r kB (delivered $(( $(nova_psql -c "SELECT nova.status()->>'delivered'") - d0 )))"
done
while ! nova_relay_drained; do r="$(rss)"; [ "$r" -gt "$max" ] && max=$r; sleep 1; done
secs=$(( $(date +%s) - t0 ))
after="$(rss)"; after_all="$(rss_all)"
del=$(( $(nova_psql -c "SELECT nova.status()->>'delivered'") - d0 ))
[ "$(nova_relay_pid)" = "$pid" ] || nova_log "warning: the relay restarted during the run"
echo "events delivered: $del in ${secs}s ($(( del / (secs > 0 ? secs : 1) )) events/s, writing included)"
echo "relay private memory (RssAnon): before ${before} kB, peak ${max} kB, after ${after} kB (growth $(( after - before )) kB)"
echo "  before: $before_all"
echo "  after:  $after_all"
echo "  (shared_buffers: $(nova_psql -c 'SHOW shared_buffers'); RssShmem is the part of it this process touched)"
echo "outbox size after drain: $(nova_psql -c "SELECT pg_size_pretty(pg_total_relation_size('nova.outbox_0') + pg_total_relation_size('nova.outbox_1'))")"
echo "machine load (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
