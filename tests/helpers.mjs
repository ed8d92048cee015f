// Shared paths and fixtures for the Node tests. Run `make test` (or `make model js worker site`) first.
import { readFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const bundlePath = path.join(root, "build/site/models/model.bundle");
export const nativeAnswersPath = path.join(root, "build/native-top20.jsonl");

for (const p of [bundlePath, nativeAnswersPath, path.join(root, "build/pkg/node/edgerec_js.js")]) {
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`make test\` (it builds what the tests need)`);
}

export const { Engine } = createRequire(import.meta.url)(path.join(root, "build/pkg/node/edgerec_js.js"));
export const bundleBytes = () => new Uint8Array(readFileSync(bundlePath));

/** Real test sessions with the native engine's answers: `{request, response}` per line. */
export const nativeAnswers = () =>
  readFileSync(nativeAnswersPath, "utf8").trim().split("\n").map((line) => JSON.parse(line));

/** The same f32 on both sides: JSON from serde_json prints the shortest f32, JS holds the f64 widening. */
export const f32 = (x) => Math.fround(x);
