#!/usr/bin/env bash
# nova.event_format = cloudevents: every message is a CloudEvent in the Kafka binding's
# binary content mode, as an independent reader sees it — the CloudEvents JavaScript
# SDK (cloudevents@10, Kafka binding) over kafkajs@2, installed from npm into a temp
# directory. Checks id, type, source, subject, time, data, the correlation and trace
# headers and the row's own headers (tracestate) for trigger and publish events.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
source "$NOVA_REPO/tools/kafka.sh"
command -v npm >/dev/null && command -v node >/dev/null || nova_die "node and npm are needed"
nova_test_cluster relay_cloudevents
nova_kafka_start --brokers 1 --topic nova.ce:2 --topic nova.items:2

NODE_DIR="$NOVA_CLUSTER/node"
mkdir -p "$NODE_DIR"
( cd "$NODE_DIR" && echo '{"name":"nova-ce-check","private":true}' >package.json &&
  npm install --silent --no-audit --no-fund cloudevents@10 kafkajs@2 >npm.log 2>&1 ) \
  || { cat "$NODE_DIR/npm.log"; nova_die "npm install cloudevents@10 kafkajs@2 failed"; }

nova_psql >/dev/null <<'SQL'
ALTER SYSTEM SET nova.event_format = 'cloudevents';
CREATE TABLE public.items (id int PRIMARY KEY, name text);
SELECT nova.enable_outbox('public.items');
SQL
nova_kafka_configure_relay
nova_relay_wait_ready 30 || nova_die "relay did not start: $(nova_psql -c 'SELECT nova.status()')"
[ "$(nova_psql -c 'SHOW nova.event_format')" = cloudevents ] || nova_die "nova.event_format not reloaded"

# public.expected keeps each event's id and time (created_at = the transaction's now()).
nova_psql >/dev/null <<'SQL'
CREATE TABLE public.expected (event_id uuid, key text, at text);
BEGIN;
SET LOCAL nova.correlation_id = 'req-ce-1';
SET LOCAL nova.traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
INSERT INTO public.expected (event_id, key) VALUES
  (nova.publish('nova.ce', 'user-1', 'UserSignedUp', '{"user": 1, "plan": "pro"}',
                '{"tracestate": "nova=t61rcWkgMzE", "tenant": "acme"}'), 'user-1'),
  (nova.publish('nova.ce', 'user-2', 'UserSignedUp', '{"user": 2, "nested": {"a": [1, 2]}}'), 'user-2'),
  (nova.publish('nova.ce', NULL, 'Heartbeat', '{"ok": true}'), NULL);
UPDATE public.expected SET at = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
COMMIT;
INSERT INTO public.items VALUES (7, 'seven');
SQL
nova_relay_wait_drained 30 || nova_die "outbox not drained: $(nova_psql -c 'SELECT nova.status()')"

cat >"$NODE_DIR/read.js" <<'JS'
// Reads every message of the given topics with kafkajs and parses it with the
// CloudEvents SDK's Kafka binding; prints one JSON line per event.
const { Kafka, logLevel } = require("kafkajs");
const { Kafka: CEKafka } = require("cloudevents");
const [brokers, want, ...topics] = process.argv.slice(2);
const kafka = new Kafka({ clientId: "nova-ce-check", brokers: brokers.split(","), logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId: "nova-ce-check-" + process.pid });
const out = [];
const str = (b) => (b === null || b === undefined ? null : Buffer.isBuffer(b) ? b.toString("utf8") : String(b));
async function main() {
  const timer = setTimeout(() => { console.error("timeout: got " + out.length); process.exit(2); }, 60000);
  await consumer.connect();
  for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise((resolve, reject) => {
    consumer.run({
      eachMessage: async ({ topic, message }) => {
        const headers = {};
        for (const [k, v] of Object.entries(message.headers || {})) headers[k] = str(v);
        const msg = { key: str(message.key), value: str(message.value), headers, timestamp: message.timestamp };
        if (!CEKafka.isEvent(msg)) return reject(new Error("not a CloudEvent: " + JSON.stringify(headers)));
        const ev = CEKafka.toEvent(msg);
        ev.validate();  // throws unless the event is valid CloudEvents 1.0
        out.push({ topic, id: ev.id, type: ev.type, source: ev.source, subject: ev.subject ?? null,
                   time: ev.time, specversion: ev.specversion, datacontenttype: ev.datacontenttype ?? null,
                   data: ev.data, correlation_id: headers["correlation-id"] ?? null,
                   traceparent: headers["traceparent"] ?? null, tracestate: headers["tracestate"] ?? null,
                   tenant: headers["tenant"] ?? null });
        if (out.length >= Number(want)) resolve();
      },
    }).catch(reject);
  });
  clearTimeout(timer);
  await consumer.disconnect();
  for (const e of out) console.log(JSON.stringify(e));
}
main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
JS
rc=0
node "$NODE_DIR/read.js" "$NOVA_KAFKA_BOOTSTRAP" 4 nova.ce nova.items >"$NOVA_CLUSTER/events.jsonl" \
  || { echo "FAIL: the CloudEvents reader failed"; rc=1; }
sed 's/^/  sdk: /' "$NOVA_CLUSTER/events.jsonl"

nova_psql -c "SELECT row_to_json(e) FROM public.expected e" >"$NOVA_CLUSTER/expected.jsonl"
/usr/bin/python3 - "$NOVA_CLUSTER/events.jsonl" "$NOVA_CLUSTER/expected.jsonl" <<'PY' || rc=1
import json, re, sys, datetime
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
expected = {x["key"]: x for x in map(json.loads, open(sys.argv[2])) if x}
bad = []
def check(cond, what):
    if not cond: bad.append(what)
by_type = {}
for e in evs:
    by_type.setdefault((e["type"], e["subject"]), e)
    check(e["specversion"] == "1.0", "specversion %r" % e["specversion"])
    check(re.fullmatch(r"[0-9a-f-]{36}", e["id"] or "") is not None, "id %r" % e["id"])
    t = datetime.datetime.fromisoformat(e["time"].replace("Z", "+00:00"))
    check(abs((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()) < 600, "time %r" % e["time"])
u1 = by_type.get(("UserSignedUp", "user-1"))
u2 = by_type.get(("UserSignedUp", "user-2"))
hb = by_type.get(("Heartbeat", None))
it = by_type.get(("ItemsCreated", "7")) or next((e for e in evs if e["topic"] == "nova.items"), None)
for key, e in (("user-1", u1), ("user-2", u2), (None, hb)):
    x = expected[key]
    check(e is not None and e["id"] == x["event_id"], "ce_id of %s: %r, expected %s" % (key, e and e["id"], x["event_id"]))
    check(e is not None and e["time"] == x["at"], "ce_time of %s: %r, expected %s" % (key, e and e["time"], x["at"]))
check(u1 and u1["data"] == {"user": 1, "plan": "pro"}, "user-1 data %r" % (u1 and u1["data"]))
check(u1 and u1["source"] == "publish", "user-1 source")
check(u1 and u1["datacontenttype"] == "application/json", "datacontenttype")
check(u1 and u1["correlation_id"] == "req-ce-1", "correlation-id %r" % (u1 and u1["correlation_id"]))
check(u1 and u1["traceparent"] == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "traceparent")
check(u1 and u1["tracestate"] == "nova=t61rcWkgMzE" and u1["tenant"] == "acme", "row headers")
check(u2 and u2["data"] == {"user": 2, "nested": {"a": [1, 2]}}, "user-2 data")
check(hb is not None and hb["subject"] is None, "NULL key: no subject")
check(it is not None and it["subject"] == "7" and it["source"] == "nova.public.items"
      and it["data"].get("name") == "seven", "trigger event %r" % it)
check(len(evs) == 4 and len({e["id"] for e in evs}) == 4, "%d events" % len(evs))
for b in bad: print("  problem:", b)
print("%d CloudEvents read with the SDK, %d problems" % (len(evs), len(bad)))
sys.exit(1 if bad else 0)
PY
[ "$(nova_psql -c "SELECT nova.status()->>'delivered'")" = 4 ] || { echo "FAIL: delivered != 4"; rc=1; }
exit $rc
