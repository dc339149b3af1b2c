//! The search's resumable state (`search.json`): its settings, what DFT
//! found so far, the strategies' populations and distributions, and the
//! format version that guards against reading another build's file.

use std::path::Path;

use anyhow::{Context, Result, bail};
use scorer_api::Level;
use serde::{Deserialize, Serialize};

use crate::constraints::Constraints;
use crate::nes::SearchDistribution;

/// The state's file name in a search's output directory.
pub const STATE_FILE: &str = "search.json";

/// Where the search's freedom lies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// SNES search distributions over the latent z, decoder fixed (greedy decoding)
    #[default]
    Latent,
    /// The decoder fine-tuned as a policy by REINFORCE, with a KL penalty to the trained decoder
    Decoder,
    /// Evolution on the molecular graph: valence-checked edits of a population
    /// seeded with QM9's best and VAE samples, selected on the surrogate
    Graph,
}

/// How hard to search; saved with the state so `--resume` continues the same run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchSettings {
    #[serde(default)]
    pub strategy: Strategy,
    /// Oracle rounds at the pre-screen level.
    pub rounds: usize,
    /// Molecules sent to the pre-screen per round.
    pub per_round: usize,
    /// Best pre-screened molecules verified at the final level.
    pub finalists: usize,
    /// SNES updates per round.
    pub generations: usize,
    /// Search distributions run side by side.
    pub population: usize,
    /// Latents drawn per distribution and generation.
    pub samples: usize,
    /// Starting spread of each distribution.
    pub sigma: f32,
    pub prescreen_level: Level,
    pub final_level: Level,
    /// Surrogate refit steps after each round (0: no active learning).
    pub refit_steps: usize,
    pub seed: u64,
    /// Decoder strategy: the best molecules DFT verified, replayed in every
    /// policy update (0: none; states written before it read as 0).
    #[serde(default)]
    pub replay: usize,
}

impl Default for SearchSettings {
    fn default() -> Self {
        SearchSettings {
            strategy: Strategy::Latent,
            rounds: 4,
            per_round: 10,
            finalists: 3,
            generations: 25,
            population: 8,
            samples: 48,
            sigma: 0.5,
            prescreen_level: Level::Fast,
            final_level: Level::Qm9,
            refit_steps: 150,
            seed: 0,
            replay: 0,
        }
    }
}

impl SearchSettings {
    pub fn dft_budget(&self) -> usize {
        self.rounds * self.per_round + self.finalists
    }
}

/// One DFT result (or failure) for one molecule at one level.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Scored {
    pub smiles: String,
    pub round: usize,
    /// The surrogate's prediction before the molecule was scored.
    pub predicted_gap_ev: f64,
    pub level: Level,
    pub dft_gap_ev: Option<f64>,
    /// `dft_gap_ev` on the `qm9` level's scale (the calibrated map).
    pub calibrated_gap_ev: Option<f64>,
    pub error: Option<String>,
    pub novel: bool,
    pub heavy_atoms: usize,
    /// Oracle calls spent when this result came in.
    pub calls: usize,
}

/// The surrogate against DFT in one round.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RoundFit {
    pub round: usize,
    /// On this round's new molecules, before they were used (prospective);
    /// none when the round labelled no molecule.
    pub mae_before_ev: Option<f64>,
    /// On every molecule discovered so far, after the refit; none before the first label.
    pub mae_after_ev: Option<f64>,
    /// On every molecule discovered so far, with the surrogate the search started with.
    pub mae_initial_ev: Option<f64>,
    pub molecules: usize,
}

/// The layout of `search.json` this build writes. Files from before the
/// field existed have the same layout and read as format 1.
pub const SEARCH_STATE_FORMAT: u32 = 1;

fn format_one() -> u32 {
    1
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SearchState {
    #[serde(default = "format_one")]
    pub format: u32,
    pub settings: SearchSettings,
    pub constraints: Constraints,
    pub rounds_done: usize,
    pub distributions: Vec<SearchDistribution>,
    pub scored: Vec<Scored>,
    pub fits: Vec<RoundFit>,
    pub finals_done: bool,
    /// QM9's best molecule under the constraints, by QM9's own gap.
    pub qm9_best: Option<(String, f64)>,
    /// The same molecule through our pipeline at the final level.
    pub qm9_best_final: Option<Scored>,
    /// Surrogate predictions for the molecules decoded in the first and last round.
    pub first_round_predictions: Vec<f64>,
    pub last_round_predictions: Vec<f64>,
    /// The graph strategy's population (canonical SMILES), carried between rounds.
    #[serde(default)]
    pub population: Vec<String>,
    /// Verified molecules the latent strategy has moved a distribution to
    /// (or tried to: the decoder could not give every one back).
    #[serde(default)]
    pub centred_on: Vec<String>,
}

impl SearchState {
    pub fn calls(&self) -> usize {
        self.scored.len()
    }
}

/// Reads a search state, refusing one of a format this build does not know
/// before trying to make sense of its fields.
pub fn read_state(path: &Path) -> Result<SearchState> {
    let unreadable = || format!("{} is not a readable search state", path.display());
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path)?).with_context(unreadable)?;
    let format = value.get("format").and_then(|f| f.as_u64()).unwrap_or(1);
    if format != u64::from(SEARCH_STATE_FORMAT) {
        bail!(
            "{} is a search state of format {format}; this build reads format {SEARCH_STATE_FORMAT}: use the molgap that wrote it, or start the search again in another --out-dir",
            path.display()
        );
    }
    serde_json::from_value(value).with_context(unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_state_of_another_format_is_refused_with_what_to_do() {
        let dir = std::env::temp_dir().join(format!("molgap-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(STATE_FILE);
        // Fields of a future layout that this build could not read.
        std::fs::write(&path, r#"{"format": 2, "rounds": {"done": 3}}"#).unwrap();
        let error = format!("{:#}", read_state(&path).err().unwrap());
        assert!(
            error.contains("format 2") && error.contains("another --out-dir"),
            "{error}"
        );
        std::fs::write(&path, "{ not json").unwrap();
        let error = format!("{:#}", read_state(&path).err().unwrap());
        assert!(error.contains("not a readable search state"), "{error}");
        std::fs::remove_dir_all(dir).ok();
    }
}
