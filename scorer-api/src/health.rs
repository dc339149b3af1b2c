//! `GET /v1/health`: liveness, queue, limits, levels and code versions.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok` while the service answers.
    pub status: String,
    /// The scorer's version.
    pub version: String,
    /// The API's version (`v1`).
    pub api: String,
    /// Jobs computed at once (local worker processes or cluster tasks in flight).
    pub workers: usize,
    pub job_timeout_s: f64,
    pub queue: QueueCounts,
    pub queue_capacity: usize,
    pub limits: Limits,
    pub levels: Vec<LevelInfo>,
    /// The workers' code versions (`null` until the first has started).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub worker_versions: serde_json::Value,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueCounts {
    pub queued: usize,
    pub running: usize,
    pub done: usize,
    pub failed: usize,
    /// Distinct (molecule, level) results computed and stored.
    pub results: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Limits {
    pub max_heavy_atoms: usize,
    pub max_molecules_per_request: usize,
    /// New job rows one client address may create per minute.
    pub max_new_jobs_per_minute: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LevelInfo {
    pub name: crate::Level,
    /// Functional and basis.
    pub method: String,
}
