// Text at the edge through the JS API: `embed`, `similar` by text (semantic search over the
// REES46 sample's catalog texts), text candidates in `recommend`, and their errors. The encoder is
// the shipped 2-layer MiniLM (data/models); the item vectors were embedded by the native trainer.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Engine, TextEmbedder, catalogBundleBytes, textEncoderBytes, nativeEmbeddings, bundleBytes,
  sasrecBundleBytes, thrown,
} from "./helpers.mjs";

const engine = new Engine(catalogBundleBytes(), { textEncoder: textEncoderBytes() });

test("an engine with item texts and their encoder says so", () => {
  assert.equal(engine.hasItemText, true);
  assert.equal(engine.hasTextEncoder, true);
  const plain = new Engine(catalogBundleBytes());
  assert.equal(plain.hasItemText, true);
  assert.equal(plain.hasTextEncoder, false);
  assert.equal(new Engine(bundleBytes()).hasItemText, false);
});

test("embed in wasm gives the native trainer's vectors bit for bit, for real catalog texts", () => {
  const cases = nativeEmbeddings();
  assert.ok(cases.length > 500, `${cases.length} texts`);
  // The first 8 of every 64 (72 of 545, short and long), one text per call as the native file
  // was made (a batch is padded to its longest text).
  for (const { text, vector } of cases.filter((_, i) => i % 64 < 8)) {
    assert.deepEqual(engine.embed({ texts: [text] }).vectors[0], vector, text);
  }
  const { dimension, vectors } = engine.embed({ texts: ["red summer dress", ""] });
  assert.equal(dimension, 384);
  assert.equal(vectors.length, 2);
  for (const v of vectors) {
    assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5, "unit length");
  }
  // The standalone TextEmbedder is the same encoder and code.
  const alone = new TextEmbedder(textEncoderBytes());
  assert.deepEqual(Array.from(alone.embed("red summer dress")), vectors[0]);
});

test("similar by text finds the catalog items the words describe", () => {
  // The shipped encoder has 2 of MiniLM's 6 layers: plain product words work (a "washing machine"
  // finds washers, after a sewing machine).
  for (const [query, category] of [
    ["samsung smartphone", "electronics.smartphone"],
    ["headphones", "electronics.audio.headphone"],
    ["refrigerator", "appliances.kitchen.refrigerators"],
  ]) {
    const answer = engine.similar({ text: query, k: 5 });
    assert.equal(answer.text, query);
    assert.equal(answer.items.length, 5, query);
    assert.ok(answer.items.every((i) => i.source === "text" && i.score > 0 && i.score <= 1.0001));
    const scores = answer.items.map((i) => i.score);
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
    const top = engine.item(answer.items[0].id);
    assert.equal(top.category, category, `${query}: ${JSON.stringify(top)}`);
  }
  const washers = engine.similar({ text: "washing machine", k: 5 }).items.map((i) => engine.item(i.id).category);
  assert.ok(washers.filter((c) => c === "appliances.kitchen.washer").length >= 3, washers.join());
  // Filters apply: only items under a price.
  const cheap = engine.similar({ text: "samsung smartphone", k: 5, filters: { price: { max: 150 } } });
  assert.ok(cheap.items.every((i) => engine.item(i.id).price <= 150));
});

test("recommend fills with items of similar text after the co-visited ones, and explains them", () => {
  let sessions = 0;
  for (const id of engine.similar({ text: "samsung smartphone", k: 40 }).items.map((i) => i.id)) {
    const answer = engine.recommend({ history: [id], k: 20 });
    const sources = answer.items.map((i) => i.source);
    const firstText = sources.indexOf("text");
    if (firstText < 0) continue;
    sessions += 1;
    // Co-visited first, then text, then popular.
    assert.ok(sources.slice(0, firstText).every((s) => s === "covisit"), sources.join());
    assert.ok(sources.slice(firstText).every((s) => s === "text" || s === "popular"), sources.join());
    for (const item of answer.items.filter((i) => i.source === "text")) {
      assert.equal(item.explanation.signal, "text");
      assert.deepEqual(item.explanation.because.map((b) => b.id), [id]);
      assert.ok(item.explanation.because[0].contribution > 0);
    }
  }
  assert.ok(sessions > 5, `${sessions} sessions got text candidates`);
});

test("text requests name what is missing or wrong", () => {
  const plain = new Engine(catalogBundleBytes());
  for (const call of [() => plain.embed({ texts: ["x"] }), () => plain.similar({ text: "x" })]) {
    const e = thrown(call);
    assert.equal(e.code, "unsupported_request");
    assert.match(e.message, /text encoder/);
  }
  const noText = thrown(() => new Engine(bundleBytes()).similar({ text: "x" }));
  assert.equal(noText.code, "unsupported_request");
  assert.match(noText.message, /item text vectors/);
  assert.equal(thrown(() => engine.embed({ texts: [] })).field, "texts");
  assert.equal(thrown(() => engine.embed({ texts: ["ok", 5] })).field, "texts[1]");
  assert.equal(thrown(() => engine.embed({ texts: ["x".repeat(5000)] })).field, "texts[0]");
  assert.equal(thrown(() => engine.similar({ text: "x", item: "1" })).field, "text");
  assert.equal(thrown(() => engine.similar({ k: 3 })).field, "item");
  const wrongType = thrown(() => new Engine(catalogBundleBytes(), { textEncoder: "bytes" }));
  assert.deepEqual([wrongType.code, wrongType.field], ["invalid_options", "textEncoder"]);
  // Not a text encoder at all, or a corrupt one: the bundle error, naming the option.
  const notEncoder = thrown(() => new Engine(catalogBundleBytes(), { textEncoder: sasrecBundleBytes() }));
  assert.equal(notEncoder.field, "textEncoder");
  assert.match(notEncoder.message, /textEncoder/);
  const corrupt = textEncoderBytes();
  corrupt[corrupt.length - 100] ^= 1;
  assert.equal(thrown(() => new Engine(catalogBundleBytes(), { textEncoder: corrupt })).code, "checksum_mismatch");
});
