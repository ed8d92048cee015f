// Runs the edgerec engine in a Web Worker so that a page's main thread never blocks: loading and
// verifying the bundle, tracking and recommending all happen in the worker; every call returns a
// promise. Errors reject with an `Error` carrying the engine's `code` and `field`.
//
//   import { createEngineWorker } from "edgerec/worker-client";
//   const engine = await createEngineWorker({ bundleUrl: "/models/model.bundle" });
//   const { items } = await engine.recommend({ history: ["21115"], k: 10 });
//   await engine.track({ id: "33110", type: "cart" });          // the worker keeps the session
//   const next = await engine.recommendSession({ k: 10 });
//   engine.terminate();

/**
 * Starts a worker, loads the bundle in it and resolves once it answers.
 * @param {object} options
 * @param {string|URL} [options.bundleUrl] where to fetch the bundle (fetched inside the worker)
 * @param {ArrayBuffer|Uint8Array} [options.bundle] or the bundle bytes (copied into the worker)
 * @param {string|URL} [options.workerUrl] the engine-worker.js module (default: next to this file)
 * @param {string|URL} [options.textEncoderUrl] the text-encoder bundle of the bundle's item texts (`embed`, `similar({text})`)
 * @param {string|URL} [options.moduleUrl] the wasm-bindgen `web` build's edgerec_js.js (default: ./pkg/web/edgerec_js.js next to engine-worker.js)
 * @returns {Promise<EngineWorker>}
 */
export async function createEngineWorker(options = {}) {
  const workerUrl = options.workerUrl ?? new URL("./engine-worker.js", import.meta.url);
  const worker = new Worker(workerUrl, { type: "module" });
  const client = new EngineWorker(worker);
  const init = { moduleUrl: options.moduleUrl && String(options.moduleUrl), engineOptions: options.engineOptions };
  if (options.textEncoderUrl) init.textEncoderUrl = String(new URL(options.textEncoderUrl, globalThis.location?.href));
  if (options.bundle) init.bundle = options.bundle instanceof Uint8Array ? options.bundle : new Uint8Array(options.bundle);
  else if (options.bundleUrl) init.bundleUrl = String(new URL(options.bundleUrl, globalThis.location?.href));
  else throw new TypeError("createEngineWorker needs `bundleUrl` or `bundle`");
  try {
    client.info = await client.call("init", init);
  } catch (e) {
    worker.terminate();
    throw e;
  }
  return client;
}

/** The main-thread side: each method posts one message and resolves with the worker's answer. */
export class EngineWorker {
  #worker;
  #next = 1;
  #pending = new Map();

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = ({ data }) => {
      const waiting = this.#pending.get(data.id);
      if (!waiting) return;
      this.#pending.delete(data.id);
      if (data.ok) waiting.resolve(data.value);
      else waiting.reject(Object.assign(new Error(data.error.message), data.error));
    };
    worker.onerror = (event) => {
      const error = Object.assign(new Error(`engine worker failed: ${event.message ?? "unknown error"}`), { code: "worker_error" });
      for (const waiting of this.#pending.values()) waiting.reject(error);
      this.#pending.clear();
    };
  }

  /** @internal */
  call(method, arg) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, method, arg });
    });
  }

  /** `Engine.recommend` in the worker. */
  recommend(request) {
    return this.call("recommend", request);
  }
  /** `Engine.similar` in the worker. */
  similar(request) {
    return this.call("similar", request);
  }
  /** `Engine.predict` in the worker. */
  predict(request) {
    return this.call("predict", request);
  }
  /** `Engine.embed` in the worker (with `textEncoderUrl`). */
  embed(request) {
    return this.call("embed", request);
  }
  /** Adds an event to the session the worker keeps (`Session.track`). */
  track(event) {
    return this.call("track", event);
  }
  /** `Engine.recommendSession` with the worker's session. */
  recommendSession(request = {}) {
    return this.call("recommendSession", request);
  }
  /** The tracked events, oldest first. */
  events() {
    return this.call("events");
  }
  /** Forgets the tracked events. */
  clearSession() {
    return this.call("clearSession");
  }
  manifest() {
    return this.call("manifest");
  }
  /** Stops the worker; pending calls never settle. */
  terminate() {
    this.#worker.terminate();
  }
}
