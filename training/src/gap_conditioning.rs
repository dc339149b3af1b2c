//! `trainer evaluate-gap`: how close gap-conditional samples come to the
//! gap they were asked for. QM9 holds many samples, and for those its own
//! gap (B3LYP/6-31G(2df,p)) is a free, independent check; the novel ones are
//! listed for DFT. The same protocol on unconditional samples is the baseline.

use std::collections::HashSet;

use anyhow::Result;
use burn::prelude::Device;
use model_core::chem::canonical_smiles;
use model_core::model::{GraphVae, ModelConfig};
use serde::Serialize;

use crate::exemplars::LatentSource;
use crate::generate::{Guide, sample_near_gap, sample_parallel};
use crate::qm9_index::Qm9Index;

/// The figures of one target gap.
#[derive(Clone, Debug, Serialize)]
pub struct TargetRow {
    pub target_ev: f64,
    pub samples: usize,
    pub distinct: usize,
    /// Distinct samples QM9 holds, and their mean |QM9 gap - target|.
    pub in_qm9: usize,
    pub mae_qm9_ev: Option<f64>,
    /// The same for unconditional samples: what ignoring the target gives.
    pub unconditional_mae_qm9_ev: Option<f64>,
    /// Up to `novel_listed` distinct samples QM9 does not hold, for DFT.
    pub novel: Vec<String>,
    /// Their DFT gaps on the `qm9` level's scale (None: failed or not scored).
    pub novel_dft_gap_ev: Vec<Option<f64>>,
    /// Mean |DFT gap - target| over the novel samples scored.
    pub mae_dft_ev: Option<f64>,
}

pub struct GapEvaluation {
    pub rows: Vec<TargetRow>,
}

impl GapEvaluation {
    /// Mean of the per-target MAEs over targets with QM9-held samples.
    pub fn mean_mae(&self, pick: impl Fn(&TargetRow) -> Option<f64>) -> Option<f64> {
        mean(&self.rows.iter().filter_map(pick).collect::<Vec<_>>())
    }
}

/// The mean of `values`; `None` when there are none.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Distinct canonical SMILES of samples from `source`, conditioned on
/// `gap_ev` if given, in sampling order.
#[allow(clippy::too_many_arguments)]
fn distinct_samples(
    model: &GraphVae,
    config: &ModelConfig,
    guide: Option<&Guide>,
    source: &LatentSource,
    n: usize,
    seed: u64,
    gap_ev: Option<f64>,
    device: &Device,
) -> Result<Vec<String>> {
    let samples = match gap_ev {
        Some(gap) => sample_near_gap(
            model, config, guide, source, n, seed, 1024, 1.0, gap, device,
        )?,
        None => sample_parallel(
            model,
            config,
            n,
            seed,
            1024,
            1.0,
            source.unconditional(),
            device,
        )?,
    };
    let mut seen = HashSet::new();
    Ok(samples
        .iter()
        .map(|s| canonical_smiles(&s.molecule))
        .filter(|c| seen.insert(c.clone()))
        .collect())
}

fn mae_in_qm9(smiles: &[String], target: f64, qm9: &Qm9Index) -> (usize, Option<f64>) {
    let errors: Vec<f64> = smiles
        .iter()
        .filter_map(|s| qm9.gap_ev(s))
        .map(|g| (g - target).abs())
        .collect();
    (errors.len(), mean(&errors))
}

#[allow(clippy::too_many_arguments)]
pub fn evaluate_gap_conditioning(
    model: &GraphVae,
    config: &ModelConfig,
    guide: Option<&Guide>,
    source: &LatentSource,
    qm9: &Qm9Index,
    targets: &[f64],
    n: usize,
    seed: u64,
    novel_listed: usize,
    device: &Device,
) -> Result<GapEvaluation> {
    let unconditional = distinct_samples(model, config, None, source, n, seed, None, device)?;
    let rows = targets
        .iter()
        .map(|&target| {
            let smiles =
                distinct_samples(model, config, guide, source, n, seed, Some(target), device)?;
            let (in_qm9, mae_qm9_ev) = mae_in_qm9(&smiles, target, qm9);
            Ok(TargetRow {
                target_ev: target,
                samples: n,
                distinct: smiles.len(),
                in_qm9,
                mae_qm9_ev,
                unconditional_mae_qm9_ev: mae_in_qm9(&unconditional, target, qm9).1,
                novel: smiles
                    .iter()
                    .filter(|s| qm9.gap_ev(s).is_none())
                    .take(novel_listed)
                    .cloned()
                    .collect(),
                novel_dft_gap_ev: Vec::new(),
                mae_dft_ev: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(GapEvaluation { rows })
}
