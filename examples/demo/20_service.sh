#!/usr/bin/env bash
# HTTP in, Kafka out: two nova-service processes, curl requests and a WebSocket client
# Sourced by tools/demo.sh (PG env set, examples/nova_schema.sql loaded, tokens from 15_auth.sh).
# Users sign up elsewhere (an identity service); here they are inserted directly.
# Every request below is one transaction in the service: its correlation id and
# the token's subject end up in the Kafka headers that 90_consume.sh prints.
source "$NOVA_REPO/examples/service/service.sh"
svc_build
svc_setup_role nova_svc
nova_psql >/dev/null <<'SQL'
INSERT INTO users (username, display_name, email, password_hash) VALUES
  ('alice', 'Alice', 'alice@example.com', 'argon2id$...'),
  ('bob',   'Bob',   'bob@example.com',   'argon2id$...'),
  ('carol', 'Carol', 'carol@example.com', 'argon2id$...');
SQL
demo_port_a="$(nova_free_port)"; demo_port_b="$(nova_free_port)"
while [ "$demo_port_b" = "$demo_port_a" ]; do demo_port_b="$(nova_free_port)"; done
svc_start demo-a "$demo_port_a" --db "$(svc_conninfo nova)" --pool 2
svc_start demo-b "$demo_port_b" --db "$(svc_conninfo nova)" --pool 2
echo "   nova-service on :$demo_port_a and :$demo_port_b (same database, no shared state between them)"

# alice's browser: a WebSocket on service B
"$SVC_WS" "127.0.0.1:$demo_port_b" /ws --token "$NOVA_DEMO_TOKEN_alice" --count 3 --seconds 30 >"$SVC_DIR/ws_alice" &
demo_ws=$!
nova_wait_for 10 "alice's websocket" grep -q connected "$SVC_DIR/ws_alice" || true

demo_http() {  # demo_http REQUEST_ID USER|- PORT METHOD PATH [JSON]
  local id="$1" user="$2" port="$3" method="$4" path="$5" body="${6:-}" var="NOVA_DEMO_TOKEN_$2"
  local args=(-s -X "$method" -H "X-Correlation-ID: $id" -w '\n   → HTTP %{http_code}\n')
  [ "$user" != - ] && args+=(-H "Authorization: Bearer ${!var:-not.a.token}")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  echo
  echo "── $id: $method $path  [as $user, via :$port]"
  curl "${args[@]}" "http://127.0.0.1:$port$path" | sed 's/^{/   {/'
}
demo_http req-0001 bob   "$demo_port_a" POST /users/alice/follow
demo_http req-0002 carol "$demo_port_b" POST /users/alice/follow
demo_http req-0003 alice "$demo_port_a" POST /posts '{"body": "Hello, Nova! This post entered over HTTP and leaves through Kafka."}'
demo_post="$(nova_psql -c "SELECT max(id) FROM posts")"
demo_http req-0004 bob   "$demo_port_b" POST "/posts/$demo_post/comments" '{"body": "Welcome!"}'
demo_http req-0005 bob   "$demo_port_a" GET "/feed?limit=5"
demo_http req-0006 bob   "$demo_port_b" DELETE "/posts/$demo_post"
demo_http req-0007 alice "$demo_port_a" DELETE "/posts/$demo_post"
demo_http req-0008 carol "$demo_port_b" GET "/posts/$demo_post"
demo_http req-0009 alice "$demo_port_a" POST "/posts/$demo_post/restore"
demo_http req-0010 -     "$demo_port_b" POST /posts '{"body": "no token"}'
demo_http req-0011 mallory "$demo_port_a" POST /posts '{"body": "forged token"}'

echo
echo "── what alice's WebSocket (on the other process) received:"
wait "$demo_ws" || true
sed 's/^/   /' "$SVC_DIR/ws_alice"
echo
echo "── the services' access logs (one JSON line per request, the same ids):"
cat "$SVC_DIR"/demo-a.log "$SVC_DIR"/demo-b.log | grep '"req-' | sort | sed 's/^/   /'
unset demo_port_a demo_port_b demo_post demo_ws
