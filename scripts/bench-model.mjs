// The engine serving a transformer bundle in wasm (Node) next to native, for each bundle and
// compute path: recommend latency (int8 retrieval + exact re-scoring of 100 candidates), bundle
// load, cold start, memory; called by scripts/bench-model.sh (a benchmark: nothing is asserted).
//
//   node scripts/bench-model.mjs PREFIXES.tsv OUT.json NAME=NATIVE.json...
// NAME picks build/bundles/diginetica-NAME.bundle, e.g. sasrec-q8 or hybrid-q8.
import { readFileSync, writeFileSync, statSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { gzipSync } from "node:zlib";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pkg = path.join(root, "build/pkg/node/edgerec_js.js");
const [prefixesPath, outPath, ...natives] = process.argv.slice(2);
const k = 20;

// Each (bundle, compute) in a fresh Node process, so load time and memory are its own.
// Cold start as a fresh isolate sees it: instantiate the module (require), load and verify the
// bundle, answer the first request.
const runScript = (bundle, compute) => `
const t0 = process.hrtime.bigint();
const { Engine } = require(${JSON.stringify(pkg)});
const t1 = process.hrtime.bigint();
const fs = require("fs");
const bytes = fs.readFileSync(${JSON.stringify(bundle)});
const histories = fs.readFileSync(${JSON.stringify(prefixesPath)}, "utf8").trim().split("\\n")
  .map((l) => l.split("\\t")[0].split(/\\s+/).filter(Boolean));
const t2 = process.hrtime.bigint();
const engine = new Engine(bytes, { compute: ${JSON.stringify(compute)} });
const t3 = process.hrtime.bigint();
let n = engine.recommend({ history: histories[0], k: ${k} }).items.length;
const t4 = process.hrtime.bigint();
const ms = (a, b) => Number(b - a) / 1e6;
for (const h of histories) n += engine.recommend({ history: h, k: ${k} }).items.length;
const micros = histories.map((h) => {
  const t = process.hrtime.bigint();
  n += engine.recommend({ history: h, k: ${k} }).items.length;
  return Number(process.hrtime.bigint() - t) / 1e3;
}).sort((a, b) => a - b);
const pct = (p) => micros[Math.round((micros.length - 1) * p)];
console.log(JSON.stringify({ requests: histories.length, load_ms: ms(t2, t3), p50_us: pct(0.5), p99_us: pct(0.99),
  mean_us: micros.reduce((a, b) => a + b, 0) / micros.length, rss_mib: process.memoryUsage().rss / 2 ** 20, checksum: n,
  cold_start_ms: { instantiate: ms(t0, t1), bundle_load: ms(t2, t3), first_answer: ms(t3, t4), total: ms(t0, t1) + ms(t2, t4) } }));
`;

const wasmFile = path.join(root, "build/pkg/node/edgerec_js_bg.wasm");
const wasmBytes = readFileSync(wasmFile);
const results = [];
for (const spec of natives) {
  const [policy, nativePath] = spec.split("=");
  const native = JSON.parse(readFileSync(nativePath, "utf8"));
  const bundle = path.join(root, `build/bundles/diginetica-${policy}.bundle`);
  for (const compute of ["dequantized", "quantized"]) {
    const wasm = JSON.parse(execFileSync(process.execPath, ["-e", runScript(bundle, compute)], { encoding: "utf8", maxBuffer: 1 << 20 }));
    results.push({ policy, compute, bundle_bytes: statSync(bundle).size, native: native[compute], wasm,
      native_exact_full_scoring: native.exact_full_scoring,
      ratio_wasm_over_native_p50: wasm.p50_us / native[compute].p50_us });
  }
}
const report = {
  benchmark: "Engine.recommend with a transformer bundle, k = 20, one request at a time, full DIGINETICA catalog (43,097 items): int8 retrieval over every item, the best 100 (plus co-visited, and for a hybrid bundle the 100 items V-SKNN votes for most) re-scored exactly",
  command: "scripts/bench-model.sh",
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, note: "shared 2-core machine; figures are comparable within this run only" },
  node: process.version,
  wasm_size: { raw_bytes: wasmBytes.length, gzip_bytes: gzipSync(wasmBytes, { level: 9 }).length },
  results,
  created_at: new Date().toISOString(),
};
writeFileSync(outPath, JSON.stringify(report, null, 2) + "\n");
const f = (x) => x.toFixed(0).padStart(8);
console.log("bundle     compute      | native p50 µs  p99 µs  load ms | wasm p50 µs  p99 µs  load ms  cold ms  RSS MiB | wasm/native p50");
for (const r of results) {
  console.log(`${r.policy.padEnd(10)} ${r.compute.padEnd(12)} | ${f(r.native.p50_us)} ${f(r.native.p99_us)} ${f(r.native.load_ms)} | ${f(r.wasm.p50_us)} ${f(r.wasm.p99_us)} ${f(r.wasm.load_ms)} ${f(r.wasm.cold_start_ms.total)} ${f(r.wasm.rss_mib)} | ${r.ratio_wasm_over_native_p50.toFixed(2)}`);
}
const exact = results[0].native_exact_full_scoring;
console.log(`native, exact scoring of every item instead of int8 retrieval (${results[0].policy}): p50 ${f(exact.p50_us)} µs, p99 ${f(exact.p99_us)} µs`);
console.log(`edgerec_js_bg.wasm with the model: ${report.wasm_size.raw_bytes} bytes raw, ${report.wasm_size.gzip_bytes} gzip; wrote ${outPath}`);
