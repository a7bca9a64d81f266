//! The HTTP server on `daemon.listen`: the ledger page, lesson and probe pages with their forms,
//! `/healthz`, the JSON API under `/api/v1`, `/metrics` and the embedded assets. Owns the routing
//! and the layers every response passes (auth, Host and cross-site checks, secret scrubbing,
//! security headers).
//! It reads the store and the current config; it never runs probes.

use crate::shared::Shared;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio_util::sync::CancellationToken;

pub mod api;
pub mod auth;
pub mod badge;
pub mod matrix;
pub mod metrics;
pub mod pages;
pub mod render;
pub mod serve;
pub mod view;

/// What every handler gets: the daemon's shared state and this server's CSRF token.
pub struct Web {
    pub shared: Arc<Shared>,
    /// Random per daemon start, kept in memory; the HTML forms carry it.
    pub csrf: String,
    /// Basic-auth verification off the runtime, cached and rate-limited.
    pub verifier: auth::Verifier,
}

pub type WebState = Arc<Web>;

impl Web {
    pub fn config(&self) -> Arc<crate::config::Config> {
        self.shared.config.borrow().clone()
    }

    /// A consistent view of probes and lessons at `now`.
    pub fn snapshot(&self) -> Option<view::Snapshot> {
        let config = self.config();
        let now = chrono::Utc::now().timestamp_millis();
        let started = self.shared.live.started.load(Ordering::Acquire);
        let store = self.shared.store.lock().ok()?;
        Some(view::snapshot(config, &store, now, started))
    }
}

pub const STYLE_CSS: &str = include_str!("assets/style.css");
pub const APP_JS: &str = include_str!("assets/app.js");
pub const OPENAPI_JSON: &str = include_str!("assets/openapi.json");
pub const ICON_SVG: &str = include_str!("assets/icon.svg");

/// The Content-Security-Policy of every response: only this server's own script and style, no
/// inline script, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

pub fn router(shared: Arc<Shared>) -> Router {
    let web: WebState = Arc::new(Web {
        shared,
        csrf: auth::new_csrf_token(),
        verifier: auth::Verifier::default(),
    });
    Router::new()
        .route("/", get(pages::index))
        .route("/lesson/{n}", get(pages::lesson))
        .route("/probe/{id}", get(pages::probe))
        .route("/agent/{id}", get(pages::agent))
        .route("/agent/{id}/silence", post(pages::form_agent_silence))
        .route("/incident/{id}/ack", post(pages::form_ack))
        .route("/probe/{id}/silence", post(pages::form_silence))
        .route("/silence/{id}/remove", post(pages::form_unsilence))
        .route("/assets/style.css", get(asset_css))
        .route("/assets/app.js", get(asset_js))
        .route("/assets/icon.svg", get(asset_icon))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::handler))
        .nest("/api/v1", api::routes())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(web.clone(), guard))
        .layer(middleware::from_fn(scrub_secrets))
        .layer(middleware::from_fn(security_headers))
        .with_state(web)
}

pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    cancel: CancellationToken,
) {
    let limits = shared.config.borrow().daemon.web;
    let live = shared.live.clone();
    let app = router(shared);
    serve::run(listener, app, limits, live, cancel).await;
}

/// Auth on everything but `/healthz`; Host check against DNS rebinding when there is no auth;
/// cross-site state changes refused. Basic-auth passwords are verified off the runtime
/// (`auth::Verifier`).
async fn guard(State(web): State<WebState>, req: Request, next: Next) -> Response {
    if req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    let config = web.config();
    let client = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let checks = auth::check_host(&config.daemon, req.headers())
        .and_then(|()| auth::check_credentials(&config.daemon, req.headers()))
        .and_then(|c| auth::check_same_origin(req.method(), req.headers()).map(|()| c));
    let checks = match (checks, &config.daemon.basic_auth) {
        (Ok(auth::Credentials::Accepted), _) => Ok(()),
        (Ok(auth::Credentials::Basic { user, password }), Some(basic)) => {
            web.verifier.verify(basic, &user, &password, client).await
        }
        (Ok(auth::Credentials::Basic { .. }), None) => Err(auth::Refusal::Unauthorized),
        (Err(e), _) => Err(e),
    };
    match checks {
        Ok(()) => next.run(req).await,
        Err(auth::Refusal::Unauthorized) => {
            let mut r = (
                StatusCode::UNAUTHORIZED,
                "authentication required: send the bearer token from daemon.auth_token_file (Authorization: Bearer ...) or basic auth\n",
            )
                .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(auth::challenge(&config.daemon)),
            );
            r
        }
        Err(auth::Refusal::Forbidden(why)) => {
            (StatusCode::FORBIDDEN, format!("{why}\n")).into_response()
        }
        Err(auth::Refusal::TooManyFailures(wait)) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, (wait.as_secs() + 1).to_string())],
            "too many failed passwords from this address; try again later\n",
        )
            .into_response(),
    }
}

/// Largest response body the scrubber buffers; the server's own pages and answers stay far
/// below it, and a larger one is refused rather than sent unscrubbed.
const MAX_SCRUBBED_BODY: usize = 64 * 1024 * 1024;

/// Every page, API answer and `/metrics` is scrubbed of registered secrets (`redact::scrub`)
/// on its way out, whatever the handler put in it (a configured URL, an error text).
async fn scrub_secrets(req: Request, next: Next) -> Response {
    let assets = req.uri().path().starts_with("/assets/");
    let r = next.run(req).await;
    if assets || crate::redact::registered() == 0 {
        return r;
    }
    let (mut parts, body) = r.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_SCRUBBED_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "response too large to scrub\n",
            )
                .into_response();
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let body = match crate::redact::scrub(&text) {
        std::borrow::Cow::Borrowed(_) => axum::body::Body::from(bytes),
        std::borrow::Cow::Owned(clean) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            axum::body::Body::from(clean)
        }
    };
    Response::from_parts(parts, body)
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    r
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

async fn asset_css() -> Response {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

async fn asset_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn asset_icon() -> Response {
    asset("image/svg+xml", ICON_SVG)
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

async fn healthz(State(web): State<WebState>) -> impl IntoResponse {
    let s = &web.shared;
    if !s.live.scheduler_running.load(Ordering::Acquire) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "scheduler not running\n".to_string(),
        );
    }
    if crate::platform::fd_exhausted_within(std::time::Duration::from_secs(10)) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "out of file descriptors (ledgerd's own fault): raise LimitNOFILE or lower daemon.max_connections\n"
                .to_string(),
        );
    }
    if !s.live.store_ok.load(Ordering::Acquire) {
        let why = s
            .live
            .store_error
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default();
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store not writable: {why}\n"),
        );
    }
    (StatusCode::OK, "ok\n".to_string())
}
