//! The page's client of the DFT scorer's JSON API (`scorer-api`'s types).

use scorer_api::{ErrorBody, Health, Smiles, SubmitRequest, Submitted};
use serde::Deserialize;

pub use scorer_api::{Job, JobState, Level};

use crate::browser::{self, HttpError};

/// Where the scorer listens by default (`scorer serve`).
pub const DEFAULT_URL: &str = "http://127.0.0.1:8765";
/// Seconds one long-poll may wait for a job to change.
const POLL_WAIT_S: u32 = 20;
/// A request that takes longer than this has hung; it is abandoned with a message.
const REQUEST_TIMEOUT_MS: u32 = 40_000;

pub struct ScorerClient {
    base: String,
}

impl ScorerClient {
    pub fn new(url: &str) -> ScorerClient {
        ScorerClient {
            base: url.trim().trim_end_matches('/').to_string(),
        }
    }

    /// Turns a transport or HTTP failure into a message that says what to do.
    fn explain(&self, error: HttpError) -> String {
        match error {
            HttpError::Unreachable(_) => format!(
                "The scorer at {} does not answer, or does not allow this page's origin ({}). Start it with `cargo run --release -p scorer -- serve --allow-origin {}`, or correct the URL.",
                self.base,
                browser::origin(),
                browser::origin()
            ),
            HttpError::TimedOut => format!(
                "The scorer at {} did not answer within {} s; it may be overloaded or hung.",
                self.base,
                REQUEST_TIMEOUT_MS / 1000
            ),
            HttpError::Status { status, body } => {
                let reason = serde_json::from_str::<ErrorBody>(&body)
                    .map(|b| b.error)
                    .unwrap_or(body);
                format!("The scorer refused the request ({status}): {reason}")
            }
        }
    }

    async fn get<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T, String> {
        let text = browser::http(
            "GET",
            &format!("{}{path}", self.base),
            None,
            REQUEST_TIMEOUT_MS,
        )
        .await
        .map_err(|e| self.explain(e))?;
        serde_json::from_str(&text)
            .map_err(|e| format!("the scorer's answer was not understood: {e}"))
    }

    pub async fn health(&self) -> Result<Health, String> {
        self.get("/v1/health").await
    }

    /// Submits one molecule at `level`; the job may already be done (cached).
    pub async fn submit(&self, smiles: &str, level: Level) -> Result<Job, String> {
        let request = SubmitRequest {
            smiles: Smiles::One(smiles.to_string()),
            level: Some(level),
        };
        let body = serde_json::to_string(&request).expect("a request serialises");
        let text = browser::http(
            "POST",
            &format!("{}/v1/jobs", self.base),
            Some(&body),
            REQUEST_TIMEOUT_MS,
        )
        .await
        .map_err(|e| self.explain(e))?;
        let submitted: Submitted = serde_json::from_str(&text)
            .map_err(|e| format!("the scorer's answer was not understood: {e}"))?;
        submitted
            .jobs
            .into_iter()
            .next()
            .map(|submitted| submitted.job)
            .ok_or_else(|| "the scorer answered with no job".to_string())
    }

    /// The job's state, waiting up to a long-poll for it to change.
    pub async fn poll(&self, id: i64) -> Result<Job, String> {
        self.get(&format!("/v1/jobs/{id}?wait={POLL_WAIT_S}")).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_parse_as_the_scorer_writes_them() {
        let text = r#"{"id": 3, "smiles": "O", "canonical": "O", "level": "tiny", "state": "done",
            "cached": false, "result": {"homo_ha": -0.3, "lumo_ha": 0.1, "gap_ha": 0.4,
            "homo_ev": -8.1, "lumo_ev": 2.7, "gap_ev": 10.8, "energy_ha": -75.3, "converged": true,
            "method": "RKS/b3lypg", "basis": "sto-3g", "density_fitting": false, "level": "tiny",
            "geometry": "MMFF94", "xyz": "3\n\nO 0 0 0\nH 1 0 0\nH 0 1 0", "embed_s": 0.1,
            "wall_s": 1.2, "cpu_s": 1.1}, "worker_pid": 7, "created_at": 1.0, "started_at": 1.0,
            "finished_at": 2.2}"#;
        let job: Job = serde_json::from_str(text).unwrap();
        assert_eq!(job.state, JobState::Done);
        let result = job.result.unwrap();
        assert_eq!(result.gap_ev, 10.8);
        assert!(result.xyz.starts_with("3\n"));
        let failed: Job = serde_json::from_str(
            r#"{"id": 4, "smiles": "C", "canonical": "C", "level": "qm9", "state": "failed", "cached": false,
            "error": "timeout after 5 s", "created_at": 1.0, "started_at": 1.5, "finished_at": 6.5}"#,
        )
        .unwrap();
        assert_eq!(failed.error.as_deref(), Some("timeout after 5 s"));
        assert!(failed.state.is_final());
    }

    #[test]
    fn urls_lose_trailing_slashes() {
        assert_eq!(ScorerClient::new(" http://h:1/ ").base, "http://h:1");
    }
}
