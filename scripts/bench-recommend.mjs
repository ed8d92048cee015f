// Recommend latency of the wasm engine in Node, cold start and .wasm size, next to the native
// figures; called by scripts/bench-recommend.sh (a benchmark, not a test: nothing is asserted).
//
//   node scripts/bench-recommend.mjs BUNDLE PREFIXES.tsv NATIVE.json OUT.json
import { readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { gzipSync } from "node:zlib";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pkg = path.join(root, "build/pkg/node/edgerec_js.js");
const [bundlePath, prefixesPath, nativePath, outPath] = process.argv.slice(2);
const k = 20;

// Cold start, in a fresh process each time: instantiate the wasm module (the nodejs build
// compiles and instantiates it when required), load and verify the bundle, answer one request.
const coldScript = `
const t0 = process.hrtime.bigint();
const { Engine } = require(${JSON.stringify(pkg)});
const t1 = process.hrtime.bigint();
const bytes = require("fs").readFileSync(${JSON.stringify(bundlePath)});
const t2 = process.hrtime.bigint();
const engine = new Engine(bytes);
const t3 = process.hrtime.bigint();
engine.recommend({ history: ["21115", "28626"], k: ${k} });
const t4 = process.hrtime.bigint();
const ms = (a, b) => Number(b - a) / 1e6;
console.log(JSON.stringify({ instantiate_ms: ms(t0, t1), read_file_ms: ms(t1, t2), bundle_load_ms: ms(t2, t3), first_answer_ms: ms(t3, t4), total_ms: ms(t0, t4) - ms(t1, t2) }));
`;
const colds = Array.from({ length: 7 }, () => JSON.parse(execFileSync(process.execPath, ["-e", coldScript], { encoding: "utf8" })));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cold = Object.fromEntries(Object.keys(colds[0]).map((key) => [key, median(colds.map((c) => c[key]))]));

const { Engine } = createRequire(import.meta.url)(pkg);
const engine = new Engine(new Uint8Array(readFileSync(bundlePath)));
const requests = readFileSync(prefixesPath, "utf8")
  .trim()
  .split("\n")
  .map((line) => ({ history: line.split("\t")[0].split(/\s+/).filter(Boolean), k }));
let returned = 0;
for (const r of requests) returned += engine.recommend(r).items.length; // warm-up
const micros = requests.map((r) => {
  const t = process.hrtime.bigint();
  returned += engine.recommend(r).items.length;
  return Number(process.hrtime.bigint() - t) / 1e3;
});
micros.sort((a, b) => a - b);
const pct = (p) => micros[Math.round((micros.length - 1) * p)];
const wasm = {
  requests: requests.length,
  k,
  items_returned: returned,
  p50_us: pct(0.5),
  p90_us: pct(0.9),
  p99_us: pct(0.99),
  mean_us: micros.reduce((s, x) => s + x, 0) / micros.length,
};
const native = JSON.parse(readFileSync(nativePath, "utf8"));
const wasmFile = readFileSync(path.join(root, "build/pkg/web/edgerec_js_bg.wasm"));
const size = { raw_bytes: wasmFile.length, gzip_bytes: gzipSync(wasmFile, { level: 9 }).length };
const bundleBytes = readFileSync(bundlePath).length;

const result = {
  benchmark: "recommend, k=20, full DIGINETICA co-visitation bundle, real test prefixes",
  bundle: { path: path.relative(root, bundlePath), bytes: bundleBytes, items: engine.itemCount },
  prefixes: path.relative(root, prefixesPath),
  node: process.version,
  native,
  wasm,
  ratio_wasm_over_native: { p50: wasm.p50_us / native.p50_us, p99: wasm.p99_us / native.p99_us },
  cold_start_ms: cold,
  cold_start_runs: colds.length,
  wasm_size: size,
  machine: { cpus: (await import("node:os")).cpus().length, note: "shared 2-core machine; other builds were running" },
  command: "scripts/bench-recommend.sh",
  created_at: new Date().toISOString(),
};
writeFileSync(outPath, JSON.stringify(result, null, 2) + "\n");

const f = (x) => x.toFixed(1);
console.log(`| recommend k=${k}, ${requests.length} real DIGINETICA test prefixes, ${engine.itemCount} items | p50 µs | p90 µs | p99 µs | mean µs |`);
console.log("|---|---:|---:|---:|---:|");
console.log(`| native (Rust, opt-level 3) | ${f(native.p50_us)} | ${f(native.p90_us)} | ${f(native.p99_us)} | ${f(native.mean_us)} |`);
console.log(`| wasm in Node ${process.version} | ${f(wasm.p50_us)} | ${f(wasm.p90_us)} | ${f(wasm.p99_us)} | ${f(wasm.mean_us)} |`);
console.log(`| ratio wasm / native | ${result.ratio_wasm_over_native.p50.toFixed(2)} | | ${result.ratio_wasm_over_native.p99.toFixed(2)} | |`);
console.log();
console.log(`cold start (median of ${colds.length} fresh processes): instantiate ${f(cold.instantiate_ms)} ms + bundle load ${f(cold.bundle_load_ms)} ms + first answer ${f(cold.first_answer_ms)} ms = ${f(cold.total_ms)} ms (file read ${f(cold.read_file_ms)} ms not counted)`);
console.log(`native bundle load: ${f(native.load_ms)} ms; bundle ${(bundleBytes / 1e6).toFixed(1)} MB`);
console.log(`edgerec_js_bg.wasm: ${(size.raw_bytes / 1024).toFixed(0)} KiB raw, ${(size.gzip_bytes / 1024).toFixed(0)} KiB gzip`);
console.log(`wrote ${path.relative(root, outPath)}`);
