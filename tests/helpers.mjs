// Shared paths and fixtures for the Node tests. Run `make test` (or `make model js worker site`) first.
import { readFileSync, existsSync } from "node:fs";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const bundlePath = path.join(root, "build/site/models/model.bundle");
export const nativeAnswersPath = path.join(root, "build/native-top20.jsonl");
export const nativeEventsAnswersPath = path.join(root, "build/native-events-top20.jsonl");
export const catalogBundlePath = path.join(root, "build/rees46.bundle");

for (const p of [bundlePath, nativeAnswersPath, path.join(root, "build/pkg/node/edgerec_js.js")]) {
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`make test\` (it builds what the tests need)`);
}

export const { Engine, Session, TextEmbedder } = createRequire(import.meta.url)(path.join(root, "build/pkg/node/edgerec_js.js"));
export const bundleBytes = () => new Uint8Array(readFileSync(bundlePath));
/** The demo bundle signed by `build/signed/test.key`, and the two test public keys. */
export const signedBundleBytes = () => new Uint8Array(readFileSync(path.join(root, "build/signed/model.bundle")));
export const testPublicKey = (name) => readFileSync(path.join(root, `build/signed/${name}.pub`), "utf8").trim();
export const catalogBundleBytes = () => new Uint8Array(readFileSync(catalogBundlePath));
/** The transformer trained on the shipped sample, Q8, with V-SKNN blended in (`make build/sasrec/diginetica-hybrid-q8.bundle`). */
export const sasrecBundleBytes = () => new Uint8Array(readFileSync(path.join(root, "build/sasrec/diginetica-hybrid-q8.bundle")));
/** The native engine's answers with that bundle for 1,000 real test prefixes. */
export const nativeSasrecAnswers = () => jsonLines(path.join(root, "build/native-sasrec-top20.jsonl"));

/** The conversion transformer trained on the shipped Taobao sample (ESMM heads), Q8. */
export const funnelBundleBytes = () => new Uint8Array(readFileSync(path.join(root, "build/funnel/taobao-purchase-transformer-q8.bundle")));
/** The native engine's `predict` answers with that bundle for 300 real Taobao users. */
export const nativePredictions = () => jsonLines(path.join(root, "build/native-predict.jsonl"));

/** The shipped text encoder (2-layer MiniLM, Q4) that embedded `build/rees46.bundle`'s item texts. */
export const textEncoderBytes = () => new Uint8Array(readFileSync(path.join(root, "data/models/minilm-L2-q4.bundle")));
/** The native embeddings of real REES46 catalog texts with it: `{text, vector}` per line. */
export const nativeEmbeddings = () => jsonLines(path.join(root, "build/native-embed.jsonl"));

const jsonLines = (file) => readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line));
/** Real test sessions with the native engine's answers: `{request, response}` per line. */
export const nativeAnswers = () => jsonLines(nativeAnswersPath);
/** The same sessions as typed, timed events with an exclusion and a slot. */
export const nativeEventsAnswers = () => jsonLines(nativeEventsAnswersPath);

/** Calls `fn` and returns the Error it throws as `{code, field, message}`; fails if it does not throw. */
export function thrown(fn) {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof Error)) throw new Error(`threw a non-Error: ${e}`);
    return { code: e.code, field: e.field, message: e.message };
  }
  throw new Error("expected an error, nothing was thrown");
}

/** The same f32 on both sides: JSON from serde_json prints the shortest f32, JS holds the f64 widening. */
export const f32 = (x) => Math.fround(x);

/** A JSON value with every number rounded to f32, for comparing serde_json text with JS values. */
export const f32Deep = (v) =>
  typeof v === "number" ? Math.fround(v)
    : Array.isArray(v) ? v.map(f32Deep)
    : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, f32Deep(x)]))
    : v;

/**
 * Starts the worker in workerd (`wrangler dev`) on 127.0.0.1:`port` and waits until it answers.
 * Returns its base URL and a `stop()` that ends the whole process group.
 */
/**
 * Starts `wrangler dev` (workerd) on `port`; ready once /v1/health answers (200, or any status
 * with `anyStatus`, for workers that are meant to refuse their model). `args`: extra flags.
 */
export async function startWorker(port, { args = [], anyStatus = false } = {}) {
  const base = `http://127.0.0.1:${port}`;
  const wrangler = spawn("npx", ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(port), "--log-level", "warn", ...args], {
    cwd: root,
    detached: true, // its own process group, so the whole tree stops with it
    // Offline: no metrics, and no fetch of the `Request.cf` placeholder (it printed two stack traces).
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  for (const stream of [wrangler.stdout, wrangler.stderr]) stream.on("data", (d) => (log += d));
  const stop = () => {
    if (wrangler.exitCode === null) process.kill(-wrangler.pid, "SIGTERM");
  };
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (wrangler.exitCode !== null) throw new Error(`wrangler dev exited early:\n${log}`);
    try {
      const res = await fetch(`${base}/v1/health`);
      if (res.ok || anyStatus) return { base, stop, log: () => log };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  stop();
  throw new Error(`wrangler dev did not become ready within 120 s:\n${log}`);
}
