// Type-checked, never run (`make types`: tsc --noEmit -p tests/types). Every class, method, option and
// response field of the JS API's declarations is used here with the type the engine really has (see
// wasm/src/api.rs: the serde types and their renames); the `@ts-expect-error` lines check that the
// declarations refuse what the engine refuses. When the API changes, change the declarations
// (wasm/js/src/lib.rs, web/worker-client.d.ts) and this file together.

import init, {
  Engine, Session, TextEmbedder, initSync,
  type Contribution, type Context, type EdgerecError, type EdgerecErrorCode, type EmbedRequest,
  type EmbedResponse, type EngineOptions, type Event, type EventType, type Explanation, type Filters,
  type IgnoredItem, type ItemInfo, type Manifest, type PredictRequest, type PredictResponse,
  type Prediction, type RecommendRequest, type RecommendResponse, type RecommendedItem, type SessionRequest,
  type SimilarItem, type SimilarRequest, type SimilarResponse, type Source,
} from "../../build/pkg/web/edgerec_js.js";
import * as node from "../../build/pkg/node/edgerec_js.js";
import * as bundler from "../../build/pkg/bundler/edgerec_js.js";
import {
  createEngineWorker, EngineWorker,
  type EngineWorkerError, type EngineWorkerErrorCode, type EngineWorkerInfo, type EngineWorkerOptions,
} from "../../web/worker-client.js";

/** `true` exactly when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function same<T extends true>(): void {}

declare const bytes: Uint8Array;
declare const encoderBytes: Uint8Array;
declare const compiled: WebAssembly.Module;

// The enums, as serde writes them (rename_all = "snake_case").
same<Equal<EventType, "view" | "click" | "cart" | "purchase">>();
same<Equal<Source, "covisit" | "model" | "text" | "popular">>();
same<Equal<NonNullable<Context["device"]>, "desktop" | "mobile" | "tablet" | "other">>();
same<Equal<NonNullable<EngineOptions["compute"]>, "quantized" | "dequantized">>();
same<Equal<SimilarItem["source"], "covisit" | "model" | "text">>();
same<Equal<IgnoredItem["reason"], "unknown_item">>();
// Every code of wasm/src/error.rs (BundleError, RequestError), EmbedError and the bindings' own.
same<
  Equal<
    EdgerecErrorCode,
    | "invalid_json" | "invalid_request" | "invalid_field" | "unknown_field" | "unknown_value"
    | "unsupported_filter" | "unsupported_request" | "internal_error" | "body_too_large"
    | "bad_magic" | "unsupported_version" | "truncated" | "trailing_data" | "checksum_mismatch"
    | "payload_checksum_mismatch" | "invalid_manifest" | "invalid_section" | "unsupported_model"
    | "invalid_header" | "unsigned_bundle" | "bad_signature" | "untrusted_signer" | "invalid_key"
    | "manifest_mismatch" | "out_of_range" | "invalid_options" | "tokenize_error" | "model_error"
  >
>();

// The three wasm-pack builds declare the same API.
same<Equal<typeof node.Engine, typeof Engine>>();
same<Equal<typeof bundler.Engine, typeof Engine>>();
same<Equal<typeof node.Session, typeof Session>>();
same<Equal<typeof bundler.Session, typeof Session>>();
same<Equal<typeof node.TextEmbedder, typeof TextEmbedder>>();
same<Equal<typeof bundler.TextEmbedder, typeof TextEmbedder>>();
same<Equal<node.RecommendResponse, RecommendResponse>>();
same<Equal<bundler.SimilarRequest, SimilarRequest>>();

// The `web` build's initialisers.
async function load(): Promise<void> {
  await init();
  await init({ module_or_path: new URL("https://example.com/edgerec_js_bg.wasm") });
  initSync({ module: compiled });
}

function engineOptions(): EngineOptions[] {
  return [
    {},
    { publicKey: "ab".repeat(32) },
    { compute: "quantized" },
    { compute: "dequantized", textEncoder: encoderBytes },
    // @ts-expect-error: an unknown compute path
    { compute: "gpu" },
    // @ts-expect-error: an unknown option (the engine throws invalid_options)
    { publicKeys: ["ab"] },
  ];
}

function requests(): void {
  const events: Event[] = [
    { id: "21115" },
    { id: "28626", type: "cart", time: 1764432000000 },
    // @ts-expect-error: not an event type
    { id: "1", type: "like" },
    // @ts-expect-error: the id is required
    { type: "view" },
  ];
  const filters: Filters = {
    categories: ["electronics"],
    price: { min: 1, max: 500 },
    available_only: true,
    exclude: ["33110"],
  };
  const context: Context = { page: "product", device: "mobile", time: 1764432000001 };
  const full: RecommendRequest = { slot: "pdp_similar", events, k: 20, include_seen: false, filters, context };
  const plain: RecommendRequest = { history: ["21115", "28626"] };
  // @ts-expect-error: k is a number
  const badK: RecommendRequest = { history: [], k: "5" };
  // @ts-expect-error: an unknown field (the engine throws unknown_field)
  const unknown: RecommendRequest = { history: [], colour: "red" };
  const session: SessionRequest = { slot: "home", k: 10, include_seen: true, filters, context };
  // @ts-expect-error: a session request carries no session
  const withHistory: SessionRequest = { history: ["1"] };
  const byItem: SimilarRequest = { slot: "pdp", item: "21115", k: 8, filters };
  const byText: SimilarRequest = { text: "samsung smartphone", k: 5 };
  // @ts-expect-error: `item` or `text`, not both
  const both: SimilarRequest = { item: "1", text: "phone" };
  // @ts-expect-error: one of them is required
  const neither: SimilarRequest = { k: 5 };
  const predict: PredictRequest = { slot: "plp", events, items: ["557202", "3762766"], context };
  const newVisitor: PredictRequest = { items: ["557202"] };
  const byHistory: PredictRequest = { history: ["557202"], items: ["557202"] };
  // @ts-expect-error: items are required
  const noItems: PredictRequest = { history: ["1"] };
  const embed: EmbedRequest = { texts: ["red summer dress", "return policy"] };
  void [full, plain, badK, unknown, session, withHistory, byItem, byText, both, neither];
  void [predict, newVisitor, byHistory, noItems, embed];
}

function readRecommendation(r: RecommendResponse): void {
  const slot: string | undefined = r.slot;
  const context: Context | undefined = r.context;
  for (const item of r.items) {
    const it: RecommendedItem = item;
    const id: string = it.id;
    const score: number = it.score;
    const source: Source = it.source;
    const explanation: Explanation = it.explanation;
    const signal: Source = explanation.signal;
    const because: Contribution[] = explanation.because;
    const first: [string, number] | undefined = because[0] && [because[0].id, because[0].contribution];
    const popularityRank: number | undefined = explanation.popularity_rank;
    void [id, score, source, signal, first, popularityRank];
  }
  for (const ignored of r.ignored) readIgnored(ignored);
  void [slot, context];
}

function readIgnored(ignored: IgnoredItem): void {
  const position: number = ignored.position;
  const id: string = ignored.id;
  const reason: "unknown_item" = ignored.reason;
  void [position, id, reason];
}

function readSimilar(r: SimilarResponse): void {
  const slot: string | undefined = r.slot;
  const item: string | undefined = r.item;
  const text: string | undefined = r.text;
  for (const it of r.items) {
    const id: string = it.id;
    const score: number = it.score;
    const source: "covisit" | "model" | "text" = it.source;
    void [id, score, source];
  }
  void [slot, item, text];
}

function readPrediction(r: PredictResponse): void {
  const slot: string | undefined = r.slot;
  const context: Context | undefined = r.context;
  for (const p of r.predictions) {
    const prediction: Prediction = p;
    const values: [string, number, number, number] = [prediction.id, p.click, p.cart, p.purchase];
    void values;
  }
  r.ignored.forEach(readIgnored);
  r.unknown_items.forEach(readIgnored);
  void [slot, context];
}

function readEmbedding(r: EmbedResponse): number {
  const dimension: number = r.dimension;
  const vectors: number[][] = r.vectors;
  return dimension + vectors.length;
}

function readManifest(m: Manifest): void {
  const version: number = m.format_version;
  const kind: string = m.model_kind;
  const params: Record<string, unknown> = m.model_params;
  const counts: Record<string, number> = m.counts;
  const metrics: Record<string, number> = m.metrics;
  const created: string = m.created_at;
  const data: unknown = m.training_data;
  const sha: string = m.payload_sha256;
  for (const s of m.sections) {
    const section: [string, number, number, string | undefined] = [s.name, s.offset, s.length, s.encoding];
    void section;
  }
  void [version, kind, params, counts, metrics, created, data, sha];
}

function readItem(info: ItemInfo | undefined): void {
  if (!info) return;
  const id: string = info.id;
  const rank: number = info.popularity_rank;
  const category: string | undefined = info.category;
  const price: number | undefined = info.price;
  const available: boolean | undefined = info.available;
  void [id, rank, category, price, available];
}

function readError(e: unknown): void {
  const error = e as EdgerecError;
  const name: string = error.name;
  const message: string = error.message;
  const code: EdgerecErrorCode = error.code;
  const field: string | undefined = error.field;
  void [name, message, code, field];
}

function useEngine(): void {
  const engine = new Engine(bytes, undefined);
  // Options are optional (`Option<JsValue>` in Rust: wasm-bindgen writes `options?: T | null`).
  new Engine(bytes);
  const shop = new Engine(bytes, { publicKey: "ab".repeat(32), compute: "quantized", textEncoder: encoderBytes });
  const kind: string = engine.modelKind;
  const count: number = engine.itemCount;
  const catalog: boolean = engine.hasCatalog;
  const itemText: boolean = shop.hasItemText;
  const encoder: boolean = shop.hasTextEncoder;
  const signer: string | undefined = shop.signer;
  const categories: string[] = shop.categories();
  try {
    readRecommendation(engine.recommend({ history: ["21115"], k: 5 }));
  } catch (e) {
    readError(e);
  }
  const session = new Session();
  session.track({ id: "21115" });
  session.track({ id: "28626", type: "cart", time: 1764432000000 });
  const length: number = session.length;
  const saved: Event[] = session.events();
  const restored: Session = Session.fromEvents(saved);
  readRecommendation(engine.recommendSession(restored, { k: 10, slot: "home" }));
  readRecommendation(engine.recommendSession(session, undefined));
  engine.recommendSession(session);
  session.clear();
  readSimilar(engine.similar({ item: "21115", k: 8 }));
  readSimilar(shop.similar({ text: "samsung smartphone", k: 5, filters: { price: { max: 300 } } }));
  readPrediction(engine.predict({ events: saved, items: ["557202"], context: { time: 1764432000001 } }));
  readEmbedding(shop.embed({ texts: ["red summer dress"] }));
  readManifest(engine.manifest());
  readItem(engine.item("21115"));
  // @ts-expect-error: recommend takes a request object
  engine.recommend(["21115"]);
  // @ts-expect-error: a SessionRequest has no events
  engine.recommendSession(session, { events: saved });
  restored[Symbol.dispose]();
  session.free();
  shop.free();
  engine.free();
  void [kind, count, catalog, itemText, encoder, signer, categories, length];
}

function useTextEmbedder(): void {
  const plain = new TextEmbedder(encoderBytes, undefined);
  new TextEmbedder(encoderBytes);
  const embedder = new TextEmbedder(encoderBytes, { publicKey: "ab".repeat(32), compute: "dequantized" });
  const one: Float32Array = embedder.embed("Soft linen summer dress");
  const many: Float32Array[] = embedder.embedBatch(["red dress", "wool coat"]);
  const dimension: number = embedder.dimension;
  const maxLen: number = embedder.maxLen;
  // @ts-expect-error: no textEncoder option here (it is the encoder)
  new TextEmbedder(encoderBytes, { textEncoder: encoderBytes });
  plain[Symbol.dispose]();
  embedder.free();
  void [one, many, dimension, maxLen];
}

async function useWorker(): Promise<void> {
  const options: EngineWorkerOptions = {
    bundleUrl: "/models/rees46.bundle",
    textEncoderUrl: new URL("https://example.com/models/text-encoder.bundle"),
    workerUrl: "/edgerec/engine-worker.js",
    moduleUrl: "/edgerec/pkg/web/edgerec_js.js",
    engineOptions: { publicKey: "ab".repeat(32), compute: "quantized" },
  };
  const fromBytes: EngineWorkerOptions = { bundle: new ArrayBuffer(8) };
  const engine: EngineWorker = await createEngineWorker(options);
  const other = await createEngineWorker({ bundle: bytes });
  const info: EngineWorkerInfo = engine.info;
  const facts: [number, boolean, string, boolean, boolean] = [
    info.itemCount, info.hasCatalog, info.modelKind, info.hasItemText, info.hasTextEncoder,
  ];
  try {
    readRecommendation(await engine.recommend({ history: ["21115"], k: 10 }));
  } catch (e) {
    const error = e as EngineWorkerError;
    const code: EngineWorkerErrorCode = error.code;
    const engineCode: EngineWorkerErrorCode = "unknown_value" satisfies EdgerecErrorCode;
    const field: string | undefined = error.field;
    void [code, engineCode, field];
  }
  readSimilar(await engine.similar({ text: "samsung smartphone", k: 5 }));
  readPrediction(await engine.predict({ items: ["557202"] }));
  readEmbedding(await engine.embed({ texts: ["red summer dress"] }));
  const tracked: number = await engine.track({ id: "33110", type: "click" });
  readRecommendation(await engine.recommendSession({ k: 10 }));
  readRecommendation(await engine.recommendSession());
  const events: Event[] = await engine.events();
  const cleared: void = await engine.clearSession();
  readManifest(await engine.manifest());
  // @ts-expect-error: embed takes texts
  await engine.embed({ text: "red" });
  // @ts-expect-error: not a worker option
  const typo: EngineWorkerOptions = { bundleURL: "/models/model.bundle" };
  const wrapped = new EngineWorker(new Worker("/edgerec/engine-worker.js", { type: "module" }));
  engine.terminate();
  other.terminate();
  wrapped.terminate();
  void [fromBytes, facts, tracked, events, cleared, typo];
}

void [load, engineOptions, requests, useEngine, useTextEmbedder, useWorker];
