//! The versioned JSON API (see `scorer/openapi.yaml`).
//!
//! Every error is JSON, `{"error": MESSAGE, "code": CODE}`, with a 4xx status
//! that says whose fault it is (`guard::json_errors` rewrites the few that
//! axum and tower-http produce as text); bad molecules are refused here,
//! before any worker sees them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::rejection::JsonRejection;
use std::net::SocketAddr;

use anyhow::{Result, bail};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use serde::Deserialize;
use serde_json::{Value, json};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use crate::guard::{self, Access};
use crate::level::Level;
use crate::limit::{NewJobLimiter, Refusal};
use crate::lock;
use crate::store::{Disposition, Store};
use crate::validate::{Limits, validate_smiles};
use crate::workers::Signals;

/// Longest a client may ask `GET /v1/jobs/{id}?wait=` to hold the request.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// Longest any request may take (a full long-poll and some).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);
/// Longest a client may take to send its body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Suggested pause after a full queue.
const RETRY_AFTER_S: u64 = 30;

pub struct AppState {
    pub store: Arc<Store>,
    pub signals: Arc<Signals>,
    pub limits: Limits,
    pub queue_capacity: usize,
    pub workers: usize,
    pub job_timeout: Duration,
    pub worker_versions: Arc<Mutex<Value>>,
    pub new_jobs: NewJobLimiter,
}

/// How the HTTP layer is set up, beside the handlers' state.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Web origins allowed by CORS; `*` allows any.
    pub allowed_origins: Vec<String>,
    pub max_body_bytes: usize,
    pub access: Access,
    /// The built browser app (trunk's `dist/`), served at `/` beside the API,
    /// so the page and the API share one origin and need no CORS.
    pub app_dir: Option<std::path::PathBuf>,
}

async fn no_endpoint() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see /v1/health and the README",
    )
}

/// What answers outside the API's routes: the app's files when there is an
/// app, else (and for files it lacks) a JSON 404.
fn static_files(app_dir: Option<&std::path::Path>) -> axum::routing::MethodRouter {
    match app_dir {
        Some(dir) => axum::routing::get_service(
            ServeDir::new(dir)
                .append_index_html_on_directories(true)
                .not_found_service(axum::routing::any(no_endpoint)),
        ),
        None => axum::routing::any(no_endpoint),
    }
}

/// The CORS origins, checked: `*` alone means any origin; anything else must
/// be `scheme://host[:port]`.
fn allowed_origins(origins: &[String]) -> Result<AllowOrigin> {
    if origins.iter().any(|o| o == "*") {
        return Ok(AllowOrigin::any());
    }
    let mut values = Vec::with_capacity(origins.len());
    for origin in origins {
        let uri: axum::http::Uri = origin
            .parse()
            .map_err(|_| anyhow::anyhow!("--allow-origin {origin:?} is not an origin"))?;
        let bare = uri.path_and_query().is_none_or(|p| p.as_str() == "/");
        if uri.scheme().is_none() || uri.authority().is_none() || !bare {
            bail!(
                "--allow-origin {origin:?} is not an origin; write it as scheme://host[:port], e.g. http://127.0.0.1:8080"
            );
        }
        values.push(HeaderValue::from_str(origin.trim_end_matches('/'))?);
    }
    Ok(AllowOrigin::list(values))
}

pub fn router(state: Arc<AppState>, http: &HttpConfig) -> Result<Router> {
    let cors = CorsLayer::new()
        .allow_origin(allowed_origins(&http.allowed_origins)?)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION]);
    let access = http.access.clone();
    Ok(Router::new()
        .route("/v1/jobs", post(submit))
        .route("/v1/jobs/{id}", get(job))
        .route("/v1/jobs/{id}/geometry", get(geometry))
        .route("/v1/molecules", get(molecule))
        .route("/v1/health", get(health))
        .fallback_service(static_files(http.app_dir.as_deref()))
        .layer(DefaultBodyLimit::max(http.max_body_bytes))
        // Outermost last: errors become JSON, panics 500s, then the time
        // limits, the request's shape, its Host, CORS, and the token.
        .layer(middleware::from_fn_with_state(
            access.clone(),
            guard::check_token,
        ))
        .layer(cors)
        .layer(middleware::from_fn_with_state(access, guard::check_host))
        .layer(middleware::from_fn(guard::request_shape))
        .layer(RequestBodyTimeoutLayer::new(BODY_TIMEOUT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn(guard::json_errors))
        .with_state(state))
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Option<Value>,
    /// Seconds for `Retry-After`.
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    fn internal(e: anyhow::Error) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("{e:#}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.message, "code": self.code});
        if let Some(details) = self.details {
            body["details"] = details;
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitRequest {
    smiles: OneOrMany,
    level: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

fn parse_level(name: Option<&str>) -> Result<Level, ApiError> {
    match name {
        None => Ok(Level::Qm9),
        Some(name) => Level::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = Level::ALL.iter().map(|l| l.name()).collect();
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "unknown_level",
                format!("unknown level {name:?}; choose one of {}", known.join(", ")),
            )
        }),
    }
}

async fn submit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Json<SubmitRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(request) = body.map_err(|rejection| {
        let code = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "not_json",
            _ => "bad_request",
        };
        let hint = r#"; send {"smiles": "CCO" or ["CCO", ...], "level": "qm9" | "fast" | "tiny"}"#;
        ApiError::new(
            rejection.status(),
            code,
            format!("{}{hint}", rejection.body_text()),
        )
    })?;
    let level = parse_level(request.level.as_deref())?;
    let smiles = match request.smiles {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(list) => list,
    };
    let max = state.limits.max_molecules_per_request;
    if smiles.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "no_molecules",
            "the smiles list is empty",
        ));
    }
    if smiles.len() > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_molecules",
            format!(
                "{} molecules in one request; the limit is {max}",
                smiles.len()
            ),
        ));
    }
    let mut valid = Vec::with_capacity(smiles.len());
    let mut problems = Vec::new();
    for (index, s) in smiles.iter().enumerate() {
        match validate_smiles(s, &state.limits) {
            Ok(m) => valid.push(m),
            Err(e) => problems.push(json!({"index": index, "smiles": s, "error": e.to_string()})),
        }
    }
    if let Some(first) = problems.first() {
        let message = if smiles.len() == 1 {
            first["error"].as_str().unwrap_or_default().to_string()
        } else {
            format!(
                "{} of {} molecules are invalid, nothing was queued; first, #{}: {}",
                problems.len(),
                smiles.len(),
                first["index"],
                first["error"].as_str().unwrap_or_default()
            )
        };
        let mut error = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_molecule",
            message,
        );
        error.details = Some(Value::Array(problems));
        return Err(error);
    }
    // Every molecule may create a row; tokens for those that join an
    // existing job are given back below.
    let client = peer.ip();
    state
        .new_jobs
        .take(client, valid.len(), Instant::now())
        .map_err(|refusal| rate_limited(refusal, valid.len()))?;
    let taken = state
        .store
        .submit(&valid, level, state.queue_capacity)
        .map_err(|e| {
            state.new_jobs.give_back(client, valid.len());
            ApiError::internal(e)
        })?
        .map_err(|full| {
            state.new_jobs.give_back(client, valid.len());
            let mut error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "queue_full",
                full.to_string(),
            );
            error.retry_after = Some(RETRY_AFTER_S);
            error
        })?;
    let joined = taken
        .iter()
        .filter(|(_, d)| *d == Disposition::Joined)
        .count();
    state.new_jobs.give_back(client, joined);
    if taken.iter().any(|(_, d)| *d == Disposition::Queued) {
        state.signals.work_arrived();
    }
    let jobs: Vec<Value> = taken
        .into_iter()
        .zip(&valid)
        .map(|((job, disposition), molecule)| {
            let mut v = serde_json::to_value(job).expect("job serialises");
            v["disposition"] = serde_json::to_value(disposition).expect("disposition serialises");
            if !molecule.warnings.is_empty() {
                v["warnings"] = json!(molecule.warnings);
            }
            v
        })
        .collect();
    Ok((StatusCode::ACCEPTED, Json(json!({ "jobs": jobs }))))
}

fn rate_limited(refusal: Refusal, wanted: usize) -> ApiError {
    match refusal {
        Refusal::Wait(wait) => {
            let mut error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "this client has used its allowance of new jobs; {wanted} more are possible in {:.0} s",
                    wait.as_secs_f64().ceil()
                ),
            );
            error.retry_after = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
            error
        }
        Refusal::NeverInOneRequest { per_minute } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_molecules",
            format!(
                "{wanted} molecules in one request, more than this scorer allows a client per minute ({per_minute}); send fewer at once"
            ),
        ),
    }
}

fn no_such_job(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_such_job",
        format!("no job {id:?}"),
    )
}

/// A job id from the path; anything that is not one names no job.
fn parse_job_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| no_such_job(id))
}

/// `GET /v1/jobs/{id}[?wait=SECONDS]`: with `wait`, holds the request until
/// the job is done or failed, or the wait is over (long-poll).
async fn job(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let job_id = parse_job_id(&id)?;
    let not_found = || no_such_job(&id);
    let wait = match query.get("wait") {
        None => Duration::ZERO,
        Some(w) => w
            .parse::<f64>()
            .ok()
            .filter(|w| w.is_finite() && *w >= 0.0)
            // Bounded before the conversion, which panics past u64 seconds.
            .map(|w| Duration::from_secs_f64(w.min(MAX_WAIT.as_secs_f64())))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_wait",
                    format!("wait={w:?} is not a number of seconds"),
                )
            })?,
    };
    let deadline = Instant::now() + wait;
    let mut changes = state.signals.subscribe();
    loop {
        let job = state
            .store
            .job(job_id)
            .map_err(ApiError::internal)?
            .ok_or_else(not_found)?;
        let left = deadline.saturating_duration_since(Instant::now());
        if job.state.is_final() || left.is_zero() {
            return Ok(Json(serde_json::to_value(job).expect("job serialises")));
        }
        let _ = tokio::time::timeout(left, changes.changed()).await;
    }
}

/// `GET /v1/jobs/{id}/geometry?format=xyz|sdf`: the 3D geometry the DFT
/// ran on, as XYZ or as an SDF record carrying the results as data items.
async fn geometry(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let job_id = parse_job_id(&id)?;
    let format = query.get("format").map_or("sdf", String::as_str);
    if format != "sdf" && format != "xyz" {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_format",
            format!("format={format:?}; choose sdf or xyz"),
        ));
    }
    let job = state
        .store
        .job(job_id)
        .map_err(ApiError::internal)?
        .ok_or_else(|| no_such_job(&id))?;
    let result = match (&job.state, &job.result) {
        (crate::store::JobState::Done, Some(result)) => result,
        _ => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_done",
                format!(
                    "job {job_id} is {:?}; a geometry exists once it is done",
                    job.state
                ),
            ));
        }
    };
    let missing = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_geometry",
            "this result was stored before the scorer kept mol blocks; nothing to write",
        )
    };
    let (content_type, body) = if format == "xyz" {
        let xyz = result["xyz"].as_str().ok_or_else(missing)?;
        ("chemical/x-xyz", format!("{xyz}\n"))
    } else {
        let molblock = result["molblock"].as_str().ok_or_else(missing)?;
        let text = |key: &str| match &result[key] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let properties = [
            ("SMILES", job.canonical.clone()),
            ("level", job.level.clone()),
            ("method", format!("{} {}", text("method"), text("basis"))),
            ("homo_ev", text("homo_ev")),
            ("lumo_ev", text("lumo_ev")),
            ("gap_ev", text("gap_ev")),
            ("energy_ha", text("energy_ha")),
            ("geometry", text("geometry")),
            ("scorer_job", job_id.to_string()),
        ];
        let record = model_core::chem::sdf_record(molblock, &properties)
            .map_err(|e| ApiError::internal(e.into()))?;
        ("chemical/x-mdl-sdfile", record)
    };
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// `GET /v1/molecules?smiles=S[&level=L]`: stored results for a molecule,
/// found by its canonical SMILES however it is spelled.
async fn molecule(
    State(state): State<Arc<AppState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let smiles = query.get("smiles").ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "no_smiles",
            "give the molecule as ?smiles=...",
        )
    })?;
    let level = match query.get("level") {
        Some(l) => Some(parse_level(Some(l))?),
        None => None,
    };
    let m = validate_smiles(smiles, &state.limits).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_molecule",
            e.to_string(),
        )
    })?;
    let results = state
        .store
        .results_for(&m.canonical, level)
        .map_err(ApiError::internal)?;
    Ok(Json(json!({
        "smiles": smiles,
        "canonical": m.canonical,
        "warnings": m.warnings,
        "results": results,
    })))
}

async fn health(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let counts = state.store.counts().map_err(ApiError::internal)?;
    let levels: Vec<Value> = Level::ALL
        .iter()
        .map(|l| json!({"name": l.name(), "method": l.method()}))
        .collect();
    let versions = lock(&state.worker_versions).clone();
    Ok(Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "api": "v1",
        "workers": state.workers,
        "job_timeout_s": state.job_timeout.as_secs_f64(),
        "queue": counts,
        "queue_capacity": state.queue_capacity,
        "limits": {
            "max_heavy_atoms": state.limits.max_heavy_atoms,
            "max_molecules_per_request": state.limits.max_molecules_per_request,
            "max_new_jobs_per_minute": state.new_jobs.per_minute(),
        },
        "levels": levels,
        "worker_versions": versions,
    })))
}
