#!/usr/bin/env bash
# Instructions per HS256 verification in the core verifier alone (no PostgreSQL), counted by
# callgrind over NOVA_BENCH_N (20000) distinct tokens (bench/jwt_core_loop.cpp). Built with the
# extension's optimisation (-O2). Prints the inclusive count per call of nova::jwt::verify and of
# the JSON scan, base64url and HMAC inside it. Instruction counts do not depend on machine load.
#   bash bench/jwt_core_callgrind.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N="${NOVA_BENCH_N:-20000}"
OUT="build/jwt_core_callgrind"
mkdir -p "$OUT"
# shellcheck disable=SC2046
g++ -std=c++17 -O2 -g -fno-omit-frame-pointer -Isrc -I. -o "$OUT/loop" bench/jwt_core_loop.cpp \
    $(ls src/core/*.cpp) $(pkg-config --libs simdjson 2>/dev/null || true) -lssl -lcrypto
rm -f "$OUT"/callgrind.out.*
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out.verify" \
         --toggle-collect='nova::jwt::verify(std::basic_string_view<char, std::char_traits<char> >, nova::jwt::KeySet const&, nova::jwt::VerifyOptions const&)' \
         "$OUT/loop" "$N" 2>"$OUT/valgrind.log"
callgrind_annotate --inclusive=yes "$OUT/callgrind.out.verify" 2>/dev/null >"$OUT/annotate.txt"
total=$(awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}' "$OUT/annotate.txt")
echo "nova::jwt::verify: $(( total / N )) instructions per call ($N calls)"
# Inclusive shares of the main parts (names as callgrind prints them).
for pat in 'nova::jwt_json::scan' 'nova::b64url::decode' 'nova::jwt::primitive::verify' 'simdjson' 'nlohmann::json_abi'; do
  v=$(grep -F "$pat" "$OUT/annotate.txt" | head -1 | awk '{gsub(",", "", $1); print $1}')
  [ -n "$v" ] && echo "  $pat…: $(( v / N )) per call (inclusive, top entry)"
done
echo "full listing: $OUT/annotate.txt"
