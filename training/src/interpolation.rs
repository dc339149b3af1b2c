//! Latent paths between molecules (`trainer interpolate`), and how smooth
//! they are over random pairs of QM9 test molecules.

use std::time::Instant;

use anyhow::Result;
use burn::prelude::Device;
use model_core::chem::Molecule;
use model_core::data::{Qm9Dataset, Split};
use model_core::model::latent_path::{PathOptions, PathStep, StepSource, latent_path};
use model_core::model::sample::{decode_greedy, encode_means, predict_gap_ev};
use model_core::model::{GraphVae, ModelConfig};
use model_core::rng::SeededRng;
use serde::Serialize;

use model_core::model::refine::{Refinement, refined_latents};

/// The latent path between two molecules, from latents that give each one
/// back: its mean, refined where greedy decoding of the mean gives another
/// molecule (`model_core::model::refine`), so that the path starts and ends at the
/// molecules asked for wherever the decoder can build them.
pub fn interpolate(
    model: &GraphVae,
    config: &ModelConfig,
    a: &Molecule,
    b: &Molecule,
    options: PathOptions,
    device: &Device,
) -> Vec<PathStep> {
    let ends = refined_latents(model, config, &[a, b], Refinement::default(), device);
    let (za, zb) = ends.z.split_at(config.latent);
    latent_path(
        za,
        zb,
        options,
        |z| decode_greedy(model, config, z, device),
        |ms| encode_means(model, ms, device),
    )
}

/// The gap head's prediction (eV) for each step's molecule, from its encoding.
pub fn predicted_gaps(
    model: &GraphVae,
    config: &ModelConfig,
    path: &[PathStep],
    device: &Device,
) -> Vec<f64> {
    let molecules: Vec<&Molecule> = path.iter().map(|s| &s.molecule).collect();
    predict_gap_ev(
        model,
        config,
        &encode_means(model, &molecules, device),
        device,
    )
}

/// How smooth one kind of path is over many pairs.
#[derive(Clone, Debug, Serialize)]
pub struct PathFigures {
    pub variant: &'static str,
    pub pairs: usize,
    /// Neighbouring steps over all paths.
    pub steps: usize,
    /// Share of neighbouring steps one edit apart.
    pub one_edit_steps: f64,
    /// Share of paths whose every step is one edit.
    pub smooth_paths: f64,
    /// Mean edits between neighbours (a lower bound where more than one).
    pub mean_edits: f64,
    /// Distinct molecules per path.
    pub mean_molecules: f64,
    /// Share of steps that bridge a jump with an edit.
    pub bridged_steps: f64,
    pub seconds: f64,
}

/// The three kinds of path (evenly spaced, refined, refined and bridged)
/// between `pairs` seeded random pairs of test molecules.
pub fn path_figures(
    model: &GraphVae,
    config: &ModelConfig,
    dataset: &Qm9Dataset,
    pairs: usize,
    steps: usize,
    seed: u64,
    device: &Device,
) -> Result<Vec<PathFigures>> {
    let test: Vec<&Molecule> = dataset
        .split_records(Split::Test)
        .map(|r| &r.molecule)
        .collect();
    anyhow::ensure!(test.len() >= 2, "the test split has fewer than 2 molecules");
    let mut rng = SeededRng::new(seed);
    let chosen: Vec<(usize, usize)> = (0..pairs)
        .map(|_| {
            let a = rng.below(test.len());
            let b = (a + 1 + rng.below(test.len() - 1)) % test.len();
            (a, b)
        })
        .collect();
    let refined = PathOptions::refined(steps, config.max_atoms);
    let variants = [
        (
            "evenly spaced",
            PathOptions::straight(steps, config.max_atoms),
        ),
        (
            "refined",
            PathOptions {
                bridge_edits: 0,
                ..refined
            },
        ),
        ("refined and bridged", refined),
    ];
    Ok(variants
        .into_iter()
        .map(|(variant, options)| {
            let started = Instant::now();
            let paths: Vec<Vec<PathStep>> = chosen
                .iter()
                .map(|&(a, b)| interpolate(model, config, test[a], test[b], options, device))
                .collect();
            summarise(variant, &paths, started.elapsed().as_secs_f64())
        })
        .collect())
}

fn summarise(variant: &'static str, paths: &[Vec<PathStep>], seconds: f64) -> PathFigures {
    let edits: Vec<usize> = paths
        .iter()
        .flat_map(|p| p.iter().skip(1).map(|s| s.edits))
        .collect();
    let steps = edits.len().max(1) as f64;
    let pairs = paths.len().max(1) as f64;
    PathFigures {
        variant,
        pairs: paths.len(),
        steps: edits.len(),
        one_edit_steps: edits.iter().filter(|&&d| d == 1).count() as f64 / steps,
        smooth_paths: paths
            .iter()
            .filter(|p| p.iter().all(|s| s.edits <= 1))
            .count() as f64
            / pairs,
        mean_edits: edits.iter().sum::<usize>() as f64 / steps,
        mean_molecules: paths.iter().map(Vec::len).sum::<usize>() as f64 / pairs,
        bridged_steps: paths
            .iter()
            .flatten()
            .filter(|s| s.source == StepSource::Bridged)
            .count() as f64
            / steps,
        seconds,
    }
}
