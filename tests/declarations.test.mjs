// The hand-written TypeScript declarations (wasm/js/src/lib.rs, as wasm-pack writes them to
// build/pkg/*/edgerec_js.d.ts) against the Rust they describe: every serde enum's values and every
// error code the engine can throw appear in the declared unions, and nothing else does. `make types`
// checks the declarations' use (tests/types/usage.ts); this checks them against the source, so a
// variant added in Rust fails here until the declarations say it too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { root } from "./helpers.mjs";

const declarations = readFileSync(path.join(root, "build/pkg/node/edgerec_js.d.ts"), "utf8");

/** Every .rs file under a folder, recursively (the engine's modules may move; their text may not hide). */
function rustSources(dir) {
  return readdirSync(path.join(root, dir), { recursive: true })
    .filter((f) => f.endsWith(".rs"))
    .map((f) => ({ file: path.join(dir, f), text: readFileSync(path.join(root, dir, f), "utf8") }));
}
const engine = rustSources("wasm/src");
const bindings = rustSources("wasm/js/src");

/** The string literals of a declared union type, e.g. `export type Source = "a" | "b";`. */
function declaredUnion(name) {
  const match = declarations.match(new RegExp(`export type ${name} =([^;]*);`));
  assert.ok(match, `build/pkg/node/edgerec_js.d.ts declares no type ${name}`);
  return [...match[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]).sort();
}

/** The string literals of one field's union in a declared interface, e.g. Context's `device`. */
function declaredField(iface, field) {
  const body = declarations.match(new RegExp(`export interface ${iface} \\{([\\s\\S]*?)\\n\\}`));
  assert.ok(body, `no interface ${iface}`);
  const line = body[1].match(new RegExp(`\\n\\s*${field}\\??: ([^;]*);`));
  assert.ok(line, `no field ${iface}.${field}`);
  return [...line[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]).sort();
}

/** The JSON values of a Rust enum with `#[serde(rename_all = "snake_case")]`. */
function serdeEnum(name) {
  const found = engine.filter(({ text }) => text.includes(`pub enum ${name} {`));
  assert.equal(found.length, 1, `one \`pub enum ${name}\` in wasm/src, found in: ${found.map((f) => f.file)}`);
  const { text, file } = found[0];
  const at = text.indexOf(`pub enum ${name} {`);
  const attributes = text.slice(text.lastIndexOf("\n\n", at), at);
  assert.match(attributes, /rename_all = "snake_case"/, `${file}: ${name} is not renamed snake_case any more`);
  const body = text.slice(at, text.indexOf("\n}", at));
  const variants = [...body.matchAll(/^\s{4}([A-Z][A-Za-z0-9]*)\s*[,{(]/gm)].map((m) => m[1]);
  assert.ok(variants.length > 0, `${file}: no variants found for ${name}`);
  return variants.map((v) => v.replace(/(?<!^)([A-Z])/g, "_$1").toLowerCase()).sort();
}

/** Every code the engine and the bindings can throw: each `fn code()` arm and each `js_error("...")`. */
function errorCodes() {
  const codes = new Set();
  // The strategy core's `StrategyError` is not in the JS bindings yet: when `decide`/`update` are,
  // this filter goes and its codes join the declared union.
  for (const { text } of engine.filter((f) => !f.file.startsWith(path.join("wasm/src", "strategy")))) {
    for (const m of text.matchAll(/fn code\(&self\) -> &'static str \{([\s\S]*?)\n {4}\}/g)) {
      for (const c of m[1].matchAll(/=>\s*"([a-z_]+)"/g)) codes.add(c[1]);
    }
  }
  for (const { text } of bindings) {
    for (const c of text.matchAll(/js_error\(\s*"([a-z_]+)"/g)) codes.add(c[1]);
  }
  return [...codes].sort();
}

test("the declared enums are the serde enums", () => {
  assert.deepEqual(declaredUnion("EventType"), serdeEnum("EventType"));
  assert.deepEqual(declaredUnion("Source"), serdeEnum("Source"));
  assert.deepEqual(declaredField("Context", "device"), serdeEnum("Device"));
});

test("the declared error codes are the codes the engine and the bindings throw", () => {
  const thrown = errorCodes();
  assert.ok(thrown.length > 20, `only ${thrown.length} codes found: ${thrown}`);
  assert.deepEqual(declaredUnion("EdgerecErrorCode"), thrown);
});
