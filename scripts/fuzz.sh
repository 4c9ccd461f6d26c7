#!/usr/bin/env bash
# Builds the libFuzzer JWT harness (clang-14, ASan + UBSan) into build-fuzz/
# and runs it for $FUZZ_SECONDS (default 60). Exits non-zero on a finding;
# crash inputs are left in build-fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
JOBS="${FUZZ_JOBS:-1}"
OUT=build-fuzz
mkdir -p "$OUT/corpus" "$OUT/findings"

clang++-14 -std=c++17 -g -O1 -Wall -Wextra -Werror \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Iinclude fuzz/jwt_fuzzer.cpp src/core/base64url.cpp src/core/json.cpp src/core/uuid.cpp \
  src/core/jwk_*.cpp src/core/jwt.cpp -lcrypto -o "$OUT/jwt_fuzzer"

# Seeds from fuzz/corpus, new inputs into build-fuzz/corpus (not committed).
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
parallel=()
if [ "$JOBS" -gt 1 ]; then parallel=(-jobs="$JOBS" -workers="$JOBS"); fi
status=0
"$OUT/jwt_fuzzer" "$OUT/corpus" fuzz/corpus "${parallel[@]}" \
  -max_total_time="$FUZZ_SECONDS" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$OUT/findings/" -print_final_stats=1 \
  || status=$?
if [ "$status" -ne 0 ] || [ -n "$(ls -A "$OUT/findings")" ]; then
  echo "fuzz: FINDING (exit $status); see $OUT/findings/" >&2
  exit 1
fi
echo "fuzz: no findings in ${FUZZ_SECONDS}s"
