#!/usr/bin/env bash
# JWT verification cost per call inside SQL, against (same run):
#   - a per-call floor: md5() over the same tokens (a cheap built-in on the same text);
#   - HS256: a hand-written pure-SQL verify over pgcrypto's hmac() (bench/pgcrypto_hs256.sql);
#   - RS256 / ES256 / EdDSA: `openssl speed` verify throughput on this machine (+ the floor).
# HS256: NOVA_BENCH_TOKENS (20000) distinct tokens; each round times, inside the server with
# clock_timestamp(),  SELECT count(f(tok)) FROM generate_series(1,L), bench.hs  (L loops, so
# N calls) for md5, nova.jwt_verify and the pgcrypto verify, in an order that alternates from
# round to round (pgcrypto, 20× slower, over the TOKENS calls once); the per-round ratios' median is the figure (the machine is shared: absolute
# times are noisy, ratios measured seconds apart much less so). Asymmetric rows: best of 3 over
# one token. Nothing is cached between calls except the parsed key (nova keeps the last few key
# texts per backend).
#   bash bench/jwt_verify.sh   (NOVA_BENCH_N=200000 HS calls per round, NOVA_BENCH_ROUNDS=7;
#                               asymmetric rows = N/10; NOVA_BENCH_HS_ONLY=1 skips them;
#                               NOVA_BENCH_CLOCK=cpu times the HS256 rounds in backend CPU time)
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$NOVA_REPO"
N="${NOVA_BENCH_N:-200000}"
NA=$(( N / 10 ))
TOKENS="${NOVA_BENCH_TOKENS:-20000}"
ROUNDS="${NOVA_BENCH_ROUNDS:-7}"
CLOCK="${NOVA_BENCH_CLOCK:-wall}"
LOOPS=$(( (N + TOKENS - 1) / TOKENS ))

nova_build >/dev/null
nova_install >/dev/null
nova_test_cluster jwtbench
WORK="$(nova_tmpdir jwtbench-keys)"
NOVA_CLEANUP_DIRS+=("$WORK")

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/ec.pem" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$WORK/ed.pem" 2>/dev/null
for k in rsa ec ed; do openssl pkey -in "$WORK/$k.pem" -pubout -out "$WORK/$k.pub" 2>/dev/null; done

nova_psql -f bench/pgcrypto_hs256.sql >/dev/null
nova_psql -v tokens="$TOKENS" -v clock="$CLOCK" -v rsa="$(cat "$WORK/rsa.pem")" -v rsapub="$(cat "$WORK/rsa.pub")" \
          -v ec="$(cat "$WORK/ec.pem")" -v ecpub="$(cat "$WORK/ec.pub")" \
          -v ed="$(cat "$WORK/ed.pem")" -v edpub="$(cat "$WORK/ed.pub")" <<'SQL'
CREATE TABLE bench.keys (alg text PRIMARY KEY, priv text, pub text);
INSERT INTO bench.keys VALUES ('HS256', 'bench-secret-0123456789abcdef-32b', 'bench-secret-0123456789abcdef-32b'),
  ('RS256', :'rsa', :'rsapub'), ('ES256', :'ec', :'ecpub'), ('EdDSA', :'ed', :'edpub');
CREATE TABLE bench.tok AS
  SELECT alg, pub AS key,
         nova.jwt_sign('{"sub":"user-42","iss":"https://idp.example","aud":"api","iat":1700000000,"exp":4000000000,"roles":["reader","writer"]}',
                       priv, alg) AS tok
  FROM bench.keys;
CREATE FUNCTION bench.t(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; best float8 := 'infinity'; d float8;
BEGIN
  FOR i IN 1..3 LOOP
    t0 := clock_timestamp();
    EXECUTE q;
    d := extract(epoch FROM clock_timestamp() - t0);
    best := least(best, d);
  END LOOP;
  RETURN best;
END $$;
-- HS256: distinct tokens (sub, jti and iat differ), the claims shape of a service's access token.
CREATE TABLE bench.hs AS
  SELECT nova.jwt_sign(jsonb_build_object('sub', 'user-' || i, 'iss', 'https://idp.example', 'aud', 'api',
                                          'iat', 1700000000 + i, 'exp', 4000000000, 'jti', md5(i::text),
                                          'roles', jsonb_build_array('reader', 'writer')),
                       'bench-secret-0123456789abcdef-32b', 'HS256') AS tok,
         'bench-secret-0123456789abcdef-32b'::text AS key
  FROM generate_series(1, :tokens) i;
ANALYZE bench.hs;
-- One timed run: wall clock, or with NOVA_BENCH_CLOCK=cpu the backend's own CPU time
-- (/proc/self/schedstat: time on a CPU, so time spent waiting for one on a loaded machine is left out).
CREATE TABLE bench.clock AS SELECT :'clock'::text AS clock;
CREATE FUNCTION bench.cpu_ns() RETURNS bigint LANGUAGE sql AS
  $$SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint$$;
CREATE FUNCTION bench.t1(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; c0 bigint;
BEGIN
  IF (SELECT clock FROM bench.clock) = 'cpu' THEN
    c0 := bench.cpu_ns();
    EXECUTE q;
    RETURN (bench.cpu_ns() - c0) / 1e9;
  END IF;
  t0 := clock_timestamp();
  EXECUTE q;
  RETURN extract(epoch FROM clock_timestamp() - t0);
END $$;
-- sanity: every path verifies
DO $$
BEGIN
  IF (SELECT count(*) FROM bench.tok WHERE nova.jwt_verify(tok, key) IS NOT NULL) <> 4 THEN RAISE 'nova.jwt_verify failed'; END IF;
  IF (SELECT count(DISTINCT nova.jwt_verify(tok, key)) FROM bench.hs) <> (SELECT count(*) FROM bench.hs) THEN
    RAISE 'nova.jwt_verify failed on the HS256 set';
  END IF;
  IF (SELECT bench.pgcrypto_hs256_verify(tok, key) FROM bench.tok WHERE alg = 'HS256') IS NULL THEN RAISE 'pgcrypto verify failed'; END IF;
  IF (SELECT bench.pgcrypto_hs256_verify(tok || 'x', key) FROM bench.tok WHERE alg = 'HS256') IS NOT NULL THEN RAISE 'pgcrypto verify accepts bad tokens'; END IF;
END $$;
SQL

us() {  # $1 = expression over t.tok / t.key, $2 = alg, $3 = rows → µs per call
  nova_psql -c "SELECT round((bench.t(\$q\$SELECT count($1) FROM generate_series(1,$3), bench.tok t WHERE t.alg = '$2'\$q\$) * 1e6 / $3)::numeric, 3)"
}
hs_us() {  # $1 = expression over h.tok / h.key, $2 = loops (LOOPS) → µs per call, one timed run over loops × TOKENS calls
  local l="${2:-$LOOPS}"
  nova_psql -c "SELECT round((bench.t1(\$q\$SELECT count($1) FROM generate_series(1,$l), bench.hs h\$q\$) * 1e6 / ($l * $TOKENS))::numeric, 3)"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
nova_log "HS256: $ROUNDS interleaved rounds of $(( LOOPS * TOKENS )) calls over $TOKENS distinct tokens"
hs_us "md5(h.tok)" >/dev/null; hs_us "nova.jwt_verify(h.tok, h.key)" >/dev/null  # warm up
r_nova=() r_pgc=() t_floor=() t_nova=() t_pgc=()
for r in $(seq 1 "$ROUNDS"); do
  if (( r % 2 )); then
    f=$(hs_us "md5(h.tok)"); v=$(hs_us "nova.jwt_verify(h.tok, h.key)"); p=$(hs_us "bench.pgcrypto_hs256_verify(h.tok, h.key)" 1)
  else
    p=$(hs_us "bench.pgcrypto_hs256_verify(h.tok, h.key)" 1); v=$(hs_us "nova.jwt_verify(h.tok, h.key)"); f=$(hs_us "md5(h.tok)")
  fi
  t_floor+=("$f") t_nova+=("$v") t_pgc+=("$p")
  r_nova+=("$(awk -v a="$v" -v b="$f" 'BEGIN{printf "%.3f", a/b}')")
  r_pgc+=("$(awk -v a="$p" -v b="$v" 'BEGIN{printf "%.3f", a/b}')")
  nova_log "round $r: md5 $f µs, jwt_verify $v µs (${r_nova[-1]}×), pgcrypto $p µs"
done
floor_hs=$(printf '%s\n' "${t_floor[@]}" | median)
nova_hs=$(printf '%s\n' "${t_nova[@]}" | median)
pgc_hs=$(printf '%s\n' "${t_pgc[@]}" | median)
ratio_hs=$(printf '%s\n' "${r_nova[@]}" | median)
ratio_pgc=$(printf '%s\n' "${r_pgc[@]}" | median)
if [ "${NOVA_BENCH_HS_ONLY:-0}" = 1 ]; then  # HS256 only (quicker, for the HS256 target)
  echo; echo "## JWT verification, µs per call (HS256: medians of $ROUNDS interleaved rounds; $(nproc) cores, shared)"
  echo "## load: $(uptime); HS256 clock: $CLOCK"
  printf '%-34s %10s %s\n' "HS256 nova.jwt_verify" "$nova_hs" "= ${ratio_hs}× the md5 floor (median of per-round ratios: ${r_nova[*]}; target ≤ 2×)"
  printf '%-34s %10s %s\n' "HS256 pure SQL over pgcrypto" "$pgc_hs" "nova is ${ratio_pgc}× faster (median per-round ratio)"
  printf '%-34s %10s\n' "md5(token) floor" "$floor_hs"
  exit 0
fi
nova_log "RS256 / ES256 / EdDSA ($NA calls each)"
declare -A nova_as floor_as
for a in RS256 ES256 EdDSA; do
  floor_as[$a]=$(us "md5(t.tok)" "$a" "$NA")
  nova_as[$a]=$(us "nova.jwt_verify(t.tok, t.key)" "$a" "$NA")
done
nova_log "openssl speed -seconds 3 rsa2048 ecdsap256 ed25519"
speed="$(openssl speed -seconds 3 rsa2048 ecdsap256 ed25519 2>/dev/null)"
ossl_rs=$(awk '/^rsa 2048 bits/ {print 1e6 / $NF}' <<<"$speed")
ossl_es=$(awk '/ecdsa \(nistp256\)/ {print 1e6 / $NF}' <<<"$speed")
ossl_ed=$(awk '/EdDSA \(Ed25519\)/ {print 1e6 / $NF}' <<<"$speed")
declare -A ossl=([RS256]=$ossl_rs [ES256]=$ossl_es [EdDSA]=$ossl_ed)

echo
echo "## JWT verification, µs per call (HS256: medians of $ROUNDS interleaved rounds; others best of 3; $(nproc) cores, shared)"
echo "## load: $(uptime)"
printf '%-34s %10s %s\n' "HS256 nova.jwt_verify" "$nova_hs" "= ${ratio_hs}× the md5 floor (median of per-round ratios: ${r_nova[*]}; target ≤ 2×)"
printf '%-34s %10s %s\n' "HS256 pure SQL over pgcrypto" "$pgc_hs" "nova is ${ratio_pgc}× faster (median per-round ratio)"
printf '%-34s %10s\n' "md5(token) floor" "$floor_hs"
for a in RS256 ES256 EdDSA; do
  printf '%-34s %10s %s\n' "$a nova.jwt_verify" "${nova_as[$a]}" \
    "$(awk -v n="${nova_as[$a]}" -v o="${ossl[$a]}" -v f="${floor_as[$a]}" \
        'BEGIN{printf "openssl speed %.2f + floor %.2f = %.2f; ratio %.2f (target ≤ 1.2)", o, f, o+f, n/(o+f)}')"
done
