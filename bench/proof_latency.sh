#!/usr/bin/env bash
# Inclusion-proof latency through GraphQL on SQLite (BENCHMARKS.md, target 2).
#
#   bench/proof_latency.sh DATA_DIR AMANAH_BIN PROOF_LATENCY_BIN [REQUESTS] [PORT]
#
# DATA_DIR holds `amanah.db`, `amanah.db.checkpoints` and `audit-signing.key`, as written by
#   cargo run --release -p amanah-infra --example build_log -- DATA_DIR/amanah.db 1000000
# Starts the real server (`amanah serve`) on that database and data directory, waits for
# /readyz and for the in-memory copy of the tree to hold the whole tree (`/metrics`), mints an
# auditor token with `amanah token`, runs the load driver (infra/examples/proof_latency.rs) without `treeSize`, with a random signed `treeSize`, and the
# `{ __typename }` baseline, three times each, then stops the server it started. The server's own
# log (DATA_DIR/serve.log) records each request's server-side latency.
set -euo pipefail

data_dir=$(realpath "$1")
amanah=$(realpath "$2")
driver=$(realpath "$3")
requests=${4:-5000}
port=${5:-18080}
url="http://127.0.0.1:${port}"

AMANAH_DATABASE_URL="sqlite://${data_dir}/amanah.db" \
AMANAH_DATA_DIR="${data_dir}" \
AMANAH_LISTEN="127.0.0.1:${port}" \
    "${amanah}" serve >"${data_dir}/serve.log" 2>&1 &
server=$!
trap 'kill "${server}" 2>/dev/null || true; wait "${server}" 2>/dev/null || true' EXIT

for _ in $(seq 1 300); do
    if curl -fsS "${url}/readyz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "${server}" 2>/dev/null; then cat "${data_dir}/serve.log"; exit 1; fi
    sleep 0.2
done
curl -fsS "${url}/readyz" >/dev/null
echo "server ${server} ready; latest checkpoint:"
curl -fsS "${url}/audit/checkpoint" | head -3

# The in-memory copy of the tree loads in the background after start: wait until it holds every
# node of the latest checkpoint's tree (Σ size >> level), and report how long that took and the
# server's resident memory then (RssAnon: its own; RssFile: the memory-mapped database's pages).
size=$(curl -fsS "${url}/audit/checkpoint" | sed -n 2p)
nodes=$(python3 -c "n=${size}; print(sum(n >> l for l in range(64)))")
started=$(date +%s.%N)
# With AMANAH_AUDIT_TREE_CACHE_MB=0 in the environment (the server inherits it) there is no copy
# to wait for: every proof reads the database, for comparison.
[ "${AMANAH_AUDIT_TREE_CACHE_MB:-}" = "0" ] && nodes=0
for _ in $(seq 1 600); do
    held=$(curl -fsS "${url}/metrics" | sed -n 's/^amanah_audit_tree_cache_nodes //p')
    [ "${held}" = "${nodes}" ] && break
    sleep 0.1
done
echo "tree copy: ${held} of ${nodes} nodes held $(python3 -c "import time; print(round(time.time() - ${started}, 2))") s after ready; server memory: $(grep -E '^(RssAnon|RssFile)' "/proc/${server}/status" | tr -s ' \t\n' ' ')"

token=$(AMANAH_DATA_DIR="${data_dir}" "${amanah}" token --sub bench --role auditor)

for run in 1 2 3; do
    for mode in "--tree-size none" "--tree-size random" "--baseline"; do
        echo "run ${run}: ${mode}"
        # shellcheck disable=SC2086 # the mode is two words on purpose
        "${driver}" --url "${url}/graphql" --token "${token}" \
            --checkpoints "${data_dir}/amanah.db.checkpoints" \
            --requests "${requests}" --seed "${run}" ${mode}
    done
done
