// The transformer (a `sasrec` bundle trained on the shipped DIGINETICA sample) through the same
// JS Engine API: retrieval + re-ranking, explanations, `similar`, options, and parity with native.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Engine, Session, bundleBytes, sasrecBundleBytes, nativeSasrecAnswers, funnelBundleBytes, nativePredictions, thrown,
} from "./helpers.mjs";

const engine = new Engine(sasrecBundleBytes());

test("a sasrec bundle loads into the same Engine and says what it is", () => {
  assert.equal(engine.modelKind, "sasrec");
  const m = engine.manifest();
  assert.equal(m.model_kind, "sasrec");
  assert.equal(m.counts.items, engine.itemCount);
  assert.ok(engine.itemCount > 10_000, `the sample's catalog, got ${engine.itemCount}`);
  // V-SKNN over the sample's training sessions, blended with the weight chosen on validation.
  assert.equal(m.counts.sessions, 30_000);
  assert.equal(m.model_params.session_knn.knn.neighbours, 200);
  assert.ok(m.model_params.session_knn.weight > 0, JSON.stringify(m.model_params.session_knn));
  assert.equal(new Engine(bundleBytes()).modelKind, "covisit");
});

test("native and wasm rank 1,000 real test prefixes bit for bit alike", () => {
  const cases = nativeSasrecAnswers();
  assert.equal(cases.length, 1000);
  for (const { request, response } of cases) {
    // The int8 kernels fix every floating-point operation's order (native AVX2, wasm SIMD128):
    // the same items, scores and explanations, to the last bit.
    assert.deepEqual(engine.recommend(request), response, `history ${JSON.stringify(request.history)}`);
  }
});

test("transformer recommendations leave out seen items and explain themselves by similar history items", () => {
  const history = ["21115", "28626", "37747"];
  const answer = engine.recommend({ history, k: 10 });
  assert.equal(answer.items.length, 10);
  for (const item of answer.items) {
    assert.equal(item.source, "model");
    assert.equal(item.explanation.signal, "model");
    assert.ok(!history.includes(item.id));
    assert.ok(item.explanation.because.length <= 3);
    for (const b of item.explanation.because) {
      assert.ok(history.includes(b.id), `${b.id} is a history item`);
      assert.ok(b.contribution > 0 && b.contribution <= 1.000001);
    }
  }
  const scores = answer.items.map((i) => i.score);
  assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
  assert.deepEqual(engine.recommend({ history, k: 10 }), answer, "deterministic");
  const excluded = engine.recommend({ history, k: 10, filters: { exclude: [answer.items[0].id] } });
  assert.ok(!excluded.items.some((i) => i.id === answer.items[0].id));
  assert.equal(excluded.items[0].id, answer.items[1].id);
});

test("an empty or unknown session falls back to popular items", () => {
  const answer = engine.recommend({ history: ["no-such-item"], k: 5 });
  assert.deepEqual(answer.ignored, [{ position: 0, id: "no-such-item", reason: "unknown_item" }]);
  assert.equal(answer.items.length, 5);
  assert.ok(answer.items.every((i) => i.source === "popular"));
  assert.equal(answer.items[0].explanation.popularity_rank, 1);
});

test("a tracked session is ranked by the transformer as it grows", () => {
  const session = new Session();
  assert.ok(engine.recommendSession(session, { k: 3 }).items.every((i) => i.source === "popular"));
  session.track({ id: "21115", type: "view" });
  const first = engine.recommendSession(session, { k: 3 });
  assert.ok(first.items.every((i) => i.source === "model"));
  session.track({ id: first.items[0].id, type: "cart" });
  const second = engine.recommendSession(session, { k: 3 });
  assert.ok(!second.items.some((i) => i.id === first.items[0].id), "the carted item is seen now");
});

test("similar items: nearest by the transformer's item vectors, or co-visited", () => {
  const like = engine.similar({ item: "21115", k: 8 });
  assert.equal(like.item, "21115");
  assert.equal(like.items.length, 8);
  assert.ok(like.items.every((i) => i.source === "model" && i.id !== "21115" && i.score <= 1.000001));
  const scores = like.items.map((i) => i.score);
  assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
  const filtered = engine.similar({ item: "21115", k: 8, filters: { exclude: [like.items[0].id] }, slot: "pdp_similar" });
  assert.equal(filtered.slot, "pdp_similar");
  assert.equal(filtered.items[0].id, like.items[1].id);

  const covisit = new Engine(bundleBytes());
  const neighbours = covisit.similar({ item: "21115", k: 5 });
  assert.ok(neighbours.items.length > 0);
  assert.ok(neighbours.items.every((i) => i.source === "covisit" && i.score > 0));
});

test("similar and options errors name the problem", () => {
  assert.deepEqual(
    { ...thrown(() => engine.similar({ item: "no-such-item" })), message: undefined },
    { code: "unknown_value", field: "item", message: undefined },
  );
  assert.equal(thrown(() => engine.similar({ k: 3 })).field, "item");
  assert.equal(thrown(() => engine.similar({ item: "21115", k: 0 })).field, "k");
  assert.equal(thrown(() => engine.similar({ item: "21115", top: 3 })).code, "unknown_field");
  assert.equal(thrown(() => engine.similar("21115")).code, "invalid_request");
  const bad = thrown(() => new Engine(sasrecBundleBytes(), { compute: "fast" }));
  assert.equal(bad.code, "invalid_options");
  assert.match(bad.message, /compute `fast`/);
});

test("predict needs conversion heads, and says so", () => {
  for (const e of [engine, new Engine(bundleBytes())]) {
    const error = thrown(() => e.predict({ history: ["21115"], items: ["28626"] }));
    assert.equal(error.code, "unsupported_request");
    assert.match(error.message, /conversion heads/);
  }
  assert.equal(thrown(() => engine.predict({ history: ["21115"], items: [] })).field, "items");
  assert.equal(thrown(() => engine.predict({ history: ["21115"] })).field, "items");
});

test("predict with trained conversion heads: wasm answers 300 real Taobao users as native does", () => {
  const funnel = new Engine(funnelBundleBytes());
  const cases = nativePredictions();
  assert.equal(cases.length, 300);
  let scored = 0;
  for (const { request, response } of cases) {
    const wasm = funnel.predict(request);
    // Bit for bit: every probability of every item.
    assert.deepEqual(wasm, response);
    assert.deepEqual(wasm.unknown_items, []);
    for (const p of wasm.predictions) {
      assert.ok(p.click >= p.cart && p.cart >= p.purchase && p.purchase > 0, JSON.stringify(p));
      scored += 1;
    }
  }
  assert.ok(scored > 300, `${scored} predictions`);
});

test("predict reads event types, times and the request time, and names unknown items", () => {
  const funnel = new Engine(funnelBundleBytes());
  const { request } = nativePredictions().find((c) => c.request.events.length >= 2);
  const base = funnel.predict(request).predictions[0];
  const later = { ...request, context: { time: request.context.time + 6 * 3600 * 1000 } };
  assert.notDeepEqual(funnel.predict(later).predictions[0], base, "an hour-later visit is another moment");
  const carted = { ...request, events: request.events.map((e) => ({ ...e, type: "cart" })) };
  assert.notDeepEqual(funnel.predict(carted).predictions[0], base, "carts change the funnel");
  const answer = funnel.predict({ ...request, items: [request.items[0], "no-such-item"] });
  assert.equal(answer.predictions.length, 1);
  assert.deepEqual(answer.unknown_items.map((u) => u.id), ["no-such-item"]);
  const late = thrown(() => funnel.predict({ ...request, context: { time: request.events[0].time - 1 } }));
  assert.equal(late.code, "invalid_field");
  assert.equal(late.field, "events[0].time");
});

test("candle's f32 compute (dequantized) ranks like the default int8 kernels", () => {
  const dequantized = new Engine(sasrecBundleBytes(), { compute: "dequantized" });
  let same = 0;
  let differs = 0;
  const cases = nativeSasrecAnswers().slice(0, 200);
  for (const { request } of cases) {
    const a = engine.recommend(request).items;
    const b = dequantized.recommend(request).items;
    if (a[0].id === b[0].id) same += 1;
    if (a[0].score !== b[0].score) differs += 1;
  }
  assert.ok(same >= 190, `${same} of 200 best items agree`);
  assert.ok(differs > 100, `the f32 path computes other numbers (${differs} of 200 best scores differ)`);
});
