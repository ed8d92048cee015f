//! The Cloudflare Worker: HTTP glue around `edgerec::Engine`.
//!
//! Routes:
//! - `POST /v1/recommend`: body `{"history": [...], "k": 20}`, answers `{"items": [...], "ignored": [...]}`.
//! - `GET /v1/health`: the loaded model's manifest summary.
//!
//! The bundle is a static asset (`/models/model.bundle`, see `wrangler.toml`), fetched and verified
//! once per isolate; models can therefore be replaced without rebuilding the worker.

use std::sync::OnceLock;

use edgerec::{Engine, MAX_REQUEST_BYTES};
use serde_json::json;
use worker::{event, Context, Env, Method, Request, Response, Result};

/// Where the bundle lives among the static assets.
const BUNDLE_PATH: &str = "/models/model.bundle";

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
    let assets = match env.assets("ASSETS") {
        Ok(assets) => assets,
        Err(e) => return unavailable("model_unavailable", format!("no ASSETS binding: {e}")),
    };
    let mut response = match assets
        .fetch(format!("https://assets.local{BUNDLE_PATH}"), None)
        .await
    {
        Ok(r) if r.status_code() == 200 => r,
        Ok(r) => {
            return unavailable(
                "model_unavailable",
                format!("fetching {BUNDLE_PATH} returned HTTP {}", r.status_code()),
            )
        }
        Err(e) => {
            return unavailable(
                "model_unavailable",
                format!("fetching {BUNDLE_PATH} failed: {e}"),
            )
        }
    };
    let bytes = match response.bytes().await {
        Ok(b) => b,
        Err(e) => {
            return unavailable(
                "model_unavailable",
                format!("reading {BUNDLE_PATH} failed: {e}"),
            )
        }
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
    match Engine::from_bundle_trusted(&bytes, trusted.as_ref()) {
        // A concurrent request may have loaded it first; either copy is the same model.
        Ok(engine) => Ok(ENGINE.get_or_init(|| engine)),
        Err(e) => unavailable(e.code(), format!("the model bundle was refused: {e}")),
    }
}

async fn recommend(mut req: Request, env: &Env) -> Result<Response> {
    // Refuse oversized bodies before reading them when the client declares the length.
    if let Some(length) = req
        .headers()
        .get("content-length")?
        .and_then(|v| v.parse::<usize>().ok())
    {
        if length > MAX_REQUEST_BYTES {
            let message =
                format!("request body is {length} bytes; the limit is {MAX_REQUEST_BYTES} bytes");
            return error_response(413, "body_too_large", None, &message);
        }
    }
    let body = req.bytes().await?;
    let request = match edgerec::RecommendRequest::from_json(&body) {
        Ok(r) => r,
        Err(e) => {
            let status = if e.code() == "body_too_large" {
                413
            } else {
                400
            };
            return error_response(status, e.code(), e.field(), &e.to_string());
        }
    };
    let engine = match engine(env).await {
        Ok(engine) => engine,
        Err(response) => return response,
    };
    match engine.recommend(&request) {
        Ok(answer) => Response::from_json(&answer),
        Err(e) => error_response(400, e.code(), e.field(), &e.to_string()),
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
    }))
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    match (req.method(), path.as_str()) {
        (Method::Post, "/v1/recommend") => recommend(req, &env).await,
        (Method::Get, "/v1/health") => health(&env).await,
        (_, "/v1/recommend") | (_, "/v1/health") => error_response(
            405,
            "method_not_allowed",
            None,
            &format!("{} is not allowed on {path}", req.method()),
        ),
        _ => error_response(404, "not_found", None, &format!("no route for {path}")),
    }
}
