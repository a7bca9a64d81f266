//! The HTTP server on `daemon.listen`: the ledger page, `/healthz` and the JSON API. It reads
//! the store and the current config; it never runs probes.

use crate::daemon::Shared;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Json};
use axum::routing::get;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio_util::sync::CancellationToken;

pub mod pages;

pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    cancel: CancellationToken,
) {
    let app = Router::new()
        .route("/", get(index))
        .route("/healthz", get(healthz))
        .route("/api/v1/lessons", get(api_lessons))
        .with_state(shared);
    let _ = axum::serve(listener, app)
        .with_graceful_shutdown(async move { cancel.cancelled().await })
        .await;
}

async fn healthz(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    if !s.live.scheduler_running.load(Ordering::Acquire) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "scheduler not running\n".to_string(),
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

fn lesson_view(
    s: &Shared,
) -> (
    Arc<crate::config::Config>,
    Vec<crate::status::LessonStatus>,
    Vec<crate::store::ObservationRow>,
) {
    let config = s.config.borrow().clone();
    let latest = s
        .store
        .lock()
        .ok()
        .and_then(|st| st.latest_observations().ok())
        .unwrap_or_default();
    let health = latest
        .iter()
        .filter_map(|o| crate::probe::Health::parse(&o.health).map(|h| (o.probe.clone(), h)))
        .collect();
    let lessons = crate::status::lessons(&config, &health);
    (config, lessons, latest)
}

async fn api_lessons(State(s): State<Arc<Shared>>) -> Json<Vec<crate::status::LessonStatus>> {
    Json(lesson_view(&s).1)
}

async fn index(State(s): State<Arc<Shared>>) -> Html<String> {
    let (config, lessons, latest) = lesson_view(&s);
    Html(pages::ledger(&config, &lessons, &latest))
}
