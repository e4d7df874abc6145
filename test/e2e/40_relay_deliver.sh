#!/usr/bin/env bash
# Committed outbox events reach Kafka with the right topic, key, compact JSON payload
# and headers (the SET LOCAL correlation id among them); a rolled-back transaction
# sends nothing; a commit wakes the relay at once.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
source "$NOVA_REPO/tools/kafka.sh"
nova_test_cluster relay_deliver
nova_kafka_start --brokers 3 --topic nova.posts:4 --topic nova.explicit:2
nova_kafka_configure_relay
nova_relay_wait_ready 30 || nova_die "relay did not start: $(nova_psql -c 'SELECT nova.status()')"

nova_psql >/dev/null <<'SQL'
CREATE TABLE public.posts (id bigint PRIMARY KEY, author text NOT NULL, body text, secret text);
SELECT nova.enable_outbox('public.posts', exclude_columns => '{secret}');
-- What the test expects, written in the same transactions as the events.
CREATE TABLE public.expected (event_id uuid, topic text, key text, payload jsonb, headers jsonb);

BEGIN;
SET LOCAL nova.correlation_id = 'req-42';
SET LOCAL nova.traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
INSERT INTO public.posts VALUES (1, 'alice', 'hello, "world": ünïcode', 's3cret');
INSERT INTO public.posts SELECT g, 'bob', 'post ' || g, 'x' FROM generate_series(2, 50) g;
UPDATE public.posts SET body = 'edited' WHERE id = 1;
COMMIT;

BEGIN;
SET LOCAL nova.correlation_id = 'req-rolled-back';
INSERT INTO public.posts VALUES (999, 'mallory', 'never', 'x');
SELECT nova.publish('nova.explicit', 'never', 'NeverHappened', '{"x": 1}');
ROLLBACK;

BEGIN;
SET LOCAL nova.correlation_id = 'req-43';
INSERT INTO public.expected
SELECT nova.publish('nova.explicit', 'k' || g, 'ThingHappened', jsonb_build_object('n', g, 'nested', jsonb_build_object('a', '1, 2')),
                    '{"tenant": "acme"}'), 'nova.explicit', 'k' || g, jsonb_build_object('n', g, 'nested', jsonb_build_object('a', '1, 2')),
       '{"tenant": "acme", "correlation-id": "req-43", "event-type": "ThingHappened", "source": "publish"}'
FROM generate_series(1, 20) g;
INSERT INTO public.expected
SELECT nova.publish('nova.explicit', 'gone', 'ThingPurged', NULL), 'nova.explicit', 'gone', NULL,
       '{"correlation-id": "req-43"}';
COMMIT;
SQL

nova_relay_wait_drained 60 || nova_die "outbox not drained: $(nova_psql -c 'SELECT nova.status()')"

# Trigger events: the posts' final rows (minus the secret), every event with correlation id req-42.
rc=0
nova_kafka_consume nova.posts 30 >"$NOVA_CLUSTER/posts.jsonl"
/usr/bin/python3 - "$NOVA_CLUSTER/posts.jsonl" <<'PY' || rc=1
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
hdr = lambda m: {m["headers"][i]: m["headers"][i + 1] for i in range(0, len(m["headers"]), 2)}
bad = []
ids = [hdr(m)["event-id"] for m in msgs]
print("produced 51 / delivered %d / duplicates %d / lost %d" % (len(set(ids)), len(ids) - len(set(ids)), 51 - len(set(ids))))
if len(set(ids)) != 51: bad.append("expected 51 events (50 inserts, 1 update)")
for m in msgs:
    h = hdr(m)
    if h.get("correlation-id") != "req-42": bad.append("correlation-id %r" % h.get("correlation-id"))
    if h.get("traceparent") != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01": bad.append("traceparent %r" % h.get("traceparent"))
    if not h.get("source", "").endswith(".public.posts"): bad.append("source %r" % h.get("source"))
    if h.get("actor") != "postgres": bad.append("actor %r" % h.get("actor"))
    if not h.get("occurred-at", "").endswith("Z"): bad.append("occurred-at %r" % h.get("occurred-at"))
    if "secret" in m["payload"] or "mallory" in m["payload"]: bad.append("payload leaked: " + m["payload"])
    if m["payload"] != json.dumps(json.loads(m["payload"]), separators=(",", ":"), ensure_ascii=False): bad.append("payload not compact: " + m["payload"])
types = {}
for m in msgs: types[hdr(m)["event-type"]] = types.get(hdr(m)["event-type"], 0) + 1
if types != {"PostCreated": 50, "PostUpdated": 1}: bad.append("event types %r" % types)
last = {}
for m in msgs: last[m["key"]] = json.loads(m["payload"])
if last.get("1", {}).get("body") != "edited": bad.append("last message of key 1: %r" % last.get("1"))
if json.loads([m for m in msgs if m["key"] == "1"][0]["payload"])["body"] != 'hello, "world": ünïcode': bad.append("first payload of key 1")
for b in bad[:10]: print("  problem:", b)
sys.exit(1 if bad else 0)
PY

# Explicit events: exact ids, payloads (a tombstone among them) and headers; nothing rolled back.
nova_kafka_check nova.explicit \
  "SELECT json_build_object('event_id', event_id, 'key', key, 'topic', topic, 'payload', payload, 'headers', headers) FROM public.expected" "" || rc=1

# Payload text: the relay writes compact JSON straight from jsonb (bgworker/relay_worker.cpp,
# jsonb_compact); it must be byte for byte jsonb's own output with the whitespace outside
# strings removed: escapes, numbers as stored, key order, nesting, bare scalars.
nova_psql >/dev/null <<'SQL'
CREATE TABLE public.fmt (key text, payload jsonb);
INSERT INTO public.fmt VALUES
  ('f1', '{"s": "tab\there \"q\" back\\slash nl\n ctl\u0001\u001f é 😀 </ \\u", "n": [1, 1.50, -0.0, 1e3, 12345678901234567890.5, -7e-3],
          "b": [true, false, null], "o": {"": {}, "x y": [], "longer key": [[1, [2]], {"z": {"y": null}}]}, "a": 1}'),
  ('f2', '"a bare string, with: \"quotes\""'), ('f3', '42.0'), ('f4', 'null'), ('f5', '[]'), ('f6', '{}'),
  ('f7', '[{"k": "v"}, [], [[]], "x", 0]');
SELECT nova.publish('nova.explicit', f.key, 'Formatted', f.payload) FROM public.fmt f;
SQL
nova_relay_wait_drained 30 || nova_die "outbox not drained"
nova_psql -c "SELECT json_object_agg(key, payload::text) FROM public.fmt" >"$NOVA_CLUSTER/fmt.json"
nova_kafka_consume nova.explicit 30 >"$NOVA_CLUSTER/explicit.jsonl"
/usr/bin/python3 - "$NOVA_CLUSTER/fmt.json" "$NOVA_CLUSTER/explicit.jsonl" <<'PY' || rc=1
import json, sys
def compact(t):  # jsonb's text minus whitespace outside strings (compact_json_into)
    out, i, s = [], 0, False
    while i < len(t):
        c = t[i]
        if s:
            out.append(c)
            if c == "\\": i += 1; out.append(t[i])
            elif c == '"': s = False
        elif c == '"': s = True; out.append(c)
        elif c not in " \n\t\r": out.append(c)
        i += 1
    return "".join(out)
want = {k: compact(v) for k, v in json.load(open(sys.argv[1])).items()}
got = {m["key"]: m["payload"] for m in map(json.loads, filter(str.strip, open(sys.argv[2]))) if m["key"] in want}
bad = [k for k in want if got.get(k) != want[k]]
for k in bad: print("FAIL: payload of %s:\n  kafka: %r\n  want:  %r" % (k, got.get(k), want[k]))
print("payload text: %d of %d exact" % (len(want) - len(bad), len(want)))
sys.exit(1 if bad else 0)
PY

# The relay was woken by the commit: a single event arrives well before the 1 s idle poll.
nova_psql -c "ALTER SYSTEM SET nova.relay_idle_timeout = '60s'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
t0=$(date +%s%N)
nova_psql -c "SELECT nova.publish('nova.explicit', 'wake', 'WakeUp', '{}')" >/dev/null
nova_relay_wait_drained 10 || { echo "FAIL: the commit did not wake the relay"; rc=1; }
echo "commit -> outbox drained: $(( ($(date +%s%N) - t0) / 1000000 )) ms (idle timeout 60 s)"
# …and so is a relay that has just sent a batch that was not full (caught up): the next
# commit wakes it too (it used to wait for the idle timeout there).
for i in 1 2 3; do
  t0=$(date +%s%N)
  nova_psql -c "SELECT nova.publish('nova.explicit', 'wake', 'WakeUpAgain', '{}')" >/dev/null
  nova_relay_wait_drained 10 || { echo "FAIL: a commit after a non-full batch did not wake the relay"; rc=1; break; }
  echo "commit $i after a sent batch -> outbox drained: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
done

status="$(nova_psql -c "SELECT nova.status()")"
echo "status: $status"
nova_psql -c "SELECT (nova.status()->>'delivered')::int >= 83 AND nova.status()->>'last_error' IS NULL" | grep -qx t \
  || { echo "FAIL: status counters"; rc=1; }

# Clean shutdown: SIGTERM → bounded flush → exit 0, within pg_ctl's patience.
t0=$(date +%s%N)
nova_cluster_stop "$NOVA_CLUSTER" fast
echo "fast shutdown took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
grep -q 'nova relay: shutting down' "$NOVA_CLUSTER/server.log" || { echo "FAIL: no clean relay shutdown"; rc=1; }
if grep -E 'background worker "nova relay" .*(exited with exit code [1-9]|terminated by signal)' "$NOVA_CLUSTER/server.log" \
   | grep -v 'exited with exit code 1' >/dev/null; then echo "FAIL: relay did not exit cleanly"; rc=1; fi
exit $rc
