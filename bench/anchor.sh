#!/usr/bin/env bash
# The read anchor: PostGraphile 5 serving a copy of Amanah's PostgreSQL read model, with the
# foreign keys PostGraphile needs to offer the same nesting (projects → participants →
# organisations, projects → activities → partners, and a project's budgets, transactions,
# documents, sectors and countries).
#   bench/anchor.sh AMANAH_DATABASE_URL PORT
# Needs: pg_dump, psql, Node >= 20, npm. PostGraphile is installed once into $ANCHORS (default
# /tmp/amanah-anchors/postgraphile). amanah-bench compare starts it and stops it.
set -euo pipefail
SOURCE=$1; PORT=$2
ANCHORS=${ANCHORS:-/tmp/amanah-anchors/postgraphile}
if [ ! -x "$ANCHORS/node_modules/.bin/postgraphile" ]; then
  mkdir -p "$ANCHORS" && (cd "$ANCHORS" && npm install --no-audit --no-fund --loglevel=error postgraphile@5 >/dev/null)
fi
# PostGraphile 5 calls Promise.withResolvers (Node 22); on Node 20 this polyfill is preloaded.
cat > "$ANCHORS/polyfill.cjs" <<'JS'
if (!Promise.withResolvers) { Promise.withResolvers = function () { let resolve, reject; const promise = new Promise((a, b) => { resolve = a; reject = b; }); return { promise, resolve, reject }; }; }
JS
SERVER=${SOURCE%/*}; ANCHOR=${SOURCE##*/}_anchor
psql -q "$SERVER/postgres" -c "DROP DATABASE IF EXISTS $ANCHOR" -c "CREATE DATABASE $ANCHOR"
pg_dump "$SOURCE" -t organisations -t projects -t project_participants -t project_countries \
  -t project_sectors -t project_budgets -t project_transactions -t project_documents \
  -t activities -t activity_partners | psql -q "$SERVER/$ANCHOR" >/dev/null
psql -q "$SERVER/$ANCHOR" \
  -c "ALTER TABLE project_participants ADD FOREIGN KEY (project_id) REFERENCES projects(id)" \
  -c "ALTER TABLE project_participants ADD FOREIGN KEY (organisation_id) REFERENCES organisations(id)" \
  -c "ALTER TABLE project_countries ADD FOREIGN KEY (project_id) REFERENCES projects(id)" \
  -c "ALTER TABLE project_sectors ADD FOREIGN KEY (project_id) REFERENCES projects(id)" \
  -c "ALTER TABLE project_budgets ADD FOREIGN KEY (project_id) REFERENCES projects(id)" \
  -c "ALTER TABLE project_transactions ADD FOREIGN KEY (project_id) REFERENCES projects(id)" \
  -c "ALTER TABLE project_documents ADD FOREIGN KEY (project_id) REFERENCES projects(id)" \
  -c "ALTER TABLE activities ADD FOREIGN KEY (project_id) REFERENCES projects(id)" \
  -c "ALTER TABLE activity_partners ADD FOREIGN KEY (activity_id) REFERENCES activities(id)" \
  -c "ALTER TABLE activity_partners ADD FOREIGN KEY (organisation_id) REFERENCES organisations(id)" \
  -c "CREATE INDEX ON project_participants(project_id)" -c "CREATE INDEX ON activity_partners(activity_id)" \
  -c "VACUUM ANALYZE"
cd "$ANCHORS"
NODE_ENV=production NODE_OPTIONS="--require $ANCHORS/polyfill.cjs" \
  exec node node_modules/.bin/postgraphile --preset postgraphile/presets/amber -c "$SERVER/$ANCHOR" -s public -p "$PORT"
