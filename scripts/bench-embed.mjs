// Sentence embeddings in Node, side by side: edgerec's TextEmbedder (wasm, each bundle and compute
// path) and Transformers.js (the int8 ONNX export of the same all-MiniLM-L6-v2, on onnxruntime-web
// = wasm and onnxruntime-node = native). Called by scripts/bench-embed.sh (a benchmark: nothing is
// asserted).
//
//   node scripts/bench-embed.mjs TEXTS.json MODEL_DIR OUT.json
//
// Each engine runs in its own Node process (same Node, same texts, one text per call, tokenization
// and mean pooling included), so its load time and peak RSS are its own. Every engine truncates to
// the bundles' max_len tokens (the local ONNX model's tokenizer_config says so), so all see the same
// tokens. Quality: cosine of each embedding to edgerec's f32 bundle (candle, f32 weights).
import { readFileSync, writeFileSync, statSync, mkdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { gzipSync } from "node:zlib";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const benchDir = path.join(root, "build/bench-embed");
const pkg = path.join(root, "build/pkg/node/edgerec_js.js");
const bundlePath = (policy) => path.join(root, `build/bundles/minilm-${policy}.bundle`);
const WARMUP = 20;

const percentile = (sorted, p) => sorted[Math.round((sorted.length - 1) * p)];
const summary = (ms) => {
  const s = [...ms].sort((a, b) => a - b);
  return { p50_ms: percentile(s, 0.5), p90_ms: percentile(s, 0.9), p99_ms: percentile(s, 0.99), mean_ms: s.reduce((a, b) => a + b, 0) / s.length };
};

// ---------------------------------------------------------------- one engine (child process)
/** Loads an engine; returns an async function text -> Float32Array (the sentence embedding). */
async function loadEngine(spec) {
  if (spec.engine === "edgerec") {
    const { TextEmbedder } = createRequire(import.meta.url)(pkg);
    const model = new TextEmbedder(readFileSync(bundlePath(spec.policy)), { compute: spec.compute });
    return async (t) => model.embed(t);
  }
  const require = createRequire(path.join(benchDir, "package.json"));
  if (spec.backend === "web") {
    // onnxruntime-web (its wasm build) handed to Transformers.js, files from node_modules only.
    const ort = await import(pathToFileURL(require.resolve("onnxruntime-web")).href);
    const dist = path.dirname(require.resolve("onnxruntime-web"));
    ort.env.wasm.numThreads = spec.threads;
    ort.env.wasm.wasmPaths = {
      mjs: pathToFileURL(path.join(dist, "ort-wasm-simd-threaded.mjs")).href,
      wasm: pathToFileURL(path.join(dist, "ort-wasm-simd-threaded.wasm")).href,
    };
    globalThis[Symbol.for("onnxruntime")] = ort;
  }
  const { pipeline, env } = await import(pathToFileURL(require.resolve("@huggingface/transformers")).href);
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = path.dirname(spec.modelDir) + "/";
  env.useBrowserCache = false;
  env.useFSCache = false;
  env.useWasmCache = false; // its pre-load fetches the .wasm, and fetch cannot read file: URLs
  const options = { dtype: "q8", local_files_only: true };
  if (spec.backend === "web") {
    // With an onnxruntime handed over, Transformers.js knows no device by name; "auto" leaves
    // the choice to onnxruntime-web, whose only backend in Node is wasm (the CPU).
    options.device = "auto";
  } else {
    options.device = "cpu";
    options.session_options = { intraOpNumThreads: spec.threads, interOpNumThreads: 1 };
  }
  const extractor = await pipeline("feature-extraction", path.basename(spec.modelDir), options);
  const embed = async (t) => (await extractor(t, { pooling: "mean", normalize: true })).data;
  embed.tokenizer = extractor.tokenizer;
  return embed;
}

async function child(spec, textsPath, outPath) {
  const texts = JSON.parse(readFileSync(textsPath, "utf8"));
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const embed = await loadEngine(spec);
  const load_ms = performance.now() - t0;
  const rssLoaded = process.memoryUsage().rss;
  let t = performance.now();
  const first = await embed(texts[0]);
  const first_ms = performance.now() - t;
  for (const text of texts.slice(1, WARMUP)) await embed(text);
  const ms = [];
  const vectors = [];
  for (const text of texts) {
    t = performance.now();
    const v = await embed(text);
    ms.push(performance.now() - t);
    vectors.push(Array.from(v));
  }
  const result = {
    ...spec, texts: texts.length, dimension: first.length, load_ms, first_ms, ...summary(ms),
    rss_before_load_mib: rssBefore / 2 ** 20, rss_loaded_mib: rssLoaded / 2 ** 20,
    peak_rss_mib: (process.resourceUsage().maxRSS * 1024) / 2 ** 20, vectors,
  };
  writeFileSync(outPath, JSON.stringify(result));
}

// The engines in one Node process, calls interleaved (so a busy machine slows them alike): every
// text whole (the head-to-head), then the first 60 cut to their first N words; median ms per text.
async function scan(specs, textsPath, outPath) {
  const all = JSON.parse(readFileSync(textsPath, "utf8"));
  const texts = all.slice(0, 60);
  const engines = [];
  for (const spec of specs) engines.push([spec.name, await loadEngine(spec)]);
  const tokenizer = engines.find(([, e]) => e.tokenizer)[1].tokenizer;
  const rows = [];
  for (const words of [4, 12, 30, null]) {
    const cut = words === null ? all : texts.map((t) => t.split(/\s+/).slice(0, words).join(" "));
    const tokens = cut.map((t) => Math.min(tokenizer.model_max_length, tokenizer.encode(t).length));
    const ms = engines.map(() => []);
    for (const t of cut.slice(0, 10)) for (const [, e] of engines) await e(t);
    for (const t of cut) {
      for (const [i, [, e]] of engines.entries()) {
        const s = performance.now();
        await e(t);
        ms[i].push(performance.now() - s);
      }
    }
    const row = { words: words ?? "all", texts: cut.length, mean_tokens: tokens.reduce((a, b) => a + b, 0) / tokens.length };
    for (const [i, [name]] of engines.entries()) row[name] = summary(ms[i]).p50_ms;
    for (const [i, [name]] of engines.entries()) row[`${name} p99`] = summary(ms[i]).p99_ms;
    rows.push(row);
  }
  writeFileSync(outPath, JSON.stringify(rows));
}

// ---------------------------------------------------------------- the run (parent)
const cosine = (a, b) => {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return d / Math.sqrt(na * nb);
};
const sizes = (file) => {
  const bytes = readFileSync(file);
  return { file: path.relative(root, file), raw_bytes: bytes.length, gzip_bytes: gzipSync(bytes, { level: 9 }).length };
};

async function main(textsPath, modelDir, outPath) {
  const texts = JSON.parse(readFileSync(textsPath, "utf8"));
  const require = createRequire(path.join(benchDir, "package.json"));
  const { TextEmbedder } = createRequire(import.meta.url)(pkg);
  const maxLen = new TextEmbedder(readFileSync(bundlePath("q4")), {}).maxLen;
  // Transformers.js truncates to the tokenizer's model_max_length: the bundles' max_len here.
  const tcPath = path.join(modelDir, "tokenizer_config.json");
  const tc = JSON.parse(readFileSync(tcPath, "utf8"));
  tc.model_max_length = maxLen;
  writeFileSync(tcPath, JSON.stringify(tc));
  const { AutoTokenizer, env } = await import(pathToFileURL(require.resolve("@huggingface/transformers")).href);
  env.allowRemoteModels = false;
  env.localModelPath = path.dirname(modelDir) + "/";
  const tokenizer = await AutoTokenizer.from_pretrained(path.basename(modelDir));
  const lengths = texts.map((t) => tokenizer.encode(t).length);
  const kept = lengths.map((n) => Math.min(n, maxLen));
  const tokens = {
    max_len: maxLen, mean_untruncated: lengths.reduce((a, b) => a + b, 0) / lengths.length,
    mean_embedded: kept.reduce((a, b) => a + b, 0) / kept.length, truncated_texts: lengths.filter((n) => n > maxLen).length,
    p50_untruncated: percentile([...lengths].sort((a, b) => a - b), 0.5),
  };

  const specs = [
    // `quantized` is the default: edgerec's int8 kernels. `dequantized`: candle's f32 ops.
    { name: "edgerec f32 (reference)", engine: "edgerec", policy: "f32", compute: "dequantized" },
    { name: "edgerec q8 int8 kernels", engine: "edgerec", policy: "q8", compute: "quantized" },
    { name: "edgerec q8 f32 (candle)", engine: "edgerec", policy: "q8", compute: "dequantized" },
    { name: "edgerec q4 int8 kernels", engine: "edgerec", policy: "q4", compute: "quantized" },
    // The first 4 (3) of 6 layers: a different embedding (cosine to the 6-layer one is low), but the
    // text-bundle probe's AUC held (results/quantize/womens-reviews-text-int8.json).
    { name: "edgerec q8-L4 int8 kernels", engine: "edgerec", policy: "q8-L4", compute: "quantized" },
    { name: "edgerec q8-L3 int8 kernels", engine: "edgerec", policy: "q8-L3", compute: "quantized" },
    { name: "Transformers.js q8, onnxruntime-web (wasm) 1 thread", engine: "transformers.js", backend: "web", threads: 1, modelDir },
    { name: "Transformers.js q8, onnxruntime-node 1 thread", engine: "transformers.js", backend: "node", threads: 1, modelDir },
    { name: "Transformers.js q8, onnxruntime-node 2 threads", engine: "transformers.js", backend: "node", threads: 2, modelDir },
  ];
  const only = process.env.ONLY ? new RegExp(process.env.ONLY) : null;
  mkdirSync(path.join(benchDir, "runs"), { recursive: true });
  const results = [];
  for (const [i, spec] of specs.entries()) {
    if (only && i > 0 && !only.test(spec.name)) continue;
    const out = path.join(benchDir, "runs", `${i}.json`);
    try {
      execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--child", JSON.stringify(spec), textsPath, out],
        { stdio: ["ignore", "inherit", "inherit"], timeout: 600_000 });
      results.push(JSON.parse(readFileSync(out, "utf8")));
    } catch (e) {
      console.error(`${spec.name}: failed: ${e.message.split("\n")[0]}`);
      results.push({ ...spec, error: e.message.split("\n")[0] });
    }
  }
  let length_scan = null;
  if (!only) {
    const scanOut = path.join(benchDir, "runs", "scan.json");
    // Not onnxruntime-node: with onnxruntime-web handed over, Transformers.js uses it for all.
    const scanSpecs = [specs[1], specs[2], specs.find((x) => x.backend === "web")];
    try {
      execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--scan", JSON.stringify(scanSpecs), textsPath, scanOut],
        { stdio: ["ignore", "inherit", "inherit"], timeout: 600_000 });
      length_scan = JSON.parse(readFileSync(scanOut, "utf8"));
    } catch (e) {
      console.error(`length scan failed: ${e.message.split("\n")[0]}`);
    }
  }
  const reference = results[0].vectors;
  for (const r of results) {
    if (!r.vectors) continue;
    const c = r.vectors.map((v, i) => cosine(v, reference[i]));
    r.mean_cosine = c.reduce((a, b) => a + b, 0) / c.length;
    r.min_cosine = Math.min(...c);
    delete r.vectors;
    delete r.modelDir;
    r.model_bytes = r.engine === "edgerec" ? statSync(bundlePath(r.policy)).size
      : statSync(path.join(modelDir, "onnx/model_quantized.onnx")).size + statSync(path.join(modelDir, "tokenizer.json")).size;
  }
  const webDist = path.dirname(require.resolve("onnxruntime-web"));
  const version = (name) => JSON.parse(readFileSync(path.join(benchDir, "node_modules", name, "package.json"), "utf8")).version;
  const report = {
    benchmark: `sentence embedding (all-MiniLM-L6-v2), one text per call, tokenization and mean pooling included; ${texts.length} reviews of the Women's Clothing data set (title. text), each engine in its own Node process, ${WARMUP} warm-up calls, then every text timed once`,
    command: "scripts/bench-embed.sh",
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, note: "shared 2-core machine; figures are comparable within this run only" },
    node: process.version,
    versions: { "@huggingface/transformers": version("@huggingface/transformers"), "onnxruntime-web": version("onnxruntime-web"), "onnxruntime-node": version("onnxruntime-node") },
    tokens,
    reference: "edgerec f32 bundle (candle, f32 weights, vocabulary-trimmed: the same embeddings as the untrimmed model)",
    wasm_size: {
      edgerec: sizes(path.join(root, "build/pkg/node/edgerec_js_bg.wasm")),
      "onnxruntime-web": sizes(path.join(webDist, "ort-wasm-simd-threaded.wasm")),
    },
    onnx_model: { file: path.relative(root, path.join(modelDir, "onnx/model_quantized.onnx")), note: "exported here from ../shared/models/all-MiniLM-L6-v2 (scripts/bench-embed-prep.py), int8 dynamic quantization, per channel, full 30,522-token vocabulary" },
    results,
    length_scan,
    created_at: new Date().toISOString(),
  };
  writeFileSync(outPath, JSON.stringify(report, null, 2) + "\n");
  const f = (x, d = 1, w = 8) => (x === undefined ? "" : x.toFixed(d)).padStart(w);
  console.log(`${texts.length} texts, ${tokens.mean_embedded.toFixed(1)} tokens on average after truncation to ${maxLen} (${tokens.truncated_texts} truncated; ${tokens.mean_untruncated.toFixed(1)} before)`);
  console.log(`${"engine".padEnd(52)} | load ms | first ms | p50 ms | p99 ms | mean cos | min cos | peak RSS MiB | model MiB`);
  for (const r of results) {
    if (r.error) { console.log(`${r.name.padEnd(52)} | failed: ${r.error}`); continue; }
    console.log(`${r.name.padEnd(52)} | ${f(r.load_ms, 0, 7)} | ${f(r.first_ms, 1)} | ${f(r.p50_ms, 1, 6)} | ${f(r.p99_ms, 1, 6)} | ${f(r.mean_cosine, 4)} | ${f(r.min_cosine, 4, 7)} | ${f(r.peak_rss_mib, 0, 12)} | ${f(r.model_bytes / 2 ** 20, 2, 9)}`);
  }
  if (length_scan) {
    const names = Object.keys(length_scan[0]).filter((k) => !["words", "texts", "mean_tokens"].includes(k) && !k.endsWith(" p99"));
    console.log(`p50 ms in one process, engines interleaved (all texts whole, then the first 60 cut to N words):`);
    console.log(`${"tokens".padStart(7)} | ${names.join(" | ")}`);
    for (const r of length_scan) console.log(`${r.mean_tokens.toFixed(1).padStart(7)} | ${names.map((n) => f(r[n], 1, n.length)).join(" | ")}`);
  }
  for (const [k, s] of Object.entries(report.wasm_size)) console.log(`${k} .wasm: ${s.raw_bytes.toLocaleString()} bytes raw, ${s.gzip_bytes.toLocaleString()} gzip (${s.file})`);
  console.log(`wrote ${outPath}`);
}

const args = process.argv.slice(2);
if (args[0] === "--child") await child(JSON.parse(args[1]), args[2], args[3]);
else if (args[0] === "--scan") await scan(JSON.parse(args[1]), args[2], args[3]);
else await main(...args);
