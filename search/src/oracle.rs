//! The DFT oracle: a client of the scorer's HTTP API (`scorer-api`'s types),
//! and the calibration that puts pre-screen gaps on the `qm9` level's scale.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use scorer_api::{
    DftResult, ErrorBody, Health, JobState, Level, MoleculeResults, Smiles, SubmitRequest,
    Submitted,
};

/// A scorer's answer for one molecule.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Done { gap_ev: f64, converged: bool },
    Failed(String),
}

impl Outcome {
    /// A gap the search can use: done, and converged.
    pub fn has_gap(&self) -> bool {
        matches!(
            self,
            Outcome::Done {
                converged: true,
                ..
            }
        )
    }

    /// Why there is no gap, or the gap.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Done {
                gap_ev,
                converged: true,
            } => format!("gap {gap_ev:.3} eV"),
            Outcome::Done { .. } => "SCF did not converge".to_string(),
            Outcome::Failed(reason) => reason.clone(),
        }
    }
}

pub struct Scorer {
    base: String,
    agent: ureq::Agent,
    /// `Authorization` header value, from `MOLGAP_SCORER_TOKEN`.
    authorization: Option<String>,
}

/// Most molecules one request may carry (the scorer's default limit).
const MAX_PER_REQUEST: usize = scorer_api::DEFAULT_MAX_PER_REQUEST;
/// Submissions answered 429 are retried this many times, each after the
/// scorer's `Retry-After` (capped), then given up with the scorer's message.
const MAX_SUBMIT_ATTEMPTS: usize = 60;
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(60);

/// The message of an error body, or the body itself when it is not one.
fn error_message(text: &str) -> String {
    serde_json::from_str::<ErrorBody>(text)
        .map(|e| e.error)
        .unwrap_or_else(|_| text.to_string())
}

/// The pause a 429 asks for: its `Retry-After` in seconds, else 10 s.
fn retry_pause(retry_after: Option<&str>) -> Duration {
    retry_after
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(10), Duration::from_secs)
        .clamp(Duration::from_secs(1), MAX_RETRY_PAUSE)
}

impl Scorer {
    /// Connects to the scorer at `url` and checks that it answers.
    pub fn connect(url: &str) -> Result<Scorer> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(120)))
            .http_status_as_error(false)
            .build()
            .into();
        let scorer = Scorer {
            base: url.trim_end_matches('/').to_string(),
            agent,
            authorization: std::env::var("MOLGAP_SCORER_TOKEN")
                .ok()
                .map(|t| format!("Bearer {}", t.trim())),
        };
        let health: Health = scorer.get("/v1/health", &[]).with_context(|| {
            format!(
                "no scorer answers at {url}; start one with `cargo run --release -p scorer -- serve` or pass --scorer URL"
            )
        })?;
        if health.status != "ok" {
            bail!("the scorer at {url} is not healthy: {}", health.status);
        }
        Ok(scorer)
    }

    /// `request` with the access token, when one is set.
    fn authorized<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.authorization {
            Some(auth) => request.header("authorization", auth),
            None => request,
        }
    }

    /// GET with query parameters (encoded by ureq); the typed body, or the scorer's error.
    fn get<T: serde::de::DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> Result<T> {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        for (key, value) in query {
            request = request.query(*key, *value);
        }
        let mut response = self.authorized(request).call()?;
        let status = response.status();
        let text = response.body_mut().read_to_string()?;
        if !status.is_success() {
            bail!("scorer: {} ({status})", error_message(&text));
        }
        serde_json::from_str(&text)
            .with_context(|| format!("the scorer's answer to {path} is not understood"))
    }

    /// The scorer's stored result for a molecule at `level`, if it has one.
    pub fn stored_result(&self, smiles: &str, level: Level) -> Result<Option<DftResult>> {
        let found: MoleculeResults = self.get(
            "/v1/molecules",
            &[("smiles", smiles), ("level", level.name())],
        )?;
        Ok(found.results.into_iter().next().map(|r| r.result))
    }

    /// Queues `smiles` at `level`; returns one job id per molecule.
    pub fn submit(&self, smiles: &[String], level: Level) -> Result<Vec<i64>> {
        let mut ids = Vec::with_capacity(smiles.len());
        for chunk in smiles.chunks(MAX_PER_REQUEST) {
            let body = SubmitRequest {
                smiles: Smiles::Many(chunk.to_vec()),
                level: Some(level),
            };
            for attempt in 1.. {
                let request = self.authorized(self.agent.post(format!("{}/v1/jobs", self.base)));
                let mut response = request.send_json(&body)?;
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let text = response.body_mut().read_to_string()?;
                if status.as_u16() == 429 {
                    // A full queue or this client's allowance: wait as the
                    // scorer asks rather than lose the molecules, a bounded number of times.
                    if attempt == MAX_SUBMIT_ATTEMPTS {
                        bail!(
                            "the scorer still refuses after {attempt} attempts: {}",
                            error_message(&text)
                        );
                    }
                    std::thread::sleep(retry_pause(retry_after.as_deref()));
                    continue;
                }
                if !status.is_success() {
                    bail!("the scorer refused the molecules: {}", error_message(&text));
                }
                let submitted: Submitted = serde_json::from_str(&text)
                    .context("the scorer's answer to a submission is not understood")?;
                ids.extend(submitted.jobs.iter().map(|j| j.job.id));
                break;
            }
        }
        Ok(ids)
    }

    /// Waits (long-polling) until job `id` is done or failed.
    pub fn wait(&self, id: i64) -> Result<Outcome> {
        let path = format!("/v1/jobs/{id}");
        let wait = scorer_api::MAX_WAIT_S.to_string();
        loop {
            let job: scorer_api::Job = self.get(&path, &[("wait", &wait)])?;
            match job.state {
                JobState::Done => {
                    let result = job.result.context("a done job without a result")?;
                    return Ok(Outcome::Done {
                        gap_ev: result.gap_ev,
                        converged: result.converged,
                    });
                }
                JobState::Failed => {
                    return Ok(Outcome::Failed(
                        job.error.unwrap_or_else(|| "unknown".to_string()),
                    ));
                }
                JobState::Queued | JobState::Running => continue,
            }
        }
    }

    /// Scores every molecule at `level`, calling `each` as results arrive (in order).
    pub fn score_all(
        &self,
        smiles: &[String],
        level: Level,
        mut each: impl FnMut(usize, &Outcome),
    ) -> Result<Vec<Outcome>> {
        let ids = self.submit(smiles, level)?;
        let mut outcomes = Vec::with_capacity(ids.len());
        for (i, id) in ids.into_iter().enumerate() {
            let outcome = self.wait(id)?;
            each(i, &outcome);
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }
}

/// A linear map from a pre-screen level's gaps to the `qm9` level's, fitted
/// on the calibration set (`scorer/py/calibrate.py`, which writes
/// `results/level_calibration.json`: 21 QM9 molecules computed at every level
/// on the same RDKit + MMFF geometry).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelMap {
    pub intercept: f64,
    pub slope: f64,
}

impl LevelMap {
    pub const IDENTITY: LevelMap = LevelMap {
        intercept: 0.0,
        slope: 1.0,
    };

    /// The fits, written out rather than read from the calibration's output
    /// file at build time: re-running the calibration must not change the
    /// search silently. A test re-fits them from that file, so a new
    /// calibration fails it until these are updated on purpose.
    const FAST: LevelMap = LevelMap {
        intercept: 0.290_634_104_643_279_66,
        slope: 0.956_312_333_314_740_1,
    };
    const TINY: LevelMap = LevelMap {
        intercept: 2.338_349_894_103_894,
        slope: 0.620_018_231_814_223_3,
    };

    /// The map for the scorer level `level`.
    pub fn for_level(level: Level) -> LevelMap {
        match level {
            Level::Qm9 => LevelMap::IDENTITY,
            Level::Fast => LevelMap::FAST,
            Level::Tiny => LevelMap::TINY,
        }
    }

    /// Least squares of y on x.
    pub fn fit(pairs: &[(f64, f64)]) -> LevelMap {
        let n = pairs.len() as f64;
        let (mx, my) = pairs
            .iter()
            .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
        let sxy: f64 = pairs.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
        let sxx: f64 = pairs.iter().map(|(x, _)| (x - mx).powi(2)).sum();
        let slope = sxy / sxx;
        LevelMap {
            intercept: my - slope * mx,
            slope,
        }
    }

    pub fn apply(self, gap_ev: f64) -> f64 {
        self.intercept + self.slope * gap_ev
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_429_waits_as_asked_within_bounds() {
        assert_eq!(retry_pause(Some("7")), Duration::from_secs(7));
        assert_eq!(retry_pause(Some("0")), Duration::from_secs(1));
        assert_eq!(retry_pause(Some("86400")), MAX_RETRY_PAUSE);
        assert_eq!(retry_pause(Some("soon")), Duration::from_secs(10));
        assert_eq!(retry_pause(None), Duration::from_secs(10));
    }

    #[test]
    fn fit_recovers_a_line() {
        let map = LevelMap::fit(&[(1.0, 3.0), (2.0, 5.0), (4.0, 9.0)]);
        assert!((map.slope - 2.0).abs() < 1e-12 && (map.intercept - 1.0).abs() < 1e-12);
    }

    /// The written-out maps are the least-squares fits of the calibration
    /// file, as `scorer/py/calibrate.py` last wrote it.
    #[test]
    fn level_maps_are_the_calibration_fits() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../results/level_calibration.json"
        );
        let calibration: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for (level, key) in [
            (Level::Fast, "b3lypg/3-21g"),
            (Level::Tiny, "b3lypg/sto-3g"),
        ] {
            let pairs: Vec<(f64, f64)> = calibration["molecules"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|m| {
                    let levels = &m["levels"];
                    Some((
                        levels[key]["gap_ev"].as_f64()?,
                        levels["qm9@rdkit-geometry"]["gap_ev"].as_f64()?,
                    ))
                })
                .collect();
            let fit = LevelMap::fit(&pairs);
            let written = LevelMap::for_level(level);
            assert!(
                (fit.slope - written.slope).abs() < 1e-12
                    && (fit.intercept - written.intercept).abs() < 1e-12,
                "{level}: the calibration fits {fit:?}, the code says {written:?}; update LevelMap's constants"
            );
        }
    }

    #[test]
    fn fast_level_map_is_near_identity_and_tiny_is_not() {
        let fast = LevelMap::for_level(Level::Fast);
        // 3-21G tracks the QM9 basis closely (calibration Spearman 0.98).
        assert!((fast.slope - 1.0).abs() < 0.3, "{fast:?}");
        assert!((fast.apply(8.0) - 8.0).abs() < 1.0, "{fast:?}");
        assert_eq!(LevelMap::for_level(Level::Qm9), LevelMap::IDENTITY);
    }
}
