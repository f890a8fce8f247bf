// Starts GraphiQL against the server that served this page: queries and mutations over
// POST /graphql, subscriptions over the same endpoint's WebSocket (graphql-transport-ws). The
// headers of the Headers tab go with both: on HTTP as headers, on the WebSocket in the
// connection_init payload, where the server reads `Authorization`. Everything comes from this
// server (no CDN), so the page works on a closed network; its Content-Security-Policy allows
// nothing else.
(function () {
  "use strict";
  var socketScheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var fetcher = GraphiQL.createFetcher({
    url: window.location.origin + "/graphql",
    subscriptionUrl: socketScheme + window.location.host + "/graphql",
  });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      // Tokens typed into the Headers tab stay in this tab, not in the browser's storage.
      shouldPersistHeaders: false,
    })
  );
})();
