//! Jobs and what DFT found.

use serde::{Deserialize, Serialize};

use crate::Level;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobState {
    pub const ALL: [JobState; 4] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Failed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    pub fn from_name(name: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Done or failed: the job will not change again.
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Done | JobState::Failed)
    }
}

/// A job as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    pub id: i64,
    /// As submitted.
    pub smiles: String,
    pub canonical: String,
    pub level: Level,
    pub state: JobState,
    /// The result was already stored; no calculation ran for this job.
    pub cached: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<DftResult>,
    /// Why the job failed (e.g. "timeout ...", "worker crashed ...").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_pid: Option<i64>,
    /// Seconds since the Unix epoch.
    pub created_at: f64,
    pub started_at: Option<f64>,
    pub finished_at: Option<f64>,
}

/// What DFT found for one molecule (`scorer/py/dft.py` writes it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DftResult {
    pub homo_ha: f64,
    pub lumo_ha: f64,
    pub gap_ha: f64,
    pub homo_ev: f64,
    pub lumo_ev: f64,
    pub gap_ev: f64,
    pub energy_ha: f64,
    /// Always true in a stored result: an SCF that does not converge after
    /// the robust retries fails the job and is never stored.
    pub converged: bool,
    /// The SCF settings tried, in order.
    #[serde(default)]
    pub scf_attempts: Vec<String>,
    /// e.g. `RKS/b3lypg`.
    pub method: String,
    pub basis: String,
    #[serde(default)]
    pub density_fitting: bool,
    /// `cpu` or `gpu4pyscf`; absent in results stored before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// The relaxation the 3D geometry got (MMFF94, or UFF where MMFF lacks parameters).
    pub geometry: String,
    pub xyz: String,
    /// The same geometry with its bonds (V2000 mol block); absent in results
    /// stored before the scorer kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub molblock: Option<String>,
    #[serde(default)]
    pub embed_s: f64,
    pub wall_s: f64,
    #[serde(default)]
    pub cpu_s: f64,
}

/// How a submitted molecule was taken in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    /// Queued for a new calculation.
    Queued,
    /// Answered from stored results.
    Cached,
    /// The same molecule at the same level is already queued or running;
    /// the submission shares that job.
    Joined,
}

/// One submitted molecule's job, with how it was taken in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubmittedJob {
    #[serde(flatten)]
    pub job: Job,
    pub disposition: Disposition,
    /// The structural rules the molecule breaks (a multiple bond in a 3- or
    /// 4-ring, an sp atom in a ring of 8 or fewer, an anti-Bredt double bond,
    /// an O-O bond); the job is still queued.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The answer to `POST /v1/jobs`: one job per molecule, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Submitted {
    pub jobs: Vec<SubmittedJob>,
}
