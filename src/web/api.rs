//! The JSON API under `/api/v1`: lessons, probes, observations (paginated; the newest
//! `keep_observations` per probe), rollups (per 5 minutes or hour), incidents and their
//! acknowledgement, transitions (with the observation that caused each), silences, a summary for live updates, and the OpenAPI document
//! describing all of it (`assets/openapi.json`, tested against real responses). Defines the
//! API's serialized shapes; it must not render HTML.

use super::WebState;
use super::view::{LessonView, ProbeView, Snapshot};
use crate::delivery::ack::{self, AckError, AckOutcome};
use crate::status::{LessonState, LessonStatus};
use crate::store::{IncidentRow, NewSilence, ObservationRow, RollupRow, SilenceRow, TransitionRow};
use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/summary", get(summary))
        .route("/lessons", get(lessons))
        .route("/agents", get(agents))
        .route("/lessons/{n}", get(lesson))
        .route("/probes", get(probes))
        .route("/probes/{id}", get(probe))
        .route("/observations", get(observations))
        .route("/rollups", get(rollups))
        .route("/incidents", get(incidents))
        .route("/incidents/{id}/ack", post(ack_incident))
        .route("/transitions", get(transitions))
        .route("/silences", get(silences).post(create_silence))
        .route("/silences/{id}", axum::routing::delete(delete_silence))
}

/// An API error: `{"error": "..."}` with a status.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorBody { error: &self.1 })).into_response()
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}

fn unavailable() -> ApiError {
    ApiError(
        StatusCode::SERVICE_UNAVAILABLE,
        "the store is not available".into(),
    )
}

/// The store, locked; 503 when the lock is poisoned.
fn locked_store(
    web: &WebState,
) -> Result<std::sync::MutexGuard<'_, crate::store::Store>, ApiError> {
    web.shared.store.lock().map_err(|_| unavailable())
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Invalid(m) => bad(m),
            e => ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    }
}

impl From<AckError> for ApiError {
    fn from(e: AckError) -> Self {
        let status = match &e {
            AckError::NotFound(_) => StatusCode::NOT_FOUND,
            AckError::Closed(_) => StatusCode::CONFLICT,
            AckError::Invalid(_) => StatusCode::BAD_REQUEST,
            AckError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// A lesson in the API.
#[derive(Debug, Serialize)]
pub struct LessonJson {
    /// number, rule, title, class, state, probes and pending (the probes that have not
    /// reported yet), as `status` computes them for the CLI too.
    #[serde(flatten)]
    pub status: LessonStatus,
    /// Earliest start of a failing streak among its probes (unix ms).
    pub since: Option<i64>,
    /// Oldest latest-observation time among its probes (unix ms).
    pub checked: Option<i64>,
    pub stale: bool,
}

impl LessonJson {
    fn from_view(l: &LessonView) -> Self {
        LessonJson {
            status: l.status.clone(),
            since: l.since,
            checked: l.checked,
            stale: l.stale,
        }
    }
}

/// A probe in the API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeJson {
    pub id: String,
    pub kind: String,
    /// The agent it belongs to; null for host-wide probes.
    #[serde(default)]
    pub agent: Option<String>,
    pub lessons: Vec<u32>,
    pub description: Option<String>,
    /// "enforce" or "shadow".
    pub mode: String,
    pub interval_seconds: f64,
    /// Health of the latest observation; null before the first.
    pub health: Option<String>,
    /// State machine status: ok, pending or firing.
    pub status: String,
    pub since: Option<i64>,
    pub age_seconds: Option<f64>,
    pub stale: bool,
    pub latest: Option<serde_json::Value>,
    pub open_incident: Option<serde_json::Value>,
    pub silenced_by: Option<serde_json::Value>,
}

impl ProbeJson {
    pub fn from_view(p: &ProbeView) -> Self {
        ProbeJson {
            id: p.id.clone(),
            kind: p.kind.to_string(),
            agent: p.agent.clone(),
            lessons: p.lessons.clone(),
            description: p.description.clone(),
            mode: if p.shadow { "shadow" } else { "enforce" }.into(),
            interval_seconds: p.interval_ms as f64 / 1000.0,
            health: p.health.map(|h| h.as_str().to_string()),
            status: p.status.clone(),
            since: p.since,
            age_seconds: p.age_ms.map(|a| a as f64 / 1000.0),
            stale: p.stale,
            latest: p.latest.as_ref().and_then(|o| serde_json::to_value(o).ok()),
            open_incident: p
                .open_incident
                .as_ref()
                .and_then(|i| serde_json::to_value(i).ok()),
            silenced_by: p
                .silenced_by
                .as_ref()
                .and_then(|s| serde_json::to_value(s).ok()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub host: String,
    pub version: &'static str,
    pub now: i64,
    pub lessons_total: usize,
    pub guarded: usize,
    pub violated: usize,
    pub at_risk: usize,
    pub unknown: usize,
    pub holding: usize,
    pub stale_probes: usize,
    pub open_incidents: usize,
    /// Time (unix ms) and id of the newest observation; the page reloads its data when it changes.
    pub newest_observation: Option<i64>,
    pub newest_observation_id: Option<i64>,
}

pub fn summary_of(s: &Snapshot) -> Summary {
    Summary {
        host: s.config.daemon.host.clone(),
        version: env!("CARGO_PKG_VERSION"),
        now: s.now_ms,
        lessons_total: s.lessons.len(),
        guarded: s.guarded(),
        violated: s.count(LessonState::Violated),
        at_risk: s.count(LessonState::AtRisk),
        unknown: s.count(LessonState::Unknown),
        holding: s.count(LessonState::Holding),
        stale_probes: s.probes.iter().filter(|p| p.stale).count(),
        open_incidents: s
            .probes
            .iter()
            .filter(|p| p.open_incident.is_some())
            .count(),
        newest_observation: s.newest.map(|(ts, _)| ts),
        newest_observation_id: s.newest.map(|(_, id)| id),
    }
}

fn snap(web: &WebState) -> Result<Snapshot, ApiError> {
    web.snapshot().ok_or_else(unavailable)
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::OPENAPI_JSON,
    )
        .into_response()
}

async fn summary(State(web): State<WebState>) -> ApiResult<Summary> {
    Ok(Json(summary_of(&snap(&web)?)))
}

/// The `agent` query parameter: absent or empty = every probe; `-` = host-wide probes only
/// (no agent); else one agent. Returned in the store's form (`Some("")` = host-wide).
#[derive(Debug, Deserialize, Default)]
pub struct AgentQuery {
    pub agent: Option<String>,
}

fn agent_filter(v: Option<&str>) -> Option<String> {
    match v.map(str::trim) {
        None | Some("") => None,
        Some("-") => Some(String::new()),
        Some(a) => Some(a.to_string()),
    }
}

/// Whether a probe's agent passes an `agent_filter`.
fn agent_passes(filter: Option<&str>, agent: Option<&str>) -> bool {
    filter.is_none_or(|f| agent.unwrap_or("") == f)
}

/// 404 for an agent no probe belongs to (a typo would otherwise look like "all clear").
fn known_agent(s: &Snapshot, filter: Option<&str>) -> Result<(), ApiError> {
    match filter {
        Some(a) if !a.is_empty() && s.agent(Some(a)).is_none() => Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no probe belongs to agent '{a}'"),
        )),
        _ => Ok(()),
    }
}

async fn lessons(
    State(web): State<WebState>,
    Query(q): Query<AgentQuery>,
) -> ApiResult<Vec<LessonJson>> {
    let s = snap(&web)?;
    let filter = agent_filter(q.agent.as_deref());
    known_agent(&s, filter.as_deref())?;
    let rows = match filter.as_deref() {
        None => &s.lessons,
        Some(a) => s
            .agent((!a.is_empty()).then_some(a))
            .map(|r| &r.lessons)
            .unwrap_or(&s.lessons),
    };
    Ok(Json(rows.iter().map(LessonJson::from_view).collect()))
}

/// A lesson's state in one row of the matrix.
#[derive(Debug, Serialize)]
pub struct AgentLessonJson {
    pub number: u32,
    pub state: LessonState,
    /// The row's probes guarding it.
    pub probes: Vec<String>,
    pub since: Option<i64>,
}

/// A row of the lesson × agent matrix.
#[derive(Debug, Serialize)]
pub struct AgentJson {
    /// Null for the host-wide row.
    pub agent: Option<String>,
    pub probes: usize,
    pub violated: usize,
    pub at_risk: usize,
    pub unknown: usize,
    pub holding: usize,
    pub lessons: Vec<AgentLessonJson>,
}

async fn agents(State(web): State<WebState>) -> ApiResult<Vec<AgentJson>> {
    let s = snap(&web)?;
    Ok(Json(
        s.agents
            .iter()
            .map(|row| AgentJson {
                agent: row.agent.clone(),
                probes: s.probes.iter().filter(|p| p.agent == row.agent).count(),
                violated: row.count(LessonState::Violated),
                at_risk: row.count(LessonState::AtRisk),
                unknown: row.count(LessonState::Unknown),
                holding: row.count(LessonState::Holding),
                lessons: row
                    .lessons
                    .iter()
                    .map(|l| AgentLessonJson {
                        number: l.status.number,
                        state: l.status.state,
                        probes: l.status.probes.clone(),
                        since: l.since,
                    })
                    .collect(),
            })
            .collect(),
    ))
}

async fn lesson(State(web): State<WebState>, Path(n): Path<String>) -> ApiResult<LessonJson> {
    let s = snap(&web)?;
    let n: u32 = n
        .trim_start_matches(['L', 'l'])
        .parse()
        .map_err(|_| bad(format!("'{n}' is not a lesson number")))?;
    s.lesson(n)
        .map(|l| Json(LessonJson::from_view(l)))
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no lesson {n}")))
}

async fn probes(
    State(web): State<WebState>,
    Query(q): Query<AgentQuery>,
) -> ApiResult<Vec<ProbeJson>> {
    let s = snap(&web)?;
    let filter = agent_filter(q.agent.as_deref());
    known_agent(&s, filter.as_deref())?;
    Ok(Json(
        s.probes
            .iter()
            .filter(|p| agent_passes(filter.as_deref(), p.agent.as_deref()))
            .map(ProbeJson::from_view)
            .collect(),
    ))
}

async fn probe(State(web): State<WebState>, Path(id): Path<String>) -> ApiResult<ProbeJson> {
    let s = snap(&web)?;
    s.probe(&id)
        .map(|p| Json(ProbeJson::from_view(p)))
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no probe '{id}'")))
}

/// Query of `/observations`. Numbers are parsed by hand for clear errors.
#[derive(Debug, Deserialize, Default)]
pub struct ObservationQuery {
    pub probe: Option<String>,
    /// One agent's probes; `-` for host-wide ones.
    pub agent: Option<String>,
    pub lesson: Option<String>,
    /// Unix ms or RFC 3339.
    pub since: Option<String>,
    /// Only observations with a smaller id (the `next_before` of the previous page).
    pub before: Option<String>,
    pub limit: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ObservationPage {
    pub items: Vec<ObservationRow>,
    /// Pass as `before` for the next (older) page; null on the last page.
    pub next_before: Option<i64>,
}

fn parse_num<T: std::str::FromStr>(key: &str, v: Option<&str>) -> Result<Option<T>, ApiError> {
    v.filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<T>()
                .map_err(|_| bad(format!("'{key}' must be a number, got '{s}'")))
        })
        .transpose()
}

fn parse_time(key: &str, v: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(s) = v.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(Some(ms));
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| Some(d.timestamp_millis()))
        .map_err(|_| {
            bad(format!(
                "'{key}' must be unix milliseconds or RFC 3339, got '{s}'"
            ))
        })
}

fn parse_limit(v: Option<&str>, default: u32) -> Result<u32, ApiError> {
    let l = parse_num::<u32>("limit", v)?.unwrap_or(default);
    if l == 0 || l > 1000 {
        return Err(bad("'limit' must be between 1 and 1000"));
    }
    Ok(l)
}

async fn observations(
    State(web): State<WebState>,
    Query(q): Query<ObservationQuery>,
) -> ApiResult<ObservationPage> {
    let limit = parse_limit(q.limit.as_deref(), 100)?;
    let before = parse_num::<i64>("before", q.before.as_deref())?;
    let since = parse_time("since", q.since.as_deref())?;
    let lesson = parse_num::<u32>("lesson", q.lesson.as_deref())?;
    let probes = probe_filter(&web.config(), q.probe.as_deref(), lesson);
    let store = locked_store(&web)?;
    let agent = agent_filter(q.agent.as_deref());
    let items =
        store.observations_for(probes.as_deref(), agent.as_deref(), since, before, limit)?;
    let next_before = (items.len() as u32 == limit)
        .then(|| items.last().map(|o| o.id))
        .flatten();
    Ok(Json(ObservationPage { items, next_before }))
}

/// Query of `/rollups`.
#[derive(Debug, Deserialize, Default)]
pub struct RollupQuery {
    pub probe: Option<String>,
    pub lesson: Option<String>,
    /// "5m" (default) or "1h".
    pub period: Option<String>,
    /// Periods starting at or after this (unix ms or RFC 3339).
    pub since: Option<String>,
    /// Periods starting before this (unix ms or RFC 3339).
    pub until: Option<String>,
    pub limit: Option<String>,
}

/// The probes a `probe`/`lesson` filter selects (None: all).
fn probe_filter(
    config: &crate::config::Config,
    probe: Option<&str>,
    lesson: Option<u32>,
) -> Option<Vec<String>> {
    let mut probes: Option<Vec<String>> = lesson.map(|n| {
        config
            .probes
            .iter()
            .filter(|p| p.lessons.iter().any(|l| l.0 == n))
            .map(|p| p.id.clone())
            .collect()
    });
    if let Some(p) = probe.filter(|p| !p.is_empty()) {
        probes = Some(match probes {
            Some(list) => list.into_iter().filter(|x| x == p).collect(),
            None => vec![p.to_string()],
        });
    }
    probes
}

async fn rollups(
    State(web): State<WebState>,
    Query(q): Query<RollupQuery>,
) -> ApiResult<Vec<RollupRow>> {
    let limit = parse_limit(q.limit.as_deref(), 100)?;
    let period_s = match q.period.as_deref() {
        None | Some("") | Some("5m") => 300,
        Some("1h") => 3600,
        Some(o) => return Err(bad(format!("'period' must be 5m or 1h, got '{o}'"))),
    };
    let since = parse_time("since", q.since.as_deref())?;
    let until = parse_time("until", q.until.as_deref())?;
    let lesson = parse_num::<u32>("lesson", q.lesson.as_deref())?;
    let probes = probe_filter(&web.config(), q.probe.as_deref(), lesson);
    let store = locked_store(&web)?;
    Ok(Json(store.rollups(
        probes.as_deref(),
        period_s,
        since,
        until,
        limit,
    )?))
}

#[derive(Debug, Deserialize, Default)]
pub struct IncidentQuery {
    pub probe: Option<String>,
    /// One agent's incidents; `-` for host-wide probes'.
    pub agent: Option<String>,
    /// "true": only open incidents.
    pub open: Option<String>,
    pub limit: Option<String>,
}

async fn incidents(
    State(web): State<WebState>,
    Query(q): Query<IncidentQuery>,
) -> ApiResult<Vec<IncidentRow>> {
    let limit = parse_limit(q.limit.as_deref(), 100)?;
    let open = match q.open.as_deref() {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(o) => return Err(bad(format!("'open' must be true or false, got '{o}'"))),
    };
    let store = locked_store(&web)?;
    let agent = agent_filter(q.agent.as_deref());
    Ok(Json(store.incidents_for(
        open,
        q.probe.as_deref().filter(|p| !p.is_empty()),
        agent.as_deref(),
        limit,
    )?))
}

#[derive(Debug, Deserialize, Default)]
pub struct TransitionQuery {
    pub probe: Option<String>,
    /// One agent's transitions; `-` for host-wide probes'.
    pub agent: Option<String>,
    pub limit: Option<String>,
}

async fn transitions(
    State(web): State<WebState>,
    Query(q): Query<TransitionQuery>,
) -> ApiResult<Vec<TransitionRow>> {
    let limit = parse_limit(q.limit.as_deref(), 100)?;
    let store = locked_store(&web)?;
    let agent = agent_filter(q.agent.as_deref());
    Ok(Json(store.transitions_for(
        q.probe.as_deref().filter(|p| !p.is_empty()),
        agent.as_deref(),
        limit,
    )?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    pub by: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AckResponse {
    pub incident: IncidentRow,
    /// Channels an "acknowledged" notification was queued for.
    pub queued: Vec<String>,
}

/// Acknowledges through `delivery::ack` and wakes the outbox when something was queued.
pub fn acknowledge(
    web: &WebState,
    id: i64,
    by: &str,
    note: Option<&str>,
) -> Result<AckOutcome, ApiError> {
    let config = web.config();
    let out = {
        let store = locked_store(web)?;
        ack::acknowledge(&store, &config, id, by, note, chrono::Utc::now())?
    };
    if !out.queued.is_empty() {
        web.shared.wake_outbox.notify_one();
    }
    tracing::info!(incident = id, by = %out.incident.acked_by.as_deref().unwrap_or(""), queued = out.queued.len(), "incident acknowledged");
    Ok(out)
}

async fn ack_incident(
    State(web): State<WebState>,
    Path(id): Path<String>,
    body: Result<Json<AckRequest>, JsonRejection>,
) -> ApiResult<AckResponse> {
    let id: i64 = id
        .parse()
        .map_err(|_| bad(format!("'{id}' is not an incident id")))?;
    let Json(req) = body.map_err(|e| ApiError(e.status(), e.body_text()))?;
    let out = acknowledge(&web, id, &req.by, req.note.as_deref())?;
    Ok(Json(AckResponse {
        incident: out.incident,
        queued: out.queued,
    }))
}

#[derive(Debug, Deserialize, Default)]
pub struct SilenceQuery {
    /// "true": only silences in force now.
    pub active: Option<String>,
}

async fn silences(
    State(web): State<WebState>,
    Query(q): Query<SilenceQuery>,
) -> ApiResult<Vec<SilenceRow>> {
    let active = match q.active.as_deref() {
        None | Some("") | Some("false") => None,
        Some("true") => Some(chrono::Utc::now().timestamp_millis()),
        Some(o) => return Err(bad(format!("'active' must be true or false, got '{o}'"))),
    };
    let store = locked_store(&web)?;
    Ok(Json(store.silences(active)?))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SilenceRequest {
    pub probe: Option<String>,
    pub lesson: Option<u32>,
    pub tag: Option<String>,
    pub host: Option<String>,
    /// Only this agent's probes.
    pub agent: Option<String>,
    pub reason: String,
    /// Who silences.
    pub by: String,
    /// How long, e.g. "1h"; or `expires` (unix ms).
    pub duration: Option<String>,
    pub expires: Option<i64>,
}

/// Longest silence accepted.
pub const MAX_SILENCE: std::time::Duration = std::time::Duration::from_secs(90 * 86_400);

/// Validates and stores a silence.
pub fn create(web: &WebState, req: &SilenceRequest) -> Result<SilenceRow, ApiError> {
    let now = chrono::Utc::now().timestamp_millis();
    let by = req.by.trim();
    if by.is_empty() || by.chars().count() > ack::MAX_BY {
        return Err(bad(format!("'by' must be 1 to {} characters", ack::MAX_BY)));
    }
    if req.reason.trim().is_empty() || req.reason.chars().count() > ack::MAX_NOTE {
        return Err(bad(format!(
            "'reason' must be 1 to {} characters",
            ack::MAX_NOTE
        )));
    }
    let expires = match (&req.duration, req.expires) {
        (Some(d), None) => {
            let d = crate::duration::parse(d).map_err(bad)?;
            if d.is_zero() || d > MAX_SILENCE {
                return Err(bad("'duration' must be more than 0 and at most 90 days"));
            }
            now + d.as_millis() as i64
        }
        (None, Some(e)) if e > now && e - now <= MAX_SILENCE.as_millis() as i64 => e,
        (None, Some(_)) => {
            return Err(bad(
                "'expires' must be in the future, at most 90 days ahead",
            ));
        }
        _ => return Err(bad("set either 'duration' or 'expires'")),
    };
    let config = web.config();
    if let Some(p) = &req.probe
        && !config.probes.iter().any(|x| &x.id == p)
    {
        return Err(ApiError(StatusCode::NOT_FOUND, format!("no probe '{p}'")));
    }
    if let Some(l) = req.lesson
        && config.catalog.get(l).is_none()
    {
        return Err(ApiError(StatusCode::NOT_FOUND, format!("no lesson {l}")));
    }
    let agent = req
        .agent
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty());
    if let Some(a) = agent
        && !config.probes.iter().any(|p| p.agent.as_deref() == Some(a))
    {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no probe belongs to agent '{a}'"),
        ));
    }
    let store = locked_store(web)?;
    let id = store.add_silence(
        &NewSilence {
            lesson: req.lesson,
            probe: req.probe.clone(),
            tag: req.tag.clone(),
            host: req.host.clone(),
            agent: agent.map(str::to_string),
            reason: req.reason.trim().to_string(),
            created_by: by.to_string(),
            expires,
        },
        now,
    )?;
    let row = store
        .silences(None)?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "silence vanished".into()))?;
    tracing::info!(silence = id, by = %row.created_by, "silence created");
    Ok(row)
}

async fn create_silence(
    State(web): State<WebState>,
    body: Result<Json<SilenceRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<SilenceRow>), ApiError> {
    let Json(req) = body.map_err(|e| ApiError(e.status(), e.body_text()))?;
    Ok((StatusCode::CREATED, Json(create(&web, &req)?)))
}

/// Ends a silence early.
pub fn remove(web: &WebState, id: i64) -> Result<(), ApiError> {
    let store = locked_store(web)?;
    if store.remove_silence(id, chrono::Utc::now().timestamp_millis())? {
        tracing::info!(silence = id, "silence removed");
        Ok(())
    } else {
        Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no active silence #{id}"),
        ))
    }
}

async fn delete_silence(
    State(web): State<WebState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| bad(format!("'{id}' is not a silence id")))?;
    remove(&web, id)?;
    Ok(StatusCode::NO_CONTENT)
}
