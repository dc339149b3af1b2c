//! How far from the encoder's mean do test molecules' latents lie? For a
//! spread of test molecules, `model_core::model::refine` with a given step budget
//! and rate: the share given back, how many steps it took, how far z moved
//! (in posterior standard deviations) and how long it ran.
//!
//! Run from the repository root, with the prepared dataset in `data/`:
//! cargo run --release -p training --example refine_probe -- WEIGHTS N STEPS RATE

use std::time::Instant;

use anyhow::{Result, bail};
use burn::prelude::*;
use model_core::chem::Molecule;
use model_core::data::Split;
use model_core::model::posterior::Posteriors;
use model_core::model::refine::{Outcome, Refinement, refined_latents};
use model_core::model::sample::encode_means;
use training::{generate, prepare};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [weights, n, steps, rate] = args.as_slice() else {
        bail!("usage: refine_probe WEIGHTS N STEPS RATE");
    };
    let refinement = Refinement {
        max_steps: steps.parse()?,
        rate: rate.parse()?,
    };
    let device = Device::flex();
    let (model, config) = generate::load_model(std::path::Path::new(weights), &device)?;
    let dataset = prepare::load_dataset(&prepare::dataset_path(std::path::Path::new("data")))?;
    let test: Vec<_> = dataset.split_records(Split::Test).collect();
    let picked = training::realism::spread(&test, n.parse()?);
    let molecules: Vec<&Molecule> = picked.iter().map(|r| &r.molecule).collect();
    let started = Instant::now();
    let refined = refined_latents(&model, &config, &molecules, refinement, &device);
    let seconds = started.elapsed().as_secs_f64();
    let count = |f: &dyn Fn(&Outcome) -> bool| refined.outcomes.iter().filter(|o| f(o)).count();
    let at_mean = count(&|o| *o == Outcome::Mean);
    let given_back = count(&|o| o.given_back());
    let mut steps: Vec<usize> = refined
        .outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Refined { steps } => Some(*steps),
            _ => None,
        })
        .collect();
    steps.sort_unstable();
    let mut moved: Vec<f32> = refined
        .moved_sigmas
        .iter()
        .zip(&refined.outcomes)
        .filter(|(_, o)| matches!(o, Outcome::Refined { .. }))
        .map(|(m, _)| *m)
        .collect();
    moved.sort_by(f32::total_cmp);
    let quantile = |v: &[f32], q: f64| v.get(((v.len() as f64 - 1.0) * q) as usize).copied();
    let share = |k: usize| 100.0 * k as f64 / molecules.len() as f64;
    println!(
        "{} test molecules, {} steps at rate {}: mean {:.2}%, refined {:.2}%; refined ones took median {:?} steps and moved median {:?} / 90th {:?} / max {:?} posterior sigmas (RMS); {seconds:.1} s",
        molecules.len(),
        refinement.max_steps,
        refinement.rate,
        share(at_mean),
        share(given_back),
        steps.get(steps.len() / 2),
        quantile(&moved, 0.5),
        quantile(&moved, 0.9),
        moved.last(),
    );
    // For scale: how far each refined molecule's mean is from the nearest
    // training molecule's mean, in the same units (its own posterior sigmas).
    let training: Vec<&Molecule> = dataset
        .split_records(Split::Train)
        .map(|r| &r.molecule)
        .collect();
    let train_means: Vec<f32> = training
        .chunks(2048)
        .flat_map(|c| encode_means(&model, c, &device))
        .collect();
    let latent = config.latent;
    let mut nearest: Vec<f32> = Vec::new();
    for (i, o) in refined.outcomes.iter().enumerate() {
        if !matches!(o, Outcome::Refined { .. }) {
            continue;
        }
        let posterior = Posteriors::encode(&model, &[molecules[i].clone()], &device);
        let (mu, std) = (posterior.means(), posterior.stds());
        let best = train_means
            .chunks(latent)
            .map(|t| {
                t.iter()
                    .zip(mu)
                    .zip(std)
                    .map(|((t, m), s)| ((t - m) / s).powi(2))
                    .sum::<f32>()
            })
            .filter(|d| *d > 1e-6) // the molecule itself, were it in training
            .fold(f32::INFINITY, f32::min);
        nearest.push((best / latent as f32).sqrt());
    }
    nearest.sort_by(f32::total_cmp);
    println!(
        "their means' nearest training mean: median {:?} / 10th {:?} posterior sigmas (RMS)",
        quantile(&nearest, 0.5),
        quantile(&nearest, 0.1)
    );
    Ok(())
}
