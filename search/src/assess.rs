//! What every strategy does with the molecules it proposes: the surrogate
//! predicts their gaps, the constraints judge them, and a round's log keeps
//! the distinct ones that meet every constraint, best first.

use std::collections::{HashMap, HashSet};

use burn::prelude::Device;
use model_core::chem::{Molecule, canonical_smiles};
use model_core::model::surrogate::{GapSurrogate, SurrogateConfig, predict_gaps_ev};
use model_core::model::{GraphVae, ModelConfig};
use training::decoder_policy::DecoderPolicy;
use training::qm9_index::Qm9Index;

use crate::constraints::Constraints;
use crate::state::SearchState;

/// What the search runs on: the VAE, the surrogate (refitted as DFT
/// results come in) and, for the decoder strategy, the policy.
pub struct Models {
    pub policy: Option<DecoderPolicy>,
    pub vae: GraphVae,
    pub vae_config: ModelConfig,
    pub surrogate: GapSurrogate,
    pub surrogate_config: SurrogateConfig,
    pub device: Device,
}

/// A decoded candidate with its canonical SMILES and predicted gap.
pub struct Candidate {
    pub molecule: Molecule,
    pub smiles: String,
    pub predicted_gap_ev: f64,
}

/// A molecule the surrogate has predicted and the constraints have judged.
#[derive(Clone, Debug)]
pub struct Assessed {
    pub molecule: Molecule,
    pub smiles: String,
    pub gap_ev: f64,
    /// How far it is from the constraints, in eV (0 when it meets them).
    pub penalty: f64,
}

impl Assessed {
    /// What the search climbs: the predicted gap minus the penalties.
    pub fn reward(&self) -> f64 {
        self.gap_ev - self.penalty
    }
}

/// The surrogate's gaps and the constraints' penalties for `molecules`, in order.
pub fn assess(
    molecules: Vec<Molecule>,
    models: &Models,
    constraints: &Constraints,
    known: &Qm9Index,
) -> Vec<Assessed> {
    let refs: Vec<&Molecule> = molecules.iter().collect();
    let gaps = predict_gaps_ev(
        &models.surrogate,
        &models.surrogate_config,
        &refs,
        &models.device,
    );
    molecules
        .into_iter()
        .zip(gaps)
        .map(|(molecule, gap_ev)| {
            let smiles = canonical_smiles(&molecule);
            let penalty = constraints.penalty(&molecule, known, &smiles);
            Assessed {
                molecule,
                smiles,
                gap_ev,
                penalty,
            }
        })
        .collect()
}

/// What one round of any strategy proposed: every prediction, and the
/// distinct molecules that meet every constraint.
#[derive(Default)]
pub struct RoundLog {
    pool: HashMap<String, Candidate>,
    predictions: Vec<f64>,
}

impl RoundLog {
    /// [`assess`], recording what it saw.
    pub fn assess(
        &mut self,
        molecules: Vec<Molecule>,
        models: &Models,
        constraints: &Constraints,
        known: &Qm9Index,
    ) -> Vec<Assessed> {
        let assessed = assess(molecules, models, constraints, known);
        for a in &assessed {
            self.predictions.push(a.gap_ev);
            if a.penalty == 0.0 {
                self.pool.entry(a.smiles.clone()).or_insert(Candidate {
                    molecule: a.molecule.clone(),
                    smiles: a.smiles.clone(),
                    predicted_gap_ev: a.gap_ev,
                });
            }
        }
        assessed
    }

    /// Distinct candidates so far that are not in `scored`.
    pub fn unscored(&self, scored: &HashSet<String>) -> usize {
        self.pool.keys().filter(|s| !scored.contains(*s)).count()
    }

    /// Records the round's predictions in `state`; the candidates, best predicted gap first.
    pub fn finish(self, state: &mut SearchState, round: usize) -> Vec<Candidate> {
        if round == 0 {
            state.first_round_predictions = self.predictions.clone();
        }
        state.last_round_predictions = self.predictions;
        ranked_candidates(self.pool)
    }
}

fn ranked_candidates(pool: HashMap<String, Candidate>) -> Vec<Candidate> {
    let mut candidates: Vec<Candidate> = pool.into_values().collect();
    candidates.sort_by(|a, b| {
        b.predicted_gap_ev
            .total_cmp(&a.predicted_gap_ev)
            .then_with(|| a.smiles.cmp(&b.smiles))
    });
    candidates
}
