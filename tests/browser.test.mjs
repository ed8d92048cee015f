// The demo page in headless Chromium: the edge API (workerd) and the on-device engine (wasm in the
// page) answer the same session with the same items, and errors are shown, not swallowed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { Engine, bundleBytes, sasrecBundleBytes, catalogBundleBytes, textEncoderBytes, startWorker } from "./helpers.mjs";

let worker;
let browser;

before(async () => {
  worker = await startWorker(Number(process.env.EDGEREC_BROWSER_TEST_PORT ?? 8798));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
});

after(async () => {
  await browser?.close();
  worker?.stop();
});

/** A fresh page at `path` of the served site, collecting uncaught page errors. */
const open = async (path) => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${worker.base}${path}`);
  return { page, errors };
};

const column = (page, where) => page.$$eval(`#${where}-out tr td:nth-child(2)`, (cells) => cells.map((c) => c.textContent));

test("edge and on-device answers agree with the engine in Node", async () => {
  const { page, errors } = await open("/#run");
  await page.waitForFunction(() => document.querySelectorAll("#edge-out tr").length > 1 && document.querySelectorAll("#device-out tr").length > 1);
  const edge = await column(page, "edge");
  const device = await column(page, "device");
  const history = (await page.inputValue("#history")).split(/\s+/).filter(Boolean);
  const expected = new Engine(bundleBytes()).recommend({ history, k: 10 }).items.map((i) => i.id);
  assert.equal(edge.length, 10);
  assert.deepEqual(edge, expected);
  assert.deepEqual(device, expected);
  assert.match(await page.textContent("#model"), /covisit, \d+ items/);
  // The catalog search: the page's table lists Node's answer for the same query.
  await page.waitForFunction(() => document.querySelectorAll("#search-out tr").length > 1);
  const found = await column(page, "search");
  const shop = new Engine(catalogBundleBytes(), { textEncoder: textEncoderBytes() });
  const query = await page.inputValue("#query");
  assert.deepEqual(found, shop.similar({ text: query, k: 8 }).items.map((i) => i.id));
  const categories = await page.$$eval("#search-out tr td:nth-child(3)", (cells) => cells.map((c) => c.textContent));
  assert.equal(categories[0], "electronics.smartphone");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a bad request shows the engine's error on both sides", async () => {
  const page = await browser.newPage();
  await page.goto(worker.base);
  await page.fill("#k", "0");
  await page.click("#edge");
  await page.click("#device");
  await page.waitForSelector("#edge-out .err");
  await page.waitForSelector("#device-out .err");
  for (const where of ["edge", "device"]) {
    assert.match(await page.textContent(`#${where}-out .err`), /^invalid_field: .*k must be between 1 and 200/);
  }
  await page.close();
});

test("the Web Worker helper runs the engine off the main thread and answers like Node", async () => {
  const { page, errors } = await open("/");
  const history = ["21115", "28626", "37747"];
  const got = await page.evaluate(async (history) => {
    const { createEngineWorker } = await import("/edgerec/worker-client.js");
    const engine = await createEngineWorker({ bundleUrl: "/models/model.bundle" });
    const answer = await engine.recommend({ history, k: 10 });
    await engine.track({ id: history[0] });
    await engine.track({ id: history[1], type: "cart" });
    const tracked = await engine.recommendSession({ k: 10 });
    let error;
    try {
      await engine.recommend({ history, k: 0 });
    } catch (e) {
      error = { isError: e instanceof Error, code: e.code, field: e.field };
    }
    const events = await engine.events();
    engine.terminate();
    return { info: engine.info, answer, tracked, error, events };
  }, history);
  const node = new Engine(bundleBytes());
  assert.deepEqual(got.answer, JSON.parse(JSON.stringify(node.recommend({ history, k: 10 }))));
  const events = [{ id: history[0] }, { id: history[1], type: "cart" }];
  assert.deepEqual(got.tracked, JSON.parse(JSON.stringify(node.recommend({ events, k: 10 }))));
  assert.deepEqual(got.events, [{ id: history[0], type: "view" }, { id: history[1], type: "cart" }]);
  assert.deepEqual(got.error, { isError: true, code: "invalid_field", field: "k" });
  assert.equal(got.info.modelKind, "covisit");
  assert.equal(got.info.itemCount, node.itemCount);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the transformer runs on-device in Chromium, in a Web Worker, exactly as in Node", async () => {
  const { page, errors } = await open("/");
  const history = ["21115", "28626", "37747"];
  const got = await page.evaluate(async (history) => {
    const { createEngineWorker } = await import("/edgerec/worker-client.js");
    const engine = await createEngineWorker({ bundleUrl: "/models/sasrec.bundle", engineOptions: { compute: "quantized" } });
    const answer = await engine.recommend({ history, k: 10 });
    const similar = await engine.similar({ item: history[0], k: 5 });
    let predictError;
    try {
      await engine.predict({ history, items: [history[0]] });
    } catch (e) {
      predictError = e.code;
    }
    engine.terminate();
    return { info: engine.info, answer, similar, predictError };
  }, history);
  const node = new Engine(sasrecBundleBytes());
  // The same wasm in V8 on both sides: bit for bit the same answer.
  assert.deepEqual(got.answer, JSON.parse(JSON.stringify(node.recommend({ history, k: 10 }))));
  assert.deepEqual(got.similar, JSON.parse(JSON.stringify(node.similar({ item: history[0], k: 5 }))));
  assert.ok(got.answer.items.every((i) => i.source === "model"));
  assert.equal(got.predictError, "unsupported_request");
  assert.equal(got.info.modelKind, "sasrec");
  assert.deepEqual(errors, []);
  await page.close();
});

test("semantic search runs on-device in Chromium with the shipped text encoder, as in Node", async () => {
  const { page, errors } = await open("/");
  const query = { text: "headphones", k: 8 };
  const got = await page.evaluate(async (query) => {
    const { createEngineWorker } = await import("/edgerec/worker-client.js");
    const engine = await createEngineWorker({ bundleUrl: "/models/rees46.bundle", textEncoderUrl: "/models/text-encoder.bundle" });
    const similar = await engine.similar(query);
    const embedded = await engine.embed({ texts: [query.text] });
    engine.terminate();
    return { info: engine.info, similar, embedded };
  }, query);
  const node = new Engine(catalogBundleBytes(), { textEncoder: textEncoderBytes() });
  assert.deepEqual([got.info.hasItemText, got.info.hasTextEncoder], [true, true]);
  assert.deepEqual(got.similar, JSON.parse(JSON.stringify(node.similar(query))));
  assert.deepEqual(got.embedded, JSON.parse(JSON.stringify(node.embed({ texts: [query.text] }))));
  assert.ok(got.similar.items.every((i) => i.source === "text"));
  assert.deepEqual(errors, []);
  await page.close();
});
