// The JS API (wasm-bindgen build of edgerec-js) in Node: answers, errors, and parity with native.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Engine, bundleBytes, nativeAnswers, nativeEventsAnswers, f32, signedBundleBytes, testPublicKey } from "./helpers.mjs";

const engine = new Engine(bundleBytes());

/** A response with every f32 (scores, contributions) as the f32 it is, for exact comparison. */
const exact = (response) => ({
  ...response,
  items: response.items.map((i) => ({
    ...i,
    score: f32(i.score),
    explanation: { ...i.explanation, because: i.explanation.because.map((c) => ({ ...c, contribution: f32(c.contribution) })) },
  })),
});

for (const [name, answers] of [
  ["history", nativeAnswers],
  ["typed events with an exclusion", nativeEventsAnswers],
]) {
  test(`native and wasm give the same top 20 for 1,000 real DIGINETICA test prefixes (${name})`, () => {
    const cases = answers();
    assert.equal(cases.length, 1000);
    let compared = 0;
    let explained = 0;
    for (const { request, response } of cases) {
      const wasm = engine.recommend(request);
      assert.deepEqual(wasm.items.map((i) => i.id), response.items.map((i) => i.id), `session ${JSON.stringify(request)}`);
      // Ids, scores, sources, explanations, ignored items, slot: all of it, bit for bit.
      assert.deepEqual(exact(wasm), exact(response));
      compared += wasm.items.length;
      explained += wasm.items.filter((i) => i.explanation.because.length > 0).length;
    }
    assert.ok(compared >= 19_000, `expected about 20 items per case, compared ${compared}`);
    assert.ok(explained >= 10_000, `expected most items to be explained by history items, got ${explained}`);
  });
}

test("recommendations respect k, leave out seen items and are deterministic", () => {
  const history = ["21115", "28626", "37747", "28626", "33110"];
  const answer = engine.recommend({ history, k: 7 });
  assert.equal(answer.items.length, 7);
  assert.ok(answer.items.every((i) => !history.includes(i.id)));
  assert.deepEqual(engine.recommend({ history, k: 7 }), answer);
  // y is x's strongest co-visit, so x is among y's neighbours: with include_seen, x can come back.
  const x = "21115";
  const y = engine.recommend({ history: [x], k: 1 }).items[0].id;
  const withSeen = engine.recommend({ history: [x, y], k: 50, include_seen: true });
  assert.ok(withSeen.items.some((i) => i.id === x), "re-views come back when asked for");
  assert.ok(!engine.recommend({ history: [x, y], k: 50 }).items.some((i) => i.id === x || i.id === y));
  const scores = withSeen.items.map((i) => i.score);
  assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
});

test("unknown history items are reported, not dropped silently", () => {
  const answer = engine.recommend({ history: ["no-such-item", "21115"], k: 3 });
  assert.deepEqual(answer.ignored, [{ position: 0, id: "no-such-item", reason: "unknown_item" }]);
  assert.equal(answer.items.length, 3);
});

test("the manifest describes the model", () => {
  const m = engine.manifest();
  assert.equal(m.model_kind, "covisit");
  assert.equal(m.counts.items, engine.itemCount);
  assert.ok(m.metrics["P@20"] > 0);
  assert.match(m.payload_sha256, /^[0-9a-f]{64}$/);
});

const bad = (request) => {
  try {
    engine.recommend(request);
  } catch (e) {
    assert.ok(e instanceof Error);
    return { code: e.code, field: e.field, message: e.message };
  }
  assert.fail(`accepted ${JSON.stringify(request)}`);
};

test("bad requests throw Errors with a code and the field at fault", () => {
  assert.deepEqual(bad({ history: [1] }).field, "history[0]");
  assert.equal(bad({ history: "1 2" }).field, "history");
  assert.equal(bad({ history: [], k: "5" }).field, "k");
  const range = bad({ history: [], k: 0 });
  assert.equal(range.field, "k");
  assert.match(range.message, /between 1 and 200/);
  assert.equal(bad({ history: [], k: 201 }).code, "invalid_field");
  assert.deepEqual(bad({ history: [], extra: 1 }), {
    code: "unknown_field",
    field: "extra",
    message:
      "unknown field `extra` in request; expected one of `slot`, `history`, `events`, `k`, `include_seen`, `filters`, `context`",
  });
  assert.equal(bad({ k: 3 }).field, "history");
  assert.equal(bad(null).code, "invalid_request");
  assert.equal(bad({ history: ["x".repeat(70_000)] }).code, "body_too_large");
});

const loadError = (bytes) => {
  try {
    new Engine(bytes);
  } catch (e) {
    return e.code;
  }
  assert.fail("a bad bundle was accepted");
};

test("signed bundles: with a public key only its signature loads; answers are unchanged", () => {
  const signed = signedBundleBytes();
  const key = testPublicKey("test");
  const other = testPublicKey("other");
  const trusted = new Engine(signed, { publicKey: key });
  assert.equal(trusted.signer, key);
  assert.equal(new Engine(signed).signer, key);
  assert.equal(new Engine(bundleBytes()).signer, undefined);
  const request = { history: ["21115", "28626"], k: 10 };
  assert.deepEqual(trusted.recommend(request), new Engine(bundleBytes()).recommend(request));
  const loadWith = (bytes, options) => {
    try {
      new Engine(bytes, options);
    } catch (e) {
      assert.equal(e.name, "EdgerecError");
      return e.code;
    }
    assert.fail("a bundle was accepted");
  };
  assert.equal(loadWith(bundleBytes(), { publicKey: key }), "unsigned_bundle");
  assert.equal(loadWith(signed, { publicKey: other }), "untrusted_signer");
  const forged = signed.slice();
  forged[forged.length - 1] ^= 0x01;
  assert.equal(loadWith(forged, { publicKey: key }), "bad_signature");
  assert.equal(loadWith(forged), "bad_signature");
  assert.equal(loadWith(signed.slice(0, signed.length - 104)), "truncated");
  assert.equal(loadWith(signed, { publicKey: "abc" }), "invalid_key");
  assert.equal(loadWith(signed, { publickey: key }), "invalid_options");
});

test("bad bundles are refused, each with its own error", () => {
  const good = bundleBytes();
  const magic = good.slice();
  magic[0] = 0x50;
  assert.equal(loadError(magic), "bad_magic");
  const version = good.slice();
  version[8] = 9;
  assert.equal(loadError(version), "unsupported_version");
  assert.equal(loadError(good.slice(0, good.length - 1)), "truncated");
  assert.equal(loadError(good.slice(0, 100)), "truncated");
  const flipped = good.slice();
  flipped[good.length - 1000] ^= 0x01;
  assert.equal(loadError(flipped), "checksum_mismatch");
  assert.equal(loadError(new Uint8Array()), "truncated");
});
