// The browser example in headless Chromium: the orchestrator runs in the page against the mock
// provider, a keyed request is replayed from IndexedDB (also after a reload), and a 5xx burst
// opens the breaker. Screenshot: target/screenshots/browser-example.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const root = process.env.RO_ROOT;
const { serveExample } = await import(`${root}/examples/browser/serve.mjs`);

test("the browser example runs the orchestrator in the page, replays from IndexedDB, shows the breaker", async () => {
  mkdirSync(`${root}/target/screenshots`, { recursive: true });
  const example = await serveExample();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${example.url}/`);
    await page.getByText("ready").waitFor();
    await page.getByRole("button", { name: "Ask", exact: true }).click();
    await page.getByText(/answered by gpt/).waitFor();
    await page.getByRole("button", { name: /Ask with key/ }).click();
    await page.getByText(/answered by gpt$/).waitFor();
    await page.getByRole("button", { name: /Ask with key/ }).click();
    await page.getByText(/answered by gpt, cached/).waitFor();
    await page.reload();
    await page.getByText("ready").waitFor();
    await page.getByRole("button", { name: /Ask with key/ }).click();
    await page.getByText(/answered by gpt, cached/).waitFor();
    await page.locator(".cached").first().waitFor();

    // Streaming in the page: tokens arrive, then a cut mid-way is reported with the partial text.
    await page.getByRole("button", { name: "Stream the answer" }).click();
    await page.getByText(/^streamed by gpt$/).waitFor();
    assert.equal(await page.locator("#streamed").textContent(), "Answer to: What is a circuit breaker?");
    await page.getByRole("button", { name: /connection cut/ }).click();
    await page.getByText(/^stream interrupted: cut, kept “Answer/).waitFor();
    assert.ok((await page.locator("#streamed").textContent()).length > 0);

    await page.getByRole("button", { name: /Inject a 5xx burst/ }).click();
    await page.getByText("injected: 5xx burst for 5 s").waitFor();
    await page.getByRole("button", { name: "Ask", exact: true }).click();
    await page.getByText(/answered by claude/).waitFor({ timeout: 10_000 });
    await page.locator('[data-provider="openai"].open').waitFor();
    await page.screenshot({ path: `${root}/target/screenshots/browser-example.png`, fullPage: true });
    assert.deepEqual(errors, []);
    assert.equal(example.mock.log().filter((c) => c.format === "openai" && c.status === 200 && !c.stream).length, 2, "the replays called nothing");
  } finally {
    await browser.close();
    await example.close();
  }
});
