#!/usr/bin/env bash
# The 1.1 event contract as a Kafka consumer sees it (docs/outbox.md): a hard
# DELETE ends with a tombstone (null value, same key), timestamptz values written
# from an Asia/Tokyo session arrive in UTC, a table outside public gets a
# schema-qualified topic, a colliding default topic is refused (42710), fixed
# headers and tracestate arrive as Kafka headers.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
source "$NOVA_REPO/tools/kafka.sh"
nova_test_cluster outbox_contract
nova_kafka_start --brokers 1 --topic nova.posts:1 --topic nova.other.posts:1
nova_psql >/dev/null <<'SQL'
CREATE TABLE public.posts (id int PRIMARY KEY, body text, at timestamptz);
CREATE SCHEMA other;
CREATE TABLE other.posts (id int PRIMARY KEY, body text);
SELECT nova.enable_outbox('public.posts', headers => '{"tenant": "acme"}');
SELECT nova.enable_outbox('other.posts');
SQL
# A table whose default topic is taken: refused with 42710, nothing enabled.
nova_psql -c 'CREATE TABLE public."other.posts" (id int PRIMARY KEY)' >/dev/null
out="$(nova_psql -v VERBOSITY=verbose -c "SELECT nova.enable_outbox('public.\"other.posts\"')" 2>&1 || true)"
echo "$out" | grep -q '42710' || nova_die "expected 42710, got: $out"
[ "$(nova_psql -c "SELECT count(*) FROM nova.outbox_tables WHERE tbl = 'public.\"other.posts\"'::regclass")" = 0 ] \
  || nova_die "the refused table was enabled"
echo "collision refused: $(echo "$out" | head -1)"

nova_kafka_configure_relay
nova_relay_wait_ready 30 || nova_die "relay did not start"
PGOPTIONS='-c TimeZone=Asia/Tokyo' nova_psql >/dev/null <<'SQL'
BEGIN;
SET LOCAL nova.tracestate = 'rojo=00f067aa0ba902b7';
INSERT INTO public.posts VALUES (1, 'hello', '2026-01-02 09:00:00+09');
COMMIT;
DELETE FROM public.posts WHERE id = 1;
INSERT INTO other.posts VALUES (7, 'elsewhere');
SQL
nova_relay_wait_drained 60 || nova_die "outbox not drained: $(nova_psql -c 'SELECT nova.status()')"
nova_kafka_consume nova.posts 60 >"$NOVA_CLUSTER/posts.jsonl"
nova_kafka_consume nova.other.posts 60 >"$NOVA_CLUSTER/other.jsonl"
/usr/bin/python3 - "$NOVA_CLUSTER/posts.jsonl" "$NOVA_CLUSTER/other.jsonl" <<'PY'
import json, sys
posts = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
other = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
def hdr(m):
    h = m.get("headers") or []
    return dict(zip(h[0::2], h[1::2]))
bad = []
seq = [(m["key"], hdr(m).get("event-type"), m["payload"]) for m in posts]
for s in seq: print("nova.posts:", s)
types = [s[1] for s in seq]
if types != ["PostCreated", "PostDeleted", "PostPurged"]:
    bad.append("event types %s" % types)
else:
    created = json.loads(posts[0]["payload"])
    if created.get("at") != "2026-01-02T00:00:00+00:00":
        bad.append("timestamptz not in UTC: %r" % created.get("at"))
    if posts[2]["payload"] is not None or posts[2]["key"] != "1":
        bad.append("last message is not a tombstone of key 1: %r" % posts[2])
    if hdr(posts[0]).get("tenant") != "acme":
        bad.append("fixed header missing: %r" % hdr(posts[0]))
    if hdr(posts[0]).get("tracestate") != "rojo=00f067aa0ba902b7":
        bad.append("tracestate header missing: %r" % hdr(posts[0]))
if [(m["key"], hdr(m).get("event-type")) for m in other] != [("7", "PostCreated")]:
    bad.append("nova.other.posts: %r" % [(m["key"], hdr(m).get("event-type")) for m in other])
for b in bad: print("  problem:", b)
sys.exit(1 if bad else 0)
PY
