#!/usr/bin/env bash
# The reference service (examples/service, docs/service.md) end to end: a cluster,
# the embedded Kafka, and TWO nova-service processes; requests alternate between
# them. For each endpoint and error path: the status, the JSON body, the
# X-Correlation-ID echo; for writes, the Kafka message with the same correlation-id
# header and actor = the token's subject. A WebSocket client on one process gets the
# comment and follow written through the other. The access log, the server log and
# the Kafka header carry the same id. The webhook goes through the shared breaker;
# SIGTERM drains an in-flight request.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
source "$NOVA_REPO/tools/kafka.sh"
source "$NOVA_REPO/examples/service/service.sh"

svc_build
nova_test_cluster service "log_statement = 'all'"
LOG="$NOVA_CLUSTER/server.log"
nova_kafka_start --brokers 1 --topic nova.posts:2 --topic nova.comments:2 --topic nova.follows:2
nova_kafka_configure_relay
nova_relay_wait_ready 30 || nova_die "relay did not start"
svc_setup_nova nova_svc

# Users, a signing key, tokens (what the identity provider does).
SECRET="$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=' | head -c 48)"
nova_psql >/dev/null <<SQL
INSERT INTO users (username, display_name, email) VALUES
  ('alice', 'Alice', 'alice@example.com'), ('bob', 'Bob', 'bob@example.com'), ('carol', 'Carol', 'carol@example.com');
INSERT INTO nova.jwt_keys (kid, algorithm, key, issuer, audience) VALUES ('e2e', 'HS256', '$SECRET', 'https://auth.example', 'nova-api');
-- a rule the service does not expect: its error must come back as a bare 500
CREATE FUNCTION public.boom() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN IF NEW.body = 'boom' THEN RAISE EXCEPTION 'secret internal detail %', 42 USING ERRCODE = 'XX001'; END IF; RETURN NEW; END \$\$;
CREATE TRIGGER boom BEFORE INSERT ON public.posts FOR EACH ROW EXECUTE FUNCTION public.boom();
SQL
mint() { nova_psql -c "SELECT nova.jwt_sign(jsonb_build_object('sub', '$1', 'iss', 'https://auth.example', 'aud', 'nova-api',
  'exp', extract(epoch FROM now())::bigint + ${2:-3600}), '$SECRET', 'HS256', '{\"kid\": \"e2e\"}')"; }
T_alice="$(mint alice)"; T_bob="$(mint bob)"; T_carol="$(mint carol)"; T_expired="$(mint alice -3600)"

# The webhook receiver.
HOOK="$(mktemp -d /tmp/nova-hook.XXXXXX)"; NOVA_CLEANUP_DIRS+=("$HOOK")
/usr/bin/python3 "$NOVA_REPO/examples/service/webhook_stub.py" "$HOOK" >"$HOOK/port" &
HOOK_PID=$!; NOVA_CLEANUP_CMDS+=("kill $HOOK_PID")
nova_wait_for 10 "webhook stub" test -s "$HOOK/port"

PA="$(nova_free_port)"; PB="$(nova_free_port)"
while [ "$PB" = "$PA" ]; do PB="$(nova_free_port)"; done
COMMON=(--db "$(svc_conninfo nova)" --pool 4 --rate-limit 20 --webhook-timeout-ms 5000 --webhook "http://127.0.0.1:$(cat "$HOOK/port")/hook")
svc_start A "$PA" "${COMMON[@]}"
svc_start B "$PB" "${COMMON[@]}"

FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
N=0
# req METHOD PATH USER|- [BODY] [extra curl args…] → STATUS, BODY, HDRS, CID (the id sent), PORT
req() {
  local method="$1" path="$2" user="$3" body="${4:-}"; shift 4 2>/dev/null || shift $#
  N=$((N + 1)); PORT=$([ $((N % 2)) = 1 ] && echo "$PA" || echo "$PB")
  CID="e2e-$N-$RANDOM$RANDOM"
  local args=(-s -o "$HOOK/body" -D "$HOOK/hdrs" -w '%{http_code}' -X "$method" -H "X-Correlation-ID: $CID")
  if [ "$user" != - ]; then local t="T_$user"; args+=(-H "Authorization: Bearer ${!t}"); fi
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  STATUS="$(curl "${args[@]}" "$@" "http://127.0.0.1:$PORT$path")"
  BODY="$(cat "$HOOK/body")"; HDRS="$(tr -d '\r' <"$HOOK/hdrs")"
}
hdr() { printf '%s\n' "$HDRS" | grep -i "^$1: " | head -1 | cut -d' ' -f2-; }
jget() { printf '%s' "$BODY" | /usr/bin/python3 -c "import json,sys; v=json.load(sys.stdin)$1; print(v if not isinstance(v,(dict,list)) else json.dumps(v))"; }
# expect STATUS [JSON-path=value…]: status, correlation id echo, error bodies carry the id
expect() {
  local want="$1" what="$2"; shift 2
  [ "$STATUS" = "$want" ] || { fail "$what: status $STATUS, expected $want (body: $BODY)"; return; }
  [ "$(hdr X-Correlation-ID)" = "$CID" ] || fail "$what: X-Correlation-ID echo '$(hdr X-Correlation-ID)' != $CID"
  if [ "$want" -ge 400 ]; then
    [ "$(jget "['correlation_id']")" = "$CID" ] || fail "$what: error body without the correlation id: $BODY"
    jget "['error']" >/dev/null || fail "$what: error body without error: $BODY"
  fi
  local kv; for kv in "$@"; do
    [ "$(jget "${kv%%=*}")" = "${kv#*=}" ] || fail "$what: ${kv%%=*} is '$(jget "${kv%%=*}" 2>/dev/null)', expected '${kv#*=}'"
  done
  echo "ok   $what → $STATUS"
}
declare -A WRITES=()   # correlation id → expected actor, for writes that must reach Kafka
declare -A NOWRITE=()  # correlation ids that must not

# ---- WebSocket: alice listens on B (token in the header), bob on A (?access_token=)
"$SVC_WS" "127.0.0.1:$PB" /ws --token "$T_alice" --count 2 --seconds 60 >"$HOOK/ws_alice" &
WS_ALICE=$!
"$SVC_WS" "127.0.0.1:$PA" "/ws?access_token=$T_bob" --count 1 --seconds 60 >"$HOOK/ws_bob" &
WS_BOB=$!
nova_wait_for 10 "websockets connected" bash -c "grep -q connected '$HOOK/ws_alice' && grep -q connected '$HOOK/ws_bob'" \
  || fail "websocket clients did not connect"
"$SVC_WS" "127.0.0.1:$PA" /ws --token "$T_expired" --seconds 5 >"$HOOK/ws_bad" || true
grep -q '^refused' "$HOOK/ws_bad" || fail "a websocket with an expired token was not refused: $(cat "$HOOK/ws_bad")"

# ---- probes
req GET /healthz -; expect 200 "GET /healthz" "['status']=ok"
req GET /readyz -; expect 200 "GET /readyz" "['database']=ok" "['mode']=nova"
case "$(jget "['relay']")" in idle|running) ;; *) fail "readyz relay state: $BODY" ;; esac

# ---- posts
TP="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
req POST /posts alice '{"body": "hello from alice", "visibility": "public"}' -H "traceparent: $TP"
expect 201 "POST /posts" "['author']=alice" "['body']=hello from alice" "['visibility']=public"
POST_ID="$(jget "['id']")"; WRITES[$CID]=alice; POST_CID="$CID"
req GET "/posts/$POST_ID" bob; expect 200 "GET /posts/{id}" "['id']=$POST_ID" "['author']=alice"
req GET /posts/99999999 bob; expect 404 "GET /posts/{missing}"
req GET /posts/abc bob; expect 400 "GET /posts/{not a number} (22P02)"
req POST /posts alice '{"body": '; expect 400 "POST /posts malformed JSON"
req POST /posts alice '{"body": ""}'; expect 422 "POST /posts empty body (23514)"; NOWRITE[$CID]=1
req POST /posts alice '{"body": "x", "visibility": "nobody"}'; expect 422 "POST /posts bad visibility (23514)"; NOWRITE[$CID]=1
req POST /posts alice '{"body": "boom"}'; expect 500 "POST /posts unexpected error"; NOWRITE[$CID]=1
case "$BODY" in *secret*|*XX001*|*42*) fail "500 body leaks internals: $BODY" ;; esac
req POST /posts - '{"body": "anonymous"}'; expect 401 "POST /posts without a token"; NOWRITE[$CID]=1
[ "$(hdr WWW-Authenticate)" = "Bearer" ] || fail "401 without WWW-Authenticate: Bearer"
req POST /posts expired '{"body": "late"}'; expect 401 "POST /posts expired token (28000)"; NOWRITE[$CID]=1
[ "$(hdr WWW-Authenticate)" = 'Bearer error="invalid_token"' ] || fail "28000 without invalid_token challenge: $(hdr WWW-Authenticate)"
req POST /posts alice '{"body": "ok"}' -H "X-Correlation-ID: bad id with spaces"
[ "$STATUS" = 201 ] && [ -n "$(hdr X-Correlation-ID)" ] && [ "$(hdr X-Correlation-ID)" != "bad id with spaces" ] \
  && echo "ok   invalid X-Correlation-ID replaced by $(hdr X-Correlation-ID)" || fail "invalid correlation id not replaced"
WRITES[$(hdr X-Correlation-ID)]=alice

# ---- comments (alice's WebSocket on B is notified of bob's comment made on A or B)
req POST "/posts/$POST_ID/comments" bob '{"body": "nice post"}'
expect 201 "POST /posts/{id}/comments" "['author']=bob" "['post_id']=$POST_ID"
COMMENT_CID="$CID"; WRITES[$CID]=bob
[ "$(hdr X-Webhook)" = sent ] || fail "webhook not sent: X-Webhook=$(hdr X-Webhook)"
grep -q "^$COMMENT_CID " "$HOOK/calls" || fail "webhook did not receive the comment with its correlation id"
req POST /posts/99999999/comments bob '{"body": "x"}'; expect 404 "POST comments on a missing post"; NOWRITE[$CID]=1

# ---- follows
req POST /users/alice/follow bob; expect 204 "POST /users/{u}/follow"; FOLLOW_CID="$CID"; WRITES[$CID]=bob
req POST /users/alice/follow bob; expect 409 "follow twice (23505)"; NOWRITE[$CID]=1
req POST /users/bob/follow bob; expect 422 "follow yourself (23514)"; NOWRITE[$CID]=1
req POST /users/nobody/follow bob; expect 404 "follow an unknown user"; NOWRITE[$CID]=1
nova_psql -c "REVOKE INSERT ON public.follows FROM nova_svc"
req POST /users/alice/follow carol; expect 403 "follow without the privilege (42501)"; NOWRITE[$CID]=1
nova_psql -c "GRANT INSERT ON public.follows TO nova_svc"
req POST /users/bob/follow alice; expect 204 "alice follows bob (bob's WebSocket on A)"; WRITES[$CID]=alice

wait "$WS_ALICE" || fail "alice's websocket did not get 2 messages: $(cat "$HOOK/ws_alice")"
wait "$WS_BOB" || fail "bob's websocket did not get a message: $(cat "$HOOK/ws_bob")"
/usr/bin/python3 - "$HOOK/ws_alice" "$HOOK/ws_bob" "$COMMENT_CID" "$FOLLOW_CID" <<'PY' || fail "websocket messages"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
b = [json.loads(l) for l in open(sys.argv[2]) if l.startswith("{")]
want = {("comment", "bob", sys.argv[3]), ("follow", "bob", sys.argv[4])}
got = {(m["type"], m["from"], m["correlation_id"]) for m in a}
print("ok   websocket: alice got", sorted(got), "; bob got", [(m["type"], m["from"]) for m in b])
sys.exit(0 if got == want and [(m["type"], m["from"]) for m in b] == [("follow", "alice")] else 1)
PY

# ---- feed
req GET "/feed?limit=5" bob; expect 200 "GET /feed" "['posts'][0]['author']=alice"
req GET "/feed?limit=x" bob; expect 400 "GET /feed?limit=x (22P02)"

# ---- delete / restore (soft delete cascades to the comment)
req DELETE "/posts/$POST_ID" bob; expect 403 "DELETE someone else's post"; NOWRITE[$CID]=1
req DELETE "/posts/$POST_ID" alice; expect 204 "DELETE /posts/{id}"; DELETE_CID="$CID"; WRITES[$CID]=alice
[ "$(nova_psql -c "SELECT count(*) FROM comments WHERE post_id = $POST_ID AND deleted_by = 'alice'")" = 1 ] || fail "comment not soft-deleted with the post"
req GET "/posts/$POST_ID" alice; expect 404 "GET a soft-deleted post"
req DELETE "/posts/$POST_ID" alice; expect 404 "DELETE it again"
req POST "/posts/$POST_ID/restore" bob; expect 403 "restore someone else's post"; NOWRITE[$CID]=1
req POST "/posts/$POST_ID/restore" alice; expect 200 "POST /posts/{id}/restore" "['id']=$POST_ID"; WRITES[$CID]=alice
req GET "/posts/$POST_ID" bob; expect 200 "GET the restored post"
req POST "/posts/$POST_ID/restore" alice; expect 409 "restore a post that is not deleted"; NOWRITE[$CID]=1

# ---- rate limit: over 20 requests a second for carol (counted in nova's shared cache,
# so by every replica; here the other replicas' share is put in the counter) → 429
# with Retry-After, and nothing written
nova_psql -c "SELECT nova.cache_incr('svc:rate:carol:' || (floor(extract(epoch FROM clock_timestamp()))::bigint + k), 20, '10 seconds')
              FROM generate_series(0, 5) k" >/dev/null
req POST /posts carol '{"body": "one too many"}'; expect 429 "POST /posts over the rate limit"; NOWRITE[$CID]=1
[ "$(hdr Retry-After)" = 1 ] || fail "429 without Retry-After"
req GET /feed carol; expect 429 "GET /feed over the rate limit"
nova_wait_for 15 "carol's rate-limit windows to pass" bash -c \
  "[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $T_carol' http://127.0.0.1:$PB/feed) = 200 ]" \
  || fail "rate limit did not end"

# ---- webhook behind the shared breaker: forced open, the comment still succeeds and is counted
nova_psql -c "SELECT nova.breaker_force('webhook', 'forced_open')" >/dev/null
calls_before=$(wc -l <"$HOOK/calls")
req POST "/posts/$POST_ID/comments" carol '{"body": "breaker open"}'; expect 201 "comment while the webhook breaker is open"; WRITES[$CID]=carol
[ "$(hdr X-Webhook)" = skipped ] || fail "X-Webhook should be skipped, is $(hdr X-Webhook)"
[ "$(wc -l <"$HOOK/calls")" = "$calls_before" ] || fail "webhook called while the breaker was open"
req GET /readyz -; expect 200 "readyz counts skipped webhooks" "['webhook_skipped']=1"
nova_psql -c "SELECT nova.breaker_force('webhook', 'closed')" >/dev/null

# ---- Kafka: every write's message carries its correlation id and actor; refused requests wrote nothing
nova_relay_wait_drained 60 || fail "outbox not drained"
for t in nova.posts nova.comments nova.follows; do nova_kafka_consume "$t" 30; done >"$HOOK/kafka.jsonl"
printf '%s\n' "${!WRITES[@]}" | while read -r c; do echo "$c ${WRITES[$c]}"; done >"$HOOK/writes"
printf '%s\n' "${!NOWRITE[@]}" >"$HOOK/nowrites"
/usr/bin/python3 - "$HOOK/kafka.jsonl" "$HOOK/writes" "$HOOK/nowrites" "$TP" "$POST_CID" "$DELETE_CID" <<'PY' || fail "kafka messages"
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
hdr = lambda m: {m["headers"][i]: m["headers"][i + 1] for i in range(0, len(m["headers"]), 2)}
by = {}
for m in msgs: by.setdefault(hdr(m).get("correlation-id"), []).append(m)
bad = []
writes = [l.split() for l in open(sys.argv[2]) if l.strip()]
for cid, actor in writes:
    if cid not in by: bad.append("no message for write " + cid); continue
    for m in by[cid]:
        if hdr(m).get("actor") != actor: bad.append("%s: actor %r, expected %r" % (cid, hdr(m).get("actor"), actor))
for cid in (l.strip() for l in open(sys.argv[3]) if l.strip()):
    if cid in by: bad.append("refused request %s wrote %s" % (cid, [hdr(m)["event-type"] for m in by[cid]]))
if [hdr(m).get("traceparent") for m in by.get(sys.argv[5], [])] != [sys.argv[4]]: bad.append("traceparent not forwarded")
types = sorted(hdr(m)["event-type"] for m in by.get(sys.argv[6], []))
if types != ["CommentDeleted", "PostDeleted"]: bad.append("delete events %r" % types)
print("ok   kafka: %d writes found with their actor, %d refused requests wrote nothing" % (len(writes), sum(1 for _ in open(sys.argv[3]))))
for b in bad: print("  problem:", b)
sys.exit(1 if bad else 0)
PY

# ---- one id in the access log (of the process that served it), the server log and Kafka
grep -h "\"correlation_id\":\"$COMMENT_CID\"" "$SVC_DIR"/A.log "$SVC_DIR"/B.log | grep -q '"status":201' || fail "access log lacks $COMMENT_CID"
grep -q "correlation id: $COMMENT_CID" "$LOG" || fail "server log lacks $COMMENT_CID"
grep -q "\"$COMMENT_CID\"" "$HOOK/kafka.jsonl" || fail "kafka lacks $COMMENT_CID"
for s in A B; do grep -q '"status":201' "$SVC_DIR/$s.log" || fail "service $s served no write (requests did not alternate)"; done
! grep -h "$T_alice" "$SVC_DIR"/*.log "$SVC_DIR"/*.err >/dev/null || fail "a token reached the access log"
echo "ok   $COMMENT_CID in access log, server log, Kafka"

# ---- SIGTERM drains: a comment whose webhook takes 1.5 s completes, then the process exits 0
echo 1.5 >"$HOOK/delay"
calls_before=$(wc -l <"$HOOK/calls")
curl -s -o "$HOOK/drain_body" -w '%{http_code}' -X POST -H "Authorization: Bearer $T_bob" -H 'X-Correlation-ID: e2e-drain' \
  --data-binary '{"body": "in flight at shutdown"}' "http://127.0.0.1:$PA/posts/$POST_ID/comments" >"$HOOK/drain_status" &
CURL=$!
nova_wait_for 10 "the request in flight" bash -c "[ \$(wc -l <'$HOOK/calls') -gt $calls_before ]" || fail "no request in flight"
rc=0; svc_stop A || rc=$?
wait "$CURL" || true
[ "$(cat "$HOOK/drain_status")" = 201 ] && echo "ok   in-flight request finished during shutdown" || fail "in-flight request lost at shutdown: $(cat "$HOOK/drain_status")"
[ "$rc" = 0 ] || fail "service A exited with $rc"
curl -s "http://127.0.0.1:$PA/healthz" >/dev/null && fail "service A still answers after SIGTERM"
echo 0 >"$HOOK/delay"

[ "$FAILS" = 0 ] || { echo "$FAILS failure(s); logs in $SVC_DIR"; tail -n 5 "$SVC_DIR"/*.err; exit 1; }
echo "service e2e: all checks passed"
