// The worker side of worker-client.js: loads the wasm engine and one bundle, keeps one Session,
// and answers `{id, method, arg}` messages with `{id, ok, value}` or `{id, ok: false, error}`.
let engine;
let session;

const methods = {
  async init({ moduleUrl, bundle, bundleUrl, textEncoderUrl, engineOptions }) {
    const url = moduleUrl ?? new URL("./pkg/web/edgerec_js.js", import.meta.url).href;
    const wasm = await import(url);
    await wasm.default();
    const bytes = bundle ?? (await fetchBytes(bundleUrl));
    const options = { ...engineOptions };
    if (textEncoderUrl) options.textEncoder = await fetchBytes(textEncoderUrl);
    engine = new wasm.Engine(bytes, options);
    session = new wasm.Session();
    return {
      itemCount: engine.itemCount, hasCatalog: engine.hasCatalog, modelKind: engine.manifest().model_kind,
      hasItemText: engine.hasItemText, hasTextEncoder: engine.hasTextEncoder,
    };
  },
  recommend: (request) => engine.recommend(request),
  similar: (request) => engine.similar(request),
  predict: (request) => engine.predict(request),
  embed: (request) => engine.embed(request),
  track: (event) => {
    session.track(event);
    return session.length;
  },
  recommendSession: (request) => engine.recommendSession(session, request),
  events: () => session.events(),
  clearSession: () => session.clear(),
  manifest: () => engine.manifest(),
};

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw Object.assign(new Error(`fetching ${url} returned HTTP ${response.status}`), { code: "bundle_unavailable" });
  return new Uint8Array(await response.arrayBuffer());
}

self.onmessage = async ({ data: { id, method, arg } }) => {
  try {
    if (!methods[method]) throw Object.assign(new Error(`no method ${method}`), { code: "unknown_method" });
    if (method !== "init" && !engine) throw Object.assign(new Error("the engine is not loaded yet"), { code: "not_ready" });
    self.postMessage({ id, ok: true, value: await methods[method](arg) });
  } catch (e) {
    self.postMessage({ id, ok: false, error: { name: e.name, message: e.message, code: e.code ?? "internal", field: e.field } });
  }
};
