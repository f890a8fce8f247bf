// GraphQL over HTTP conformance: runs graphql-http's server audits against a running server.
//
//   node audit_http.mjs URL
//
// Prints one JSON line: { "results": [{ id, name, status, reason? }, ...] }. Exits 0; the Rust
// test (tests/tests/e2e/clients.rs) judges the results.
import { auditServer } from 'graphql-http';

const [url] = process.argv.slice(2);
if (!url) {
  console.error('usage: node audit_http.mjs URL');
  process.exit(2);
}
const results = await auditServer({ url });
console.log(
  JSON.stringify({
    results: results.map((r) => ({
      id: r.id,
      name: r.name,
      status: r.status,
      reason: r.status === 'ok' ? undefined : r.reason,
    })),
  }),
);
