// Open the page of an XMPP client in Debian's chromium and wait until it is done.
//
// Usage: node browser_clients.cjs CHROMIUM PAGE_URL
//
// PAGE_URL is browser/clients.html served by the test, with the client's
// parameters in its query string (see browser/clients.js).  Waits until the
// page sets window.xmppDone, then prints one JSON line: {"events", "requests",
// "problems"}, where "requests" lists every request the page made (method and
// URL) and "problems" the page errors and console errors.  Exits 1 with a
// JSON line holding "error" when the page never finishes.

"use strict";

const { chromium } = require("playwright-core");

async function main() {
  const [executable, url] = process.argv.slice(2);
  const requests = [];
  const problems = [];
  let page = null;
  const browser = await chromium.launch({
    executablePath: executable,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    page = await browser.newPage();
    page.on("pageerror", (error) => problems.push("page error: " + error.message));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push("console: " + message.text());
    });
    page.on("request", (request) => requests.push(request.method() + " " + request.url()));
    page.on("websocket", (socket) => requests.push("WEBSOCKET " + socket.url()));
    const response = await page.goto(url, { waitUntil: "load", timeout: 10000 });
    if (response.status() !== 200) throw new Error("page answered " + response.status());
    await page.waitForFunction(() => window.xmppDone === true, null, { timeout: 20000 });
    const events = await page.evaluate(() => window.xmppEvents);
    console.log(JSON.stringify({ events, requests, problems }));
  } catch (error) {
    let events = null;
    if (page !== null) events = await page.evaluate(() => window.xmppEvents).catch(() => null);
    throw new Error(String(error && error.message || error) + " | events: " +
      JSON.stringify(events) + " | problems: " + JSON.stringify(problems) +
      " | requests: " + JSON.stringify(requests));
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.log(JSON.stringify({ error: String(error && error.stack || error) }));
  process.exit(1);
});
