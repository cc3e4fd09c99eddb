// The monitor page in headless Chromium (Debian's, driven by playwright-core): load it, send
// traffic, inject a 5xx burst, watch the breaker open and close again, see a cached replay
// marked as such. Screenshots go to ../target/screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startWorker, startMockProvider } from "./harness.mjs";

const shots = fileURLToPath(new URL("../../target/screenshots/", import.meta.url));
let mock;
let worker;
let browser;
before(async () => {
  mkdirSync(shots, { recursive: true });
  mock = await startMockProvider({ idleMs: 120_000 });
  worker = await startWorker(mock.url, { BREAKER_TIMEOUT_S: "2", MOCK_CONTROL_URL: mock.url }, { listen: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});
after(async () => {
  await browser?.close();
  await worker?.close();
  await mock?.close();
});

test("the monitor shows a breaker open and close, and a cached replay", async () => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${worker.url}/`);
  await page.getByRole("heading", { name: "reliable-orchestrator monitor" }).waitFor();
  await page.getByRole("button", { name: "Send a request" }).click();
  await page.locator('[data-provider="openai"].closed').waitFor({ timeout: 5_000 });

  await page.getByRole("button", { name: "5xx burst (5 s)" }).click();
  await page.getByText("injected: 5xx burst").waitFor();
  await page.getByRole("button", { name: "Send a request" }).click();
  await page.locator('[data-provider="openai"].open').waitFor({ timeout: 5_000 });
  await page.getByText(/fallback quick → fallback/).first().waitFor();
  await page.screenshot({ path: `${shots}monitor-open.png`, fullPage: true });

  // After the burst and the breaker timeout, a probe succeeds and closes it.
  await mock.reset();
  await new Promise((r) => setTimeout(r, 2_200));
  await page.getByRole("button", { name: "Send a request" }).click();
  await page.locator('[data-provider="openai"].closed').waitFor({ timeout: 5_000 });
  await page.getByText(/breaker openai: half_open → closed/).first().waitFor();

  await page.getByRole("button", { name: /Send the keyed request/ }).click();
  await page.getByRole("button", { name: /Send the keyed request/ }).click();
  await page.locator(".cached").first().waitFor({ timeout: 5_000 });
  assert.match(await page.locator("#status").textContent(), /cached/);
  await page.screenshot({ path: `${shots}monitor.png`, fullPage: true });
});
