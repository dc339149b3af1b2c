//! The versioned JSON API: handlers over `scorer-api`'s types, described
//! by the OpenAPI document `openapi.rs` generates from them.
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
use scorer_api::{
    Disposition, ErrorBody, Health, InvalidMolecule, Job, JobState, Level, LevelInfo,
    Limits as ApiLimits, MoleculeResults, SubmitRequest, Submitted, SubmittedJob,
};
use serde_json::Value;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use crate::guard::{self, Access};
use crate::limit::{NewJobLimiter, Refusal};
use crate::lock;
use crate::store::Store;
use crate::validate::{Limits, validate_smiles};
use crate::workers::Signals;

/// Longest a client may ask `GET /v1/jobs/{id}?wait=` to hold the request.
pub const MAX_WAIT: Duration = Duration::from_secs(scorer_api::MAX_WAIT_S);
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
        .route("/v1/openapi.json", get(openapi))
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
    details: Option<Vec<InvalidMolecule>>,
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
        let body = ErrorBody {
            error: self.message,
            code: self.code.to_string(),
            details: self.details,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

fn parse_level(name: &str) -> Result<Level, ApiError> {
    name.parse().map_err(|e: scorer_api::UnknownLevel| {
        ApiError::new(StatusCode::BAD_REQUEST, "unknown_level", e.to_string())
    })
}

/// Submit one molecule or a list, all or nothing.
#[utoipa::path(
    post,
    path = "/v1/jobs",
    tag = "v1",
    request_body = SubmitRequest,
    responses(
        (status = 202, description = "One job per molecule, in order", body = Submitted),
        (status = 400, description = "Not JSON (bad_request), an unknown level (unknown_level) or no molecules (no_molecules)", body = ErrorBody),
        (status = 413, description = "Too many molecules or too large a body", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "JSON of another shape (bad_request), or an invalid molecule (invalid_molecule; nothing was queued; for a list, details names each one)", body = ErrorBody),
        (status = 429, description = "Queue full (queue_full) or this client's allowance of new jobs used (rate_limited); nothing was queued",
            body = ErrorBody, headers(("Retry-After" = u64, description = "seconds to wait"))),
    )
)]
async fn submit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Submitted>), ApiError> {
    let Json(body) = body.map_err(|rejection| {
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
    // The level is looked at first, so that a misspelt one gets its own code.
    if let Some(name) = body.get("level").and_then(Value::as_str) {
        parse_level(name)?;
    }
    // JSON of the wrong shape: 422, as axum answers it.
    let request: SubmitRequest = serde_json::from_value(body).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_request",
            format!(
                "{e}; send {{\"smiles\": \"CCO\" or [\"CCO\", ...], \"level\": \"qm9\" | \"fast\" | \"tiny\"}}"
            ),
        )
    })?;
    let level = request.level.unwrap_or(Level::Qm9);
    let smiles = request.smiles.into_vec();
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
            Err(e) => problems.push(InvalidMolecule {
                index,
                smiles: s.clone(),
                error: e.to_string(),
            }),
        }
    }
    if let Some(first) = problems.first() {
        let message = if smiles.len() == 1 {
            first.error.clone()
        } else {
            format!(
                "{} of {} molecules are invalid, nothing was queued; first, #{}: {}",
                problems.len(),
                smiles.len(),
                first.index,
                first.error
            )
        };
        let mut error = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_molecule",
            message,
        );
        error.details = Some(problems);
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
    let jobs = taken
        .into_iter()
        .zip(valid)
        .map(|((job, disposition), molecule)| SubmittedJob {
            job,
            disposition,
            warnings: molecule.warnings,
        })
        .collect();
    Ok((StatusCode::ACCEPTED, Json(Submitted { jobs })))
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

/// A job's state and result; with `wait`, long-polls until it is final.
///
/// With `wait`, holds the request until the job is done or failed, or the
/// wait is over.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}",
    tag = "v1",
    params(
        ("id" = i64, Path, description = "the job's id"),
        ("wait" = Option<f64>, Query, description = "seconds to hold the request while the job is queued or running; larger values than 60 are taken as 60"),
    ),
    responses(
        (status = 200, description = "The job", body = Job),
        (status = 400, description = "A bad wait (bad_wait)", body = ErrorBody),
        (status = 404, description = "No such job (no_such_job)", body = ErrorBody),
    )
)]
async fn job(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Job>, ApiError> {
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
            return Ok(Json(job));
        }
        let _ = tokio::time::timeout(left, changes.changed()).await;
    }
}

/// The 3D geometry a done job's DFT ran on, as SDF or XYZ.
///
/// SDF is one record (RDKit's V2000 mol block, hydrogens explicit) with the
/// results as data items: SMILES, level, method, homo_ev, lumo_ev, gap_ev,
/// energy_ha, geometry, scorer_job.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/geometry",
    tag = "v1",
    params(
        ("id" = i64, Path, description = "the job's id"),
        ("format" = Option<String>, Query, description = "sdf (the default) or xyz"),
    ),
    responses(
        (status = 200, description = "The geometry", content(
            (String = "chemical/x-mdl-sdfile"),
            (String = "chemical/x-xyz"),
        )),
        (status = 400, description = "An unknown format (bad_format)", body = ErrorBody),
        (status = 404, description = "No such job, or a result stored without a geometry", body = ErrorBody),
        (status = 409, description = "The job is not done (not_done)", body = ErrorBody),
    )
)]
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
    let result = match (job.state, &job.result) {
        (JobState::Done, Some(result)) => result,
        _ => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_done",
                format!(
                    "job {job_id} is {}; a geometry exists once it is done",
                    job.state.name()
                ),
            ));
        }
    };
    let (content_type, body) = if format == "xyz" {
        ("chemical/x-xyz", format!("{}\n", result.xyz))
    } else {
        let molblock = result.molblock.as_deref().ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no_geometry",
                "this result was stored before the scorer kept mol blocks; nothing to write",
            )
        })?;
        let properties = [
            ("SMILES", job.canonical.clone()),
            ("level", job.level.name().to_string()),
            ("method", format!("{} {}", result.method, result.basis)),
            ("homo_ev", result.homo_ev.to_string()),
            ("lumo_ev", result.lumo_ev.to_string()),
            ("gap_ev", result.gap_ev.to_string()),
            ("energy_ha", result.energy_ha.to_string()),
            ("geometry", result.geometry.clone()),
            ("scorer_job", job_id.to_string()),
        ];
        let record = model_core::chem::sdf_record(molblock, &properties)
            .map_err(|e| ApiError::internal(e.into()))?;
        ("chemical/x-mdl-sdfile", record)
    };
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// Stored results for a molecule, found by its canonical SMILES however it is spelled.
#[utoipa::path(
    get,
    path = "/v1/molecules",
    tag = "v1",
    params(
        ("smiles" = String, Query, description = "the molecule"),
        ("level" = Option<Level>, Query, description = "only this level"),
    ),
    responses(
        (status = 200, description = "Results at each level computed so far", body = MoleculeResults),
        (status = 400, description = "No smiles, or an unknown level", body = ErrorBody),
        (status = 422, description = "An invalid molecule (invalid_molecule)", body = ErrorBody),
    )
)]
async fn molecule(
    State(state): State<Arc<AppState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<MoleculeResults>, ApiError> {
    let smiles = query.get("smiles").ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "no_smiles",
            "give the molecule as ?smiles=...",
        )
    })?;
    let level = match query.get("level") {
        Some(l) => Some(parse_level(l)?),
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
    Ok(Json(MoleculeResults {
        smiles: smiles.clone(),
        canonical: m.canonical,
        warnings: m.warnings,
        results,
    }))
}

/// Liveness, queue metrics, limits, levels and code versions.
#[utoipa::path(
    get,
    path = "/v1/health",
    tag = "v1",
    responses((status = 200, description = "Service status", body = Health))
)]
async fn health(State(state): State<Arc<AppState>>) -> Result<Json<Health>, ApiError> {
    let queue = state.store.counts().map_err(ApiError::internal)?;
    let levels = Level::ALL
        .iter()
        .map(|&name| LevelInfo {
            name,
            method: name.method().to_string(),
        })
        .collect();
    let worker_versions = lock(&state.worker_versions).clone();
    Ok(Json(Health {
        status: "ok".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        api: scorer_api::API_VERSION.to_string(),
        workers: state.workers,
        job_timeout_s: state.job_timeout.as_secs_f64(),
        queue,
        queue_capacity: state.queue_capacity,
        limits: ApiLimits {
            max_heavy_atoms: state.limits.max_heavy_atoms,
            max_molecules_per_request: state.limits.max_molecules_per_request,
            max_new_jobs_per_minute: state.new_jobs.per_minute(),
        },
        levels,
        worker_versions,
    }))
}

/// This API's OpenAPI document.
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}
