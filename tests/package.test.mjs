// The npm package's entries (web/package.json) export what their TypeScript declarations declare.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { Engine, Session, TextEmbedder } from "./helpers.mjs";

test("the Node ES module entry exports every class of the CommonJS build", async () => {
  const esm = await import("../web/node.mjs");
  const cjs = createRequire(import.meta.url)("../web/pkg/node/edgerec_js.js");
  const classes = Object.keys(cjs).filter((name) => /^[A-Z]/.test(name)).sort();
  assert.deepEqual(classes, ["Engine", "Session", "TextEmbedder"]);
  for (const name of classes) assert.equal(esm[name], cjs[name], name);
  assert.equal(esm.default, cjs);
  assert.deepEqual([Engine, Session, TextEmbedder], [esm.Engine, esm.Session, esm.TextEmbedder]);
});
