//! The Cloudflare Worker: HTTP glue around `edgerec::Engine`.
//!
//! Routes (JSON in, JSON out; errors are `{"error": {"code", "message", "field"?}}`):
//! - `POST /v1/recommend`: body `{"history": [...], "k": 20}`, answers `{"items": [...], "ignored": [...]}`.
//! - `POST /v1/similar`: body `{"item": "...", "k": 20}`, answers `{"item", "items": [...]}`.
//! - `POST /v1/predict`: body `{"history": [...], "items": [...]}`, answers `{"predictions": [...]}`
//!   (a transformer bundle with conversion heads; otherwise 422 `unsupported_request`).
//! - `POST /v1/embed`: body `{"texts": [...]}`, answers `{"dimension", "vectors": [...]}` (with a
//!   text encoder, the `EDGEREC_TEXT_ENCODER` asset; otherwise 422). `/v1/similar` takes `{"text"}`
//!   too (semantic search over the bundle's item text vectors).
//! - `GET /v1/health`: the loaded model's manifest summary.
//!
//! The bundle is a static asset (`/models/model.bundle`, or the path in the `EDGEREC_BUNDLE`
//! variable; see `wrangler.toml`), fetched and verified once per isolate; models can therefore be
//! replaced without rebuilding the worker. Co-visitation and transformer bundles both load.

use std::sync::OnceLock;

use edgerec::{Engine, RequestError, MAX_REQUEST_BYTES};
use serde::Serialize;
use serde_json::json;
use worker::wasm_bindgen::JsCast;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{event, js_sys, web_sys, Context, Env, Method, Request, Response, Result};

/// Where the bundle lives among the static assets, unless `EDGEREC_BUNDLE` says otherwise.
const DEFAULT_BUNDLE_PATH: &str = "/models/model.bundle";

/// One engine per isolate; workers are single-threaded, so no lock is ever contended.
static ENGINE: OnceLock<Engine> = OnceLock::new();

fn error_response(status: u16, code: &str, field: Option<&str>, message: &str) -> Result<Response> {
    let mut body = json!({ "error": { "code": code, "message": message } });
    if let Some(field) = field {
        body["error"]["field"] = json!(field);
    }
    Ok(Response::from_json(&body)?.with_status(status))
}

async fn engine(env: &Env) -> std::result::Result<&'static Engine, Result<Response>> {
    if let Some(engine) = ENGINE.get() {
        return Ok(engine);
    }
    let unavailable = |code: &str, message: String| Err(error_response(503, code, None, &message));
    let bundle_path = env
        .var("EDGEREC_BUNDLE")
        .map(|v| v.to_string())
        .unwrap_or_else(|_| DEFAULT_BUNDLE_PATH.to_string());
    let bytes = match asset(env, "EDGEREC_BUNDLE", &bundle_path).await {
        Ok(bytes) => bytes,
        Err(message) => return unavailable("model_unavailable", message),
    };
    // With `EDGEREC_PUBLIC_KEY` set (wrangler.toml [vars] or `--var`), only bundles signed by
    // that key are served.
    let trusted = match env.var("EDGEREC_PUBLIC_KEY") {
        Ok(key) => match edgerec::TrustedKey::from_hex(&key.to_string()) {
            Ok(key) => Some(key),
            Err(e) => return unavailable(e.code(), format!("EDGEREC_PUBLIC_KEY: {e}")),
        },
        Err(_) => None,
    };
    let mut engine = match Engine::from_bundle_trusted(&bytes, trusted.as_ref()) {
        Ok(engine) => engine,
        Err(e) => return unavailable(e.code(), format!("the model bundle was refused: {e}")),
    };
    // With `EDGEREC_TEXT_ENCODER` (the asset path of the text-encoder bundle that embedded the
    // item texts), `/v1/embed` and `/v1/similar` by text answer.
    if let Ok(path) = env.var("EDGEREC_TEXT_ENCODER") {
        let path = path.to_string();
        let bytes = match asset(env, "EDGEREC_TEXT_ENCODER", &path).await {
            Ok(bytes) => bytes,
            Err(message) => return unavailable("model_unavailable", message),
        };
        let loaded =
            edgerec::TextEmbedder::from_bundle_bytes(&bytes, trusted.as_ref(), Default::default())
                .and_then(|embedder| engine.with_text_encoder(embedder));
        engine = match loaded {
            Ok(engine) => engine,
            Err(e) => {
                return unavailable(
                    e.code(),
                    format!("the text encoder {path} was refused: {e}"),
                )
            }
        };
    }
    // A concurrent request may have loaded it first; either copy is the same model.
    Ok(ENGINE.get_or_init(|| engine))
}

/// The bytes of a static asset (`path` from the variable `var`, starting with `/`).
async fn asset(env: &Env, var: &str, path: &str) -> std::result::Result<Vec<u8>, String> {
    if !path.starts_with('/') {
        return Err(format!(
            "{var} must be an asset path starting with `/`, got `{path}`"
        ));
    }
    let assets = env
        .assets("ASSETS")
        .map_err(|e| format!("no ASSETS binding: {e}"))?;
    let mut response = assets
        .fetch(format!("https://assets.local{path}"), None)
        .await
        .map_err(|e| format!("fetching {path} failed: {e}"))?;
    if response.status_code() != 200 {
        return Err(format!(
            "fetching {path} returned HTTP {}",
            response.status_code()
        ));
    }
    response
        .bytes()
        .await
        .map_err(|e| format!("reading {path} failed: {e}"))
}

/// The HTTP status of a request the engine refused.
fn request_status(e: &RequestError) -> u16 {
    match e {
        RequestError::TooLarge { .. } => 413,
        RequestError::Unsupported { .. } => 422,
        RequestError::Internal { .. } => 500,
        _ => 400,
    }
}

/// The request body, read chunk by chunk and never past `limit` bytes: a declared
/// `Content-Length` over the limit is refused before reading, and a chunked body (no length)
/// is cancelled as soon as it passes the limit, so a large upload cannot fill the isolate's
/// memory. `Ok(Err(message))` names the limit that was exceeded.
async fn read_body(req: &Request, limit: usize) -> Result<std::result::Result<Vec<u8>, String>> {
    let too_large = |what: String| Ok(Err(format!("{what}; the limit is {limit} bytes")));
    if let Some(length) = req
        .headers()
        .get("content-length")?
        .and_then(|v| v.parse::<usize>().ok())
    {
        if length > limit {
            return too_large(format!("request body is {length} bytes"));
        }
    }
    // No body at all: the parser reports an empty request.
    let Some(stream) = req.inner().body() else {
        return Ok(Ok(Vec::new()));
    };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::new();
    loop {
        let read = JsFuture::from(reader.read()).await?;
        if js_sys::Reflect::get(&read, &"done".into())?.is_truthy() {
            return Ok(Ok(body));
        }
        let chunk = js_sys::Uint8Array::new(&js_sys::Reflect::get(&read, &"value".into())?);
        let end = body.len() + chunk.length() as usize;
        if end > limit {
            // Cancelled, and the cancel awaited, before the answer: the runtime must not be
            // left reading a body nobody will consume.
            let _ = JsFuture::from(reader.cancel()).await;
            return too_large(format!("request body is over {end} bytes (read so far)"));
        }
        let start = body.len();
        body.resize(end, 0);
        chunk.copy_to(&mut body[start..]);
    }
}

/// One JSON endpoint: size check, parse (errors name the field), load the engine, answer.
async fn answer<Q, A: Serialize>(
    req: Request,
    env: &Env,
    parse: fn(&[u8]) -> std::result::Result<Q, RequestError>,
    run: fn(&Engine, &Q) -> std::result::Result<A, RequestError>,
) -> Result<Response> {
    let body = match read_body(&req, MAX_REQUEST_BYTES).await? {
        Ok(body) => body,
        Err(message) => return error_response(413, "body_too_large", None, &message),
    };
    let request = match parse(&body) {
        Ok(r) => r,
        Err(e) => return error_response(request_status(&e), e.code(), e.field(), &e.to_string()),
    };
    let engine = match engine(env).await {
        Ok(engine) => engine,
        Err(response) => return response,
    };
    match run(engine, &request) {
        Ok(answer) => Response::from_json(&answer),
        Err(e) => error_response(request_status(&e), e.code(), e.field(), &e.to_string()),
    }
}

async fn health(env: &Env) -> Result<Response> {
    let engine = match engine(env).await {
        Ok(engine) => engine,
        Err(response) => return response,
    };
    let m = engine.manifest();
    Response::from_json(&json!({
        "status": "ok",
        "model_kind": m.model_kind,
        "counts": m.counts,
        "metrics": m.metrics,
        "created_at": m.created_at,
        "payload_sha256": m.payload_sha256,
        "item_text": engine.has_item_text(),
        "text_encoder": engine.has_text_encoder(),
    }))
}

/// The methods a route answers (the `Allow` header of 405 and OPTIONS answers); `None` for an
/// unknown path.
fn allowed_methods(path: &str) -> Option<&'static str> {
    match path {
        "/v1/recommend" | "/v1/similar" | "/v1/predict" | "/v1/embed" => Some("POST, OPTIONS"),
        "/v1/health" => Some("GET, HEAD, OPTIONS"),
        _ => None,
    }
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    match (req.method(), path.as_str()) {
        (Method::Post, "/v1/recommend") => {
            answer(
                req,
                &env,
                edgerec::RecommendRequest::from_json,
                Engine::recommend,
            )
            .await
        }
        (Method::Post, "/v1/similar") => {
            answer(
                req,
                &env,
                edgerec::SimilarRequest::from_json,
                Engine::similar,
            )
            .await
        }
        (Method::Post, "/v1/predict") => {
            answer(
                req,
                &env,
                edgerec::PredictRequest::from_json,
                Engine::predict,
            )
            .await
        }
        (Method::Post, "/v1/embed") => {
            answer(req, &env, edgerec::EmbedRequest::from_json, Engine::embed).await
        }
        (Method::Get, "/v1/health") => health(&env).await,
        (Method::Head, "/v1/health") => {
            // The GET answer's status and headers, without its body.
            let get = health(&env).await?;
            Ok(Response::empty()?
                .with_status(get.status_code())
                .with_headers(get.headers().clone()))
        }
        (method, route) if allowed_methods(route).is_some() => {
            let allow = allowed_methods(route).unwrap_or_default();
            if method == Method::Options {
                let mut response = Response::empty()?.with_status(204);
                response.headers_mut().set("Allow", allow)?;
                return Ok(response);
            }
            let mut response = error_response(
                405,
                "method_not_allowed",
                None,
                &format!("{method} is not allowed on {path}; allowed: {allow}"),
            )?;
            response.headers_mut().set("Allow", allow)?;
            Ok(response)
        }
        _ => error_response(404, "not_found", None, &format!("no route for {path}")),
    }
}
