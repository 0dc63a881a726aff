// Drive the GraphiQL page of a mongoose GraphQL endpoint in Debian's chromium.
//
// Usage: node graphiql_chromium.cjs CHROMIUM URL USER PASSWORD QUERY EXPECTED
//
// Opens URL (with HTTP Basic credentials for the endpoint), waits for
// GraphiQL to render, replaces the editor's text by QUERY through the
// keyboard, presses the run button and waits until the result pane shows
// EXPECTED.  Prints one JSON line: {"editor", "result", "requests",
// "offsite"}, where "offsite" lists requests to any other origin (there must
// be none: the page loads nothing from the network).  Exits 1 on failure
// with a JSON line holding "error".

"use strict";

const { chromium } = require("playwright-core");

async function main() {
  const [executable, url, username, password, query, expected] = process.argv.slice(2);
  const origin = new URL(url).origin;
  const requests = [];
  const offsite = [];
  const problems = [];
  let page = null;
  const browser = await chromium.launch({
    executablePath: executable,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    const context = await browser.newContext({ httpCredentials: { username, password } });
    page = await context.newPage();
    page.on("pageerror", (error) => problems.push("page error: " + error.message));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push("console: " + message.text());
    });
    page.on("request", (request) => {
      const target = request.url();
      requests.push(request.method() + " " + target.slice(origin.length));
      if (!target.startsWith(origin + "/") && !target.startsWith("data:")) offsite.push(target);
    });
    const response = await page.goto(url, { waitUntil: "load", timeout: 10000 });
    if (response.status() !== 200) throw new Error("page answered " + response.status());
    const editor = ".graphiql-query-editor .CodeMirror";
    await page.waitForSelector(editor, { timeout: 10000 });
    await page.click(editor);
    await page.keyboard.press("Control+A");
    await page.keyboard.press("Backspace");
    await page.keyboard.insertText(query);
    const typed = await page.evaluate(
      (selector) => document.querySelector(selector).CodeMirror.getValue(), editor);
    await page.click(".graphiql-execute-button");
    const resultPane = ".result-window .CodeMirror";
    await page.waitForFunction(
      ([selector, text]) => {
        const pane = document.querySelector(selector);
        return pane !== null && pane.CodeMirror.getValue().includes(text);
      },
      [resultPane, expected],
      { timeout: 10000 },
    );
    const result = await page.evaluate(
      (selector) => document.querySelector(selector).CodeMirror.getValue(), resultPane);
    console.log(JSON.stringify({ editor: typed, result, requests, offsite, problems }));
  } catch (error) {
    let pane = null;
    if (page !== null) {
      pane = await page.evaluate(() => {
        const node = document.querySelector(".result-window");
        return node === null ? null : node.textContent;
      }).catch(() => null);
    }
    throw new Error(String(error && error.message || error) + " | result pane: " +
      JSON.stringify(pane) + " | problems: " + JSON.stringify(problems) +
      " | requests: " + JSON.stringify(requests));
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.log(JSON.stringify({ error: String(error && error.stack || error) }));
  process.exit(1);
});
