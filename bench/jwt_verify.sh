#!/usr/bin/env bash
# JWT verification cost per call inside SQL, against (same run):
#   - a per-call floor: md5() over the same token (a cheap built-in on the same text);
#   - HS256: a hand-written pure-SQL verify over pgcrypto's hmac() (bench/pgcrypto_hs256.sql);
#   - RS256 / ES256 / EdDSA: `openssl speed` verify throughput on this machine (+ the floor).
# Each figure is the best of 3 runs of  SELECT count(f(t.tok)) FROM generate_series(1,N), tok t
# timed with clock_timestamp() inside the server. Keys are fresh; nothing is cached between calls
# except the parsed key (nova keeps the last few key texts per backend).
#   bash bench/jwt_verify.sh            (NOVA_BENCH_N=200000 HS rows; asymmetric rows = N/10)
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$NOVA_REPO"
N="${NOVA_BENCH_N:-200000}"
NA=$(( N / 10 ))

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
nova_psql -v rsa="$(cat "$WORK/rsa.pem")" -v rsapub="$(cat "$WORK/rsa.pub")" \
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
-- sanity: every path verifies
DO $$
BEGIN
  IF (SELECT count(*) FROM bench.tok WHERE nova.jwt_verify(tok, key) IS NOT NULL) <> 4 THEN RAISE 'nova.jwt_verify failed'; END IF;
  IF (SELECT bench.pgcrypto_hs256_verify(tok, key) FROM bench.tok WHERE alg = 'HS256') IS NULL THEN RAISE 'pgcrypto verify failed'; END IF;
  IF (SELECT bench.pgcrypto_hs256_verify(tok || 'x', key) FROM bench.tok WHERE alg = 'HS256') IS NOT NULL THEN RAISE 'pgcrypto verify accepts bad tokens'; END IF;
END $$;
SQL

us() {  # $1 = expression over t.tok / t.key, $2 = alg, $3 = rows → µs per call
  nova_psql -c "SELECT round((bench.t(\$q\$SELECT count($1) FROM generate_series(1,$3), bench.tok t WHERE t.alg = '$2'\$q\$) * 1e6 / $3)::numeric, 3)"
}
nova_log "HS256 ($N calls each)"
floor_hs=$(us "md5(t.tok)" HS256 "$N")
nova_hs=$(us "nova.jwt_verify(t.tok, t.key)" HS256 "$N")
pgc_hs=$(us "bench.pgcrypto_hs256_verify(t.tok, t.key)" HS256 "$N")
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
echo "## JWT verification, µs per call (best of 3; $(nproc) cores, shared)"
printf '%-34s %10s %s\n' "HS256 nova.jwt_verify" "$nova_hs" "$(awk -v a="$nova_hs" -v f="$floor_hs" 'BEGIN{printf "= %.2f× the md5 floor (target ≤ 2×)", a/f}')"
printf '%-34s %10s %s\n' "HS256 pure SQL over pgcrypto" "$pgc_hs" "$(awk -v a="$nova_hs" -v p="$pgc_hs" 'BEGIN{printf "nova is %.1f× faster", p/a}')"
printf '%-34s %10s\n' "md5(token) floor" "$floor_hs"
for a in RS256 ES256 EdDSA; do
  printf '%-34s %10s %s\n' "$a nova.jwt_verify" "${nova_as[$a]}" \
    "$(awk -v n="${nova_as[$a]}" -v o="${ossl[$a]}" -v f="${floor_as[$a]}" \
        'BEGIN{printf "openssl speed %.2f + floor %.2f = %.2f; ratio %.2f (target ≤ 1.2)", o, f, o+f, n/(o+f)}')"
done
