// GraphiQL in a real headless Chromium (Debian's, driven by playwright-core), with the network cut
// off: every request that does not go to the server under test is aborted and recorded.
//
//   node graphiql.mjs BASE_URL EDITOR_TOKEN AUDITOR_TOKEN [SCREENSHOT.png]
//
// Through the editor it runs a query, then `me` with the editor's token in the Headers tab, then a
// subscription with the auditor's token while this script registers an organisation, and prints
// one JSON line: what each result pane showed, the requests that tried to leave the server, and the
// browser's console errors (Content-Security-Policy violations among them).
import { chromium } from "playwright-core";

const [base, editorToken, auditorToken, screenshot] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const report = { blocked: [], consoleErrors: [], steps: {} };

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const context = await browser.newContext();
  // The network is cut off: only the server under test answers.
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(base)) {
      return route.continue();
    }
    report.blocked.push(url);
    return route.abort("internetdisconnected");
  });
  const page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error") report.consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => report.consoleErrors.push(String(error)));

  await page.goto(`${base}/graphiql`, { waitUntil: "load" });
  await page.waitForSelector(".graphiql-query-editor .CodeMirror", { timeout: 30000 });

  // The text of the (visible) editor matching `selector`, and a way to set it.
  const editor = (selector) => ({
    set: (text) =>
      page.evaluate(
        ([selector, text]) => {
          const element = [...document.querySelectorAll(selector)].find((e) => e.offsetParent);
          element.CodeMirror.setValue(text);
        },
        [selector, text],
      ),
    get: () =>
      page.evaluate((selector) => {
        const element = [...document.querySelectorAll(selector)].find((e) => e.offsetParent);
        return element ? element.CodeMirror.getValue() : "";
      }, selector),
  });
  const query = editor(".graphiql-query-editor .CodeMirror");
  const result = editor(".graphiql-response .CodeMirror");
  // The Variables and Headers editors share the tool area; the one not shown is `.hidden`.
  const headers = editor(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror");

  // Runs the query editor's document and waits until the result pane shows `expected`.
  // GraphiQL parses the editor's text after a change, and the run button uses that parse
  // (subscriptions go to the WebSocket because of it): give it the moment a person would.
  const setQuery = async (text) => {
    await query.set(text);
    await page.waitForTimeout(500);
  };
  const run = async (text, expected) => {
    await setQuery(text);
    await page.click(".graphiql-execute-button");
    const deadline = Date.now() + 20000;
    for (;;) {
      const shown = await result.get();
      if (shown.includes(expected)) return JSON.parse(shown);
      if (Date.now() > deadline) throw new Error(`the result pane never showed ${expected}: ${shown}`);
      await page.waitForTimeout(50);
    }
  };

  report.steps.query = await run("{ apiVersion projects(first: 1) { totalCount } }", '"apiVersion"');

  // The Headers tab, as the README tells users to use it.
  await page.getByRole("button", { name: "Headers" }).click();
  await headers.set(JSON.stringify({ Authorization: `Bearer ${editorToken}` }));
  report.steps.me = await run("{ me { sub roles } }", '"sub"');

  // A subscription over the WebSocket, with the auditor's token from the Headers tab.
  await headers.set(JSON.stringify({ Authorization: `Bearer ${auditorToken}` }));
  await setQuery("subscription { auditEventAppended { index type } }");
  await page.click(".graphiql-execute-button");
  // The subscription is live once the server has its `subscribe`: register until one shows.
  const deadline = Date.now() + 20000;
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(`${base}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${editorToken}` },
      body: JSON.stringify({
        query: `mutation { registerOrganisation(input: { name: "Seen live ${attempt}", type: GOVERNMENT }) { auditIndex } }`,
      }),
    });
    const appended = (await response.json()).data.registerOrganisation.auditIndex;
    const until = Date.now() + 1000;
    let shown = "";
    while (Date.now() < until) {
      shown = await result.get();
      if (shown.includes('"auditEventAppended"')) break;
      await page.waitForTimeout(50);
    }
    if (shown.includes('"auditEventAppended"')) {
      report.steps.subscription = { shown: JSON.parse(shown), appended };
      break;
    }
    if (Date.now() > deadline) throw new Error(`no event in the result pane: ${shown}`);
  }

  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
} catch (error) {
  report.error = String(error && error.stack ? error.stack : error);
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
