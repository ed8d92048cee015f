import type {
  EdgerecErrorCode, EmbedRequest, EmbedResponse, EngineOptions, Event, Manifest, PredictRequest, PredictResponse,
  RecommendRequest, RecommendResponse, SessionRequest, SimilarRequest, SimilarResponse,
} from "./pkg/web/edgerec_js.js";

export interface EngineWorkerOptions {
  /** Where to fetch the bundle (the worker fetches it). Give `bundleUrl` or `bundle`. */
  bundleUrl?: string | URL;
  /** Or the bundle's bytes (copied into the worker). */
  bundle?: ArrayBuffer | Uint8Array;
  /** engine-worker.js (default: next to worker-client.js). */
  workerUrl?: string | URL;
  /**
   * Where to fetch the text-encoder bundle that embedded the bundle's item texts (the worker fetches
   * it and passes it as `EngineOptions.textEncoder`): `embed` and `similar({text})` then answer.
   */
  textEncoderUrl?: string | URL;
  /** The `web` build's edgerec_js.js (default: ./pkg/web/edgerec_js.js next to engine-worker.js). */
  moduleUrl?: string | URL;
  /** Passed to `new Engine(bytes, engineOptions)` in the worker: `publicKey`, `compute`, `textEncoder`. */
  engineOptions?: EngineOptions;
}

/** What the loaded engine is, answered once the worker has loaded the bundle. */
export interface EngineWorkerInfo {
  /** `engine.itemCount`. */
  itemCount: number;
  /** `engine.hasCatalog`: category, price and availability filters work. */
  hasCatalog: boolean;
  /** `engine.manifest().model_kind`: "covisit" or "sasrec". */
  modelKind: string;
  /** `engine.hasItemText`: the bundle's items carry text vectors (text candidates, `similar({text})`). */
  hasItemText: boolean;
  /** `engine.hasTextEncoder`: `embed` and `similar({text})` answer (a `textEncoderUrl` was given). */
  hasTextEncoder: boolean;
}

/**
 * The codes a call may reject with: the engine's, plus the worker's own: `worker_error` (the worker
 * failed; every pending call rejects), `bundle_unavailable` (fetching the bundle or encoder failed),
 * `not_ready`, `unknown_method`, `internal` (an error without a code).
 */
export type EngineWorkerErrorCode =
  | EdgerecErrorCode | "worker_error" | "bundle_unavailable" | "not_ready" | "unknown_method" | "internal";

/** What a call rejects with: an `Error` with the engine's `code` and, where a request field is at fault, `field`. */
export interface EngineWorkerError extends Error {
  code: EngineWorkerErrorCode;
  field?: string;
}

/** The engine running in a Web Worker; every call resolves with the engine's answer or rejects with an EngineWorkerError. */
export declare class EngineWorker {
  /** Wraps a worker running engine-worker.js; `createEngineWorker` does this and loads the bundle. */
  constructor(worker: Worker);
  /** Set by `createEngineWorker` once the bundle is loaded. */
  info: EngineWorkerInfo;
  recommend(request: RecommendRequest): Promise<RecommendResponse>;
  similar(request: SimilarRequest): Promise<SimilarResponse>;
  predict(request: PredictRequest): Promise<PredictResponse>;
  /** `Engine.embed` in the worker (needs `textEncoderUrl`, else rejects with `unsupported_request`). */
  embed(request: EmbedRequest): Promise<EmbedResponse>;
  /** Adds an event to the session the worker keeps; resolves with the number of tracked events. */
  track(event: Event): Promise<number>;
  recommendSession(request?: SessionRequest): Promise<RecommendResponse>;
  events(): Promise<Event[]>;
  clearSession(): Promise<void>;
  manifest(): Promise<Manifest>;
  /** Stops the worker; pending calls never settle. */
  terminate(): void;
}

/** Starts a worker, loads the bundle (and text encoder) in it and resolves once it answers. */
export declare function createEngineWorker(options: EngineWorkerOptions): Promise<EngineWorker>;
