#!/usr/bin/env bash
# A/B of two amanah builds on the same data (BENCHMARKS.md §5, "Read plans").
# usage: bench/ab.sh BIN_A BIN_B DATA_DIR [r1|r2|…] [runs]
# Loads DATA_DIR once (amanah-bench load, served by BIN_A; SQLite), then serves it with BIN_A and
# BIN_B in turn and runs the scenario for 10 s on 32 connections against each, alternating, `runs`
# times. Needs the release amanah-bench ($BENCH, default target/release/amanah-bench) and curl.
set -euo pipefail
A=$(readlink -f "$1"); B=$(readlink -f "$2"); DIR=$3; SCENARIO=${4:-r1}; RUNS=${5:-3}
BENCH=${BENCH:-target/release/amanah-bench}
SECRET=amanah-bench-secret-0123456789abcdef0123456789
PORT=${PORT:-18080}
mkdir -p "$DIR"
serve() {
  AMANAH_DATA_DIR="$DIR" AMANAH_LISTEN="127.0.0.1:$PORT" AMANAH_AUTH_HS256_SECRET=$SECRET \
    AMANAH_LOG_FORMAT=json "$1" serve > "$DIR/serve.log" 2>&1 &
  echo $! > "$DIR/serve.pid"
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" > /dev/null && return 0; sleep 0.1; done
  echo "$1 did not become ready"; exit 1
}
stop() {
  kill "$(cat "$DIR/serve.pid")"
  wait "$(cat "$DIR/serve.pid")" 2> /dev/null || true
  sleep 0.5
}
token() { AMANAH_DATA_DIR="$DIR" AMANAH_AUTH_HS256_SECRET=$SECRET "$A" token --sub ab --role admin --ttl 8h; }
if [ ! -f "$DIR/loaded" ]; then
  serve "$A"
  "$BENCH" load --url "http://127.0.0.1:$PORT" --token "$(token)"
  stop
  touch "$DIR/loaded"
fi
TOKEN=$(token)
for run in $(seq "$RUNS"); do
  for bin in "$A" "$B"; do
    serve "$bin"
    echo "== $bin, run $run"
    "$BENCH" run --url "http://127.0.0.1:$PORT" --scenario "$SCENARIO" --token "$TOKEN" \
      --connections 32 --seconds 10 | tail -1
    stop
  done
done
