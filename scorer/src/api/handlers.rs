//! The endpoints, each annotated for the OpenAPI document.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use scorer_api::{
    Disposition, ErrorBody, Health, InvalidMolecule, Job, JobState, Level, LevelInfo,
    Limits as ApiLimits, MoleculeResults, SubmitRequest, Submitted, SubmittedJob,
};
use serde_json::Value;

use super::error::ApiError;
use super::state::AppState;
use crate::limit::Refusal;
use crate::lock;
use crate::validate::validate_smiles;

/// Longest a client may ask `GET /v1/jobs/{id}?wait=` to hold the request.
pub const MAX_WAIT: Duration = Duration::from_secs(scorer_api::MAX_WAIT_S);
/// Suggested pause after a full queue.
const RETRY_AFTER_S: u64 = 30;

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
pub async fn submit(
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
pub async fn job(
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
pub async fn geometry(
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
pub async fn molecule(
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
pub async fn health(State(state): State<Arc<AppState>>) -> Result<Json<Health>, ApiError> {
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
