// The graphql-ws client (graphql-transport-ws protocol) against Amanah's WebSocket endpoint.
//
//   node ws_client.mjs follow URL TOKEN FROM COUNT
//       subscribes to auditEventAppended(fromIndex: FROM) with the token in connectionParams,
//       prints {"indexes": [...]} once COUNT events arrived (in arrival order), and exits 0.
//   node ws_client.mjs refused URL TOKEN
//       connects with the token; prints {"code": N, "reason": "..."} of the close that refuses it.
//
// Any other outcome prints {"error": "..."} and exits 1. The Rust e2e test
// (tests/tests/e2e/clients.rs) starts the server and judges the output.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [mode, url, token, ...rest] = process.argv.slice(2);

function fail(error) {
  console.log(JSON.stringify({ error: String(error?.reason ?? error?.message ?? error) }));
  process.exit(1);
}

setTimeout(() => fail('timed out'), 20_000).unref();

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  lazy: mode === 'follow',
  retryAttempts: 0,
  onNonLazyError: () => {},
  on: {
    closed: (event) => {
      if (mode === 'refused') {
        console.log(JSON.stringify({ code: event.code, reason: event.reason }));
        process.exit(0);
      }
    },
  },
});

if (mode === 'follow') {
  const [from, count] = rest.map(Number);
  const indexes = [];
  client.subscribe(
    {
      query:
        'subscription($from: Int) { auditEventAppended(fromIndex: $from) { index type leafHash } }',
      variables: { from },
    },
    {
      next: (result) => {
        if (result.errors) fail(JSON.stringify(result.errors));
        indexes.push(result.data.auditEventAppended.index);
        if (indexes.length === count) {
          console.log(JSON.stringify({ indexes }));
          client.dispose();
          process.exit(0);
        }
      },
      error: fail,
      complete: () => fail(`completed after ${indexes.length} events`),
    },
  );
} else if (mode !== 'refused') {
  fail(`unknown mode ${mode}`);
}
