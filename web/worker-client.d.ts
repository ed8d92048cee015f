import type {
  EngineOptions, Event, Manifest, PredictRequest, PredictResponse, RecommendRequest, RecommendResponse,
  SessionRequest, SimilarRequest, SimilarResponse,
} from "./pkg/web/edgerec_js.js";

export interface EngineWorkerOptions {
  /** Where to fetch the bundle (the worker fetches it). */
  bundleUrl?: string | URL;
  /** Or the bundle's bytes. */
  bundle?: ArrayBuffer | Uint8Array;
  /** engine-worker.js (default: next to worker-client.js). */
  workerUrl?: string | URL;
  /** The `web` build's edgerec_js.js (default: ./pkg/web/edgerec_js.js next to engine-worker.js). */
  moduleUrl?: string | URL;
  /** Passed to `new Engine(bytes, engineOptions)` in the worker: `publicKey`, `compute`. */
  engineOptions?: EngineOptions;
}

/** The engine running in a Web Worker; every call resolves with the engine's answer or rejects with an EdgerecError. */
export declare class EngineWorker {
  info: { itemCount: number; hasCatalog: boolean; modelKind: string };
  recommend(request: RecommendRequest): Promise<RecommendResponse>;
  similar(request: SimilarRequest): Promise<SimilarResponse>;
  predict(request: PredictRequest): Promise<PredictResponse>;
  track(event: Event): Promise<number>;
  recommendSession(request?: SessionRequest): Promise<RecommendResponse>;
  events(): Promise<Event[]>;
  clearSession(): Promise<void>;
  manifest(): Promise<Manifest>;
  terminate(): void;
}

export declare function createEngineWorker(options: EngineWorkerOptions): Promise<EngineWorker>;
