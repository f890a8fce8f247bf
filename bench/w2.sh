#!/usr/bin/env bash
# W2 and W1 side by side with the same driver (wrk), on one server per engine (BENCHMARKS.md §5).
# usage: bench/w2.sh AMANAH_BIN [connections] [seconds] [runs]
#
# W1 is `registerOrganisation`, as the reviewers' w1.sh sends it; W2 is `planActivity` and
# `recordTransaction` in turn on projects of each wrk thread's own, each transaction with the
# project's `expectedVersion` as the last answer gave it (a project comes round again only after
# three hundred other requests of its thread, long after its last answer). Both through wrk, so that
# neither pays for a heavier client than the other on the machine's shared cores. Each server is
# loaded first with `amanah-bench load --orgs 100 --projects 300 --activities 5`.
# Needs: PostgreSQL on 127.0.0.1:5432 (user postgres, trust), wrk, curl, python3, and the release
# amanah-bench ($BENCH, default target/release/amanah-bench).
set -euo pipefail
BIN=$(readlink -f "$1"); C=${2:-64}; SECS=${3:-10}; RUNS=${4:-3}
BENCH=${BENCH:-target/release/amanah-bench}
SECRET=amanah-bench-secret-0123456789abcdef0123456789
PG=postgres://postgres@127.0.0.1:5432
W=$(mktemp -d /tmp/w2.XXXX); echo "work dir $W"
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS amanah_w2" -c "CREATE DATABASE amanah_w2"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
TOKEN=$(AMANAH_AUTH_HS256_SECRET=$SECRET AMANAH_DATA_DIR="$W/token" "$BIN" token --sub w2 --role admin --ttl 8h)
start() { # name database-url port
  mkdir -p "$W/$1"
  AMANAH_DATA_DIR="$W/$1" AMANAH_LISTEN=127.0.0.1:$3 AMANAH_AUTH_HS256_SECRET=$SECRET \
    AMANAH_DATABASE_URL="$2" "$BIN" serve > "$W/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$3/readyz" > /dev/null && break; sleep 0.2; done
  "$BENCH" load --url "http://127.0.0.1:$3" --token "$TOKEN" --orgs 100 --projects 300 \
    --activities 5 > "$W/$1.load"
}
projects() { # port: each project with its version now and an organisation that takes part in
  # it, as a Lua table (read before each W2 run: the last run moved the versions on)
  python3 - "http://127.0.0.1:$1/graphql" "$TOKEN" <<'PY'
import json, sys, urllib.request
url, token = sys.argv[1], sys.argv[2]
query = """query($after: String) { projects(first: 100, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { id version participatingOrganisations { organisation { id } } } } } }"""
rows, after = [], None
while True:
    body = json.dumps({"query": query, "variables": {"after": after}}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json",
        "Accept": "application/json", "Authorization": "Bearer " + token})
    page = json.load(urllib.request.urlopen(request))["data"]["projects"]
    for edge in page["edges"]:
        node = edge["node"]
        org = node["participatingOrganisations"][-1]["organisation"]["id"]
        rows.append('{"%s","%s",%d}' % (node["id"], org, node["version"]))
    if not page["pageInfo"]["hasNextPage"]:
        break
    after = page["pageInfo"]["endCursor"]
print("projects = {" + ",\n".join(rows) + "}")
PY
}
start pg "$PG/amanah_w2" 18093
start sqlite "sqlite://$W/sqlite/amanah.db?mode=rwc" 18094
lua() { # port
  projects "$1"
  cat <<LUA
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("tid", threads) end
local n, own, versions, countries = 0, nil, {}, {"ID", "MY", "TH", "PH", "VN", "SG", "KH", "LA", "MM", "BN"}
init = function(args)
  own = {}
  for i, p in ipairs(projects) do
    if i % 2 == tid - 1 then own[#own + 1] = p; versions[p[1]] = p[3] end
  end
end
request = function()
  n = n + 1
  -- The transaction on a project half the list away from the activity's, so that the two in
  -- flight together do not touch the same project (a planned activity reads its project).
  local k = math.floor(n / 2)
  local p = own[((n % 2 == 0) and k or (k + math.floor(#own / 2))) % #own + 1]
  local body
  if n % 2 == 0 then
    body = '{"query":"mutation(\$i: PlanActivityInput!){ planActivity(input:\$i){ activity { id } } }","variables":{"i":{"projectId":"' .. p[1] .. '","title":"Workshop ' .. tid .. '-' .. n .. '","description":"Integrity workshop.","kind":"WORKSHOP","uncacChapters":["PREVENTION"],"partners":[{"organisationId":"' .. p[2] .. '","role":"ORGANISER"}],"location":{"country":"' .. countries[(n % 10) + 1] .. '","city":"Jakarta"},"plannedStart":"2026-06-01","plannedEnd":"2026-06-02"}}}'
  else
    body = '{"query":"mutation(\$i: RecordTransactionInput!){ recordTransaction(input:\$i){ project { id version } } }","variables":{"i":{"projectId":"' .. p[1] .. '","expectedVersion":' .. versions[p[1]] .. ',"type":"DISBURSEMENT","date":"2026-07-01","valueDate":"2026-07-01","value":{"minorUnits":"100000","currency":"EUR"}}}}'
  end
  return wrk.format("POST", "/graphql", {["Content-Type"]="application/json", ["Accept"]="application/json", ["Authorization"]="Bearer $TOKEN"}, body)
end
response = function(status, headers, body)
  local id, version = string.match(body, '"project":{"id":"([^"]+)","version":(%d+)')
  if id then versions[id] = tonumber(version) end
  if status ~= 200 or string.find(body, '"errors"') then io.stderr:write(status .. " " .. string.sub(body, 1, 200) .. "\n") end
end
LUA
}
cat > "$W/w1.lua" <<LUA
local n, tid, threads = 0, 0, 0
setup = function(thread) threads = threads + 1; thread:set("tid", threads) end
request = function()
  n = n + 1
  local body = '{"query":"mutation(\$i: RegisterOrganisationInput!){ registerOrganisation(input:\$i){ auditIndex } }","variables":{"i":{"name":"W1 Institution ' .. tid .. '-' .. n .. '-' .. math.random(1e9) .. '","type":"GOVERNMENT"}}}'
  return wrk.format("POST", "/graphql", {["Content-Type"]="application/json", ["Accept"]="application/json", ["Authorization"]="Bearer $TOKEN"}, body)
end
response = function(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"') then io.stderr:write(status .. " " .. string.sub(body, 1, 200) .. "\n") end
end
LUA
for r in $(seq "$RUNS"); do
  for t in "pg 18093" "sqlite 18094"; do
    set -- $t
    for scenario in w2 w1; do
      script="$W/$scenario.lua"
      if [ "$scenario" = w2 ]; then script="$W/w2.$1.lua"; lua "$2" > "$script"; fi
      out=$(wrk -t2 -c"$C" -d"${SECS}s" --latency -s "$script" "http://127.0.0.1:$2/graphql" 2> "$W/err.$1.$scenario.$r")
      echo "run $r $1 $scenario: $(awk '/Requests\/sec/{print $2}' <<< "$out") req/s p50 $(awk '$1=="50%"{print $2}' <<< "$out") p99 $(awk '$1=="99%"{print $2}' <<< "$out") errors $(wc -l < "$W/err.$1.$scenario.$r")"
    done
  done
done
