//! Sampling molecules in batches: latents from the prior (or the prior
//! given a gap), decoded by [`super::decoding`], with the gap head's
//! prediction for each.
//!
//! Every random draw (z, atoms, bonds) comes from a [`SeededRng`] derived
//! from the seed and the batch index, so a seed gives the same molecules.
//!
//! The decoder's masks keep every construction valid and to the structural
//! rules judged at each step. A sample that breaks a rule only the finished
//! molecule can be judged by (a hemiaminal carbon, an acyclic N–N bond: see
//! [`crate::chem::StructuralRule::judged_on_finished_molecule`]) is drawn
//! again, z included, from a generator derived from the seed, the batch
//! index and the round, up to [`MAX_REDRAW_ROUNDS`] times; one that still
//! breaks a rule after that is left out, so a batch may come back short.

use burn::prelude::*;
use burn::tensor::TensorData;

use super::batch::GraphBatch;
pub use super::decoding::{
    Choice, Lanes, decode_latents, decode_latents_async, decode_latents_in_lanes,
};
use super::posterior::Posteriors;
use super::prior::PriorError;
use super::tensor_read::{ReadError, floats, floats_async};
use super::vae::GraphVae;
use crate::chem::Molecule;
use crate::rng::SeededRng;

/// A standard-normal latent matrix `[n, latent]` from `rng` (Box–Muller).
pub fn prior_latents(n: usize, latent: usize, rng: &mut SeededRng) -> Vec<f32> {
    super::prior::standard_normal_latents(n, latent, rng)
}

/// Why an awaited sampling batch failed.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Prior(#[from] PriorError),
}

/// Samples `n` molecules from the prior with `seed`, `batch` at a time.
pub fn sample_prior(
    model: &GraphVae,
    config: &super::ModelConfig,
    n: usize,
    seed: u64,
    batch: usize,
    temperature: f32,
    device: &Device,
) -> Vec<Molecule> {
    sample_with_gaps(model, config, n, seed, batch, temperature, device)
        .into_iter()
        .map(|s| s.molecule)
        .collect()
}

/// Greedy decoding of latents `z` (`[n, latent]` row-major): the most likely
/// allowed choice at every step, so no randomness is involved.
pub fn decode_greedy(
    model: &GraphVae,
    config: &super::ModelConfig,
    z: &[f32],
    device: &Device,
) -> Vec<Molecule> {
    // Greedy choices draw nothing; the generator is only there to satisfy the signature.
    let mut unused = SeededRng::new(0);
    decode_latents(
        model,
        z,
        config.latent,
        config.max_atoms,
        Choice::Greedy,
        &mut unused,
        device,
    )
}

/// Molecules encoded at once into posteriors.
const ENCODE_BATCH: usize = 1024;

impl Posteriors {
    /// The encoder's posteriors of `molecules` (at least one).
    pub fn encode(model: &GraphVae, molecules: &[Molecule], device: &Device) -> Posteriors {
        assert!(!molecules.is_empty(), "posteriors of no molecules");
        let (mut mean, mut std) = (Vec::new(), Vec::new());
        for chunk in molecules.chunks(ENCODE_BATCH) {
            let refs: Vec<&Molecule> = chunk.iter().collect();
            let (mu, log_var) = model.encoder.forward(&GraphBatch::new(&refs, device));
            mean.extend(floats(mu));
            std.extend(floats((log_var * 0.5).exp()));
        }
        let latent = mean.len() / molecules.len();
        Posteriors::from_parts(mean, std, latent)
            .expect("the encoder gives finite means and spreads, a row per molecule")
    }
}

/// Mean latents of `molecules`, `[n, latent]` row-major.
pub fn encode_means(model: &GraphVae, molecules: &[&Molecule], device: &Device) -> Vec<f32> {
    // A batch of no graphs has no shape the encoder can read.
    if molecules.is_empty() {
        return Vec::new();
    }
    let batch = GraphBatch::new(molecules, device);
    let (mu, _) = model.encoder.forward(&batch);
    floats(mu)
}

fn gap_head_output(
    model: &GraphVae,
    config: &super::ModelConfig,
    z: &[f32],
    device: &Device,
) -> Tensor<2> {
    let n = z.len() / config.latent;
    let z = Tensor::<2>::from_data(TensorData::new(z.to_vec(), [n, config.latent]), device);
    model.gap_head.forward(z)
}

fn to_ev(config: &super::ModelConfig, standardised: Vec<f32>) -> Vec<f64> {
    standardised
        .into_iter()
        .map(|g| g as f64 * config.gap_std_ev + config.gap_mean_ev)
        .collect()
}

/// The gap head's prediction for latents `z` (`[n, latent]` row-major), in eV.
pub fn predict_gap_ev(
    model: &GraphVae,
    config: &super::ModelConfig,
    z: &[f32],
    device: &Device,
) -> Vec<f64> {
    to_ev(config, floats(gap_head_output(model, config, z, device)))
}

/// A molecule sampled from the prior, with the gap the model predicts for its latent.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub molecule: Molecule,
    pub predicted_gap_ev: f64,
}

/// Like [`sample_prior`], with each molecule's predicted gap.
pub fn sample_with_gaps(
    model: &GraphVae,
    config: &super::ModelConfig,
    n: usize,
    seed: u64,
    batch: usize,
    temperature: f32,
    device: &Device,
) -> Vec<Sample> {
    BatchRows::cut(n, batch)
        .flat_map(|rows| {
            sample_batch(
                model,
                config,
                seed,
                rows,
                temperature,
                Target::Prior,
                Lanes::ONE,
                device,
            )
            .expect("sampling from the prior cannot fail")
        })
        .collect()
}

/// Rows `first..first + len` of a sampling run: its batch `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchRows {
    pub index: usize,
    pub first: usize,
    pub len: usize,
}

impl BatchRows {
    /// A run of `len` rows in one batch.
    pub fn whole(len: usize) -> BatchRows {
        BatchRows {
            index: 0,
            first: 0,
            len,
        }
    }

    /// A run of `n` rows cut into batches of `batch` (the last one shorter).
    pub fn cut(n: usize, batch: usize) -> impl Iterator<Item = BatchRows> {
        let batch = batch.max(1);
        (0..n.div_ceil(batch)).map(move |index| BatchRows {
            index,
            first: index * batch,
            len: batch.min(n - index * batch),
        })
    }
}

/// What a sampling run draws z from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target<'a> {
    /// The model's prior: the exemplars the weights carry, else their
    /// mixture (resampled by its critic where they carry one).
    Prior,
    /// The weights' mixture (resampled by its critic where they carry
    /// one), even where they carry exemplars.
    Mixture,
    /// The prior conditioned on a HOMO-LUMO gap, in eV.
    GapEv(f64),
    /// The encoder's posteriors of given molecules: molecules near them.
    Near(&'a Posteriors),
}

/// The generator and latents of draw `round` (0: the first) of batch
/// `rows.index`, one per row of the batch in `redrawn` (`None`: every row).
/// Each round has a generator of its own; a row drawn again keeps the
/// molecule its source dealt it (an exemplar, a given molecule), so a run
/// still takes each before any repeats.
fn batch_latents(
    config: &super::ModelConfig,
    seed: u64,
    rows: BatchRows,
    round: usize,
    redrawn: Option<&[usize]>,
    target: Target<'_>,
) -> Result<(SeededRng, Vec<f32>), PriorError> {
    let mut rng = batch_rng(round_seed(seed, round), rows.index);
    let size = redrawn.map_or(rows.len, <[usize]>::len);
    let dealt = |posteriors: &Posteriors, rng: &mut SeededRng| match redrawn {
        None => posteriors.sample(seed, rows.first, rows.len, rng),
        Some(redrawn) => {
            let run_rows: Vec<usize> = redrawn.iter().map(|r| rows.first + r).collect();
            posteriors.sample_rows(seed, &run_rows, rng)
        }
    };
    let z = match target {
        Target::Prior => match &config.exemplars {
            Some(exemplars) => dealt(exemplars.posteriors(), &mut rng),
            None => unconditional_latents(config, size, &mut rng),
        },
        Target::Mixture => unconditional_latents(config, size, &mut rng),
        Target::GapEv(gap) => config.prior.sample_given_gap(
            size,
            (gap - config.gap_mean_ev) / config.gap_std_ev,
            &mut rng,
        )?,
        Target::Near(posteriors) => dealt(posteriors, &mut rng),
    };
    Ok((rng, z))
}

/// The latents batch `rows` of a run seeded by `seed` decodes first
/// (`[rows.len, latent]`; a sample redrawn for breaking a rule gets new ones).
pub fn first_latents(
    config: &super::ModelConfig,
    seed: u64,
    rows: BatchRows,
    target: Target<'_>,
) -> Result<Vec<f32>, PriorError> {
    batch_latents(config, seed, rows, 0, None, target).map(|(_, z)| z)
}

/// `n` latents from the weights' mixture prior, resampled by its critic
/// where the weights carry one (see [`super::critic`]).
pub fn unconditional_latents(
    config: &super::ModelConfig,
    n: usize,
    rng: &mut SeededRng,
) -> Vec<f32> {
    match &config.critic {
        Some(critic) => critic.sample(&config.prior, n, config.latent, rng),
        None => config.prior.sample(n, config.latent, rng),
    }
}

/// Batch `rows` of a seeded sampling run. Each batch draws from its own
/// generator, derived from `(seed, rows.index)`, so batches can run in any order
/// or in parallel and still give the same molecules; `lanes` cuts the
/// batch's network (see [`decode_latents_in_lanes`]) without changing them.
#[allow(clippy::too_many_arguments)]
pub fn sample_batch(
    model: &GraphVae,
    config: &super::ModelConfig,
    seed: u64,
    rows: BatchRows,
    temperature: f32,
    target: Target<'_>,
    lanes: Lanes,
    device: &Device,
) -> Result<Vec<Sample>, PriorError> {
    let draw = async |round: usize, redrawn: Option<&[usize]>| -> Result<Vec<Sample>, PriorError> {
        let (mut rng, z) = batch_latents(config, seed, rows, round, redrawn, target)?;
        let molecules = decode_latents_in_lanes(
            model,
            &z,
            config.latent,
            config.max_atoms,
            Choice::Sample { temperature },
            &mut rng,
            lanes,
            device,
        );
        Ok(with_gaps(
            molecules,
            predict_gap_ev(model, config, &z, device),
        ))
    };
    finished(realistic_draws(rows.len, draw))
}

/// Draws every row (`draw(0, None)`), then draws again the rows whose
/// molecule breaks a structural rule (`draw(round, Some(rows))`, rounds 1,
/// 2, …) until none does or [`MAX_REDRAW_ROUNDS`] have passed; rows still
/// breaking one are left out. One loop for the native and the awaited draws.
async fn realistic_draws<E>(
    len: usize,
    mut draw: impl AsyncFnMut(usize, Option<&[usize]>) -> Result<Vec<Sample>, E>,
) -> Result<Vec<Sample>, E> {
    let mut samples = draw(0, None).await?;
    let mut redraw = unrealistic_rows(&samples, 0..len);
    for round in 1..=MAX_REDRAW_ROUNDS {
        if redraw.is_empty() {
            break;
        }
        replace_rows(&mut samples, &redraw, draw(round, Some(&redraw)).await?);
        redraw = unrealistic_rows(&samples, redraw);
    }
    Ok(without_rows(samples, &redraw))
}

/// The output of a future that never waits: one computed synchronously.
fn finished<F: std::future::Future>(future: F) -> F::Output {
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(future).poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => unreachable!("a synchronous draw never waits"),
    }
}

/// How many times a sample breaking a finished-molecule rule is drawn again.
pub const MAX_REDRAW_ROUNDS: usize = 128;

/// The seed of redraw round `round` (round 0 is the first draw).
fn round_seed(seed: u64, round: usize) -> u64 {
    seed ^ (round as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)
}

/// Of `rows` (in order), those whose molecule breaks a structural rule:
/// after a round only the rows it replaced need checking again.
fn unrealistic_rows(samples: &[Sample], rows: impl IntoIterator<Item = usize>) -> Vec<usize> {
    rows.into_iter()
        .filter(|&row| !samples[row].molecule.is_realistic())
        .collect()
}

/// Puts `fresh[i]` in place of `samples[rows[i]]`.
fn replace_rows(samples: &mut [Sample], rows: &[usize], fresh: Vec<Sample>) {
    for (&row, sample) in rows.iter().zip(fresh) {
        samples[row] = sample;
    }
}

/// `samples` without `rows` (sorted): those still breaking a rule after
/// the last round.
fn without_rows(samples: Vec<Sample>, rows: &[usize]) -> Vec<Sample> {
    samples
        .into_iter()
        .enumerate()
        .filter(|(row, _)| rows.binary_search(row).is_err())
        .map(|(_, sample)| sample)
        .collect()
}

/// [`sample_batch`] for devices whose results can only be awaited (WebGPU
/// in a browser): the same draws, so the same molecules wherever the
/// device computes the same logits.
#[allow(clippy::too_many_arguments)]
pub async fn sample_batch_async(
    model: &GraphVae,
    config: &super::ModelConfig,
    seed: u64,
    rows: BatchRows,
    temperature: f32,
    target: Target<'_>,
    device: &Device,
) -> Result<Vec<Sample>, SampleError> {
    let draw =
        async |round: usize, redrawn: Option<&[usize]>| -> Result<Vec<Sample>, SampleError> {
            let (mut rng, z) = batch_latents(config, seed, rows, round, redrawn, target)?;
            let molecules = decode_latents_async(
                model,
                &z,
                config.latent,
                config.max_atoms,
                Choice::Sample { temperature },
                &mut rng,
                device,
            )
            .await?;
            let gaps = to_ev(
                config,
                floats_async(gap_head_output(model, config, &z, device)).await?,
            );
            Ok(with_gaps(molecules, gaps))
        };
    realistic_draws(rows.len, draw).await
}

/// The generator of batch `index` of a run seeded with `seed`.
/// Batch `index`'s generator. Its seed is offset, not mixed, so batch k's
/// stream is batch k − 1's one draw on ([`SeededRng::derived`] says why);
/// the prior's draws pair those values differently, so the samples do not
/// repeat (10,000 for seed 0 in 5 batches or in one: FCD 0.486 and 0.483,
/// uniqueness 95.96% and 96.02%), and changing it would change every
/// seed's molecules and the search runs in `results/`.
fn batch_rng(seed: u64, index: usize) -> SeededRng {
    SeededRng::new(seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn with_gaps(molecules: Vec<Molecule>, gaps: Vec<f64>) -> Vec<Sample> {
    molecules
        .into_iter()
        .zip(gaps)
        .map(|(molecule, predicted_gap_ev)| Sample {
            molecule,
            predicted_gap_ev,
        })
        .collect()
}

/// Guidance for gap-conditional sampling: of `candidates`, the `n` distinct
/// molecules (by canonical SMILES) whose gap by `predict` (eV) is nearest
/// `target_ev`, in the order they were drawn, each carrying that gap.
pub fn nearest_to_gap(
    candidates: Vec<Sample>,
    predict: impl FnOnce(&[&Molecule]) -> Vec<f64>,
    target_ev: f64,
    n: usize,
) -> Vec<Sample> {
    nearest_to_gap_trusting(candidates, predict, |_| true, target_ev, n)
}

/// [`nearest_to_gap`] for a predictor trusted only on some molecules (its
/// domain, say): every candidate `trusted` accepts ranks before every one it
/// refuses, so these are kept only where too few trusted ones were drawn.
pub fn nearest_to_gap_trusting(
    candidates: Vec<Sample>,
    predict: impl FnOnce(&[&Molecule]) -> Vec<f64>,
    trusted: impl Fn(&Molecule) -> bool,
    target_ev: f64,
    n: usize,
) -> Vec<Sample> {
    let mut seen = std::collections::HashSet::new();
    let distinct: Vec<Sample> = candidates
        .into_iter()
        .filter(|s| seen.insert(crate::chem::canonical_smiles(&s.molecule)))
        .collect();
    let molecules: Vec<&Molecule> = distinct.iter().map(|s| &s.molecule).collect();
    let gaps = predict(&molecules);
    let distrusted: Vec<bool> = molecules.iter().map(|m| !trusted(m)).collect();
    let mut ranked: Vec<usize> = (0..distinct.len()).collect();
    ranked.sort_by(|&a, &b| {
        distrusted[a].cmp(&distrusted[b]).then_with(|| {
            (gaps[a] - target_ev)
                .abs()
                .total_cmp(&(gaps[b] - target_ev).abs())
        })
    });
    let mut kept: Vec<usize> = ranked.into_iter().take(n).collect();
    kept.sort_unstable();
    kept.into_iter()
        .map(|i| Sample {
            molecule: distinct[i].molecule.clone(),
            predicted_gap_ev: gaps[i],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelConfig;
    use crate::model::carried_exemplars::CarriedExemplars;

    /// A config whose prior is six exemplars, first coordinate 0, 10, …, 50.
    fn six_exemplars() -> ModelConfig {
        let latent = 4;
        let mut mean = vec![0.0; 6 * latent];
        for (i, row) in mean.chunks_mut(latent).enumerate() {
            row[0] = 10.0 * i as f32;
        }
        let posteriors = Posteriors::from_parts(mean, vec![0.1; 6 * latent], latent).unwrap();
        ModelConfig {
            latent,
            exemplars: Some(CarriedExemplars::new(&posteriors, 1.0).unwrap()),
            ..Default::default()
        }
    }

    /// The exemplar each latent row came from.
    fn exemplar_of(z: &[f32], latent: usize) -> Vec<usize> {
        z.chunks(latent)
            .map(|row| (row[0] / 10.0).round() as usize)
            .collect()
    }

    #[test]
    fn rows_drawn_again_keep_their_exemplar_and_take_new_noise() {
        let config = six_exemplars();
        let rows = BatchRows {
            index: 1,
            first: 3,
            len: 6,
        };
        let (_, first) = batch_latents(&config, 9, rows, 0, None, Target::Prior).unwrap();
        let dealt = exemplar_of(&first, config.latent);
        // Rows 3..9 of the run straddle two deals of the six exemplars.
        let mut straddled = dealt[..3].to_vec();
        straddled.sort_unstable();
        straddled.dedup();
        assert_eq!(straddled.len(), 3, "{dealt:?}");
        let redrawn = [4, 0, 5];
        let (_, again) = batch_latents(&config, 9, rows, 2, Some(&redrawn), Target::Prior).unwrap();
        assert_eq!(
            exemplar_of(&again, config.latent),
            redrawn.map(|row| dealt[row])
        );
        let latent = config.latent;
        for (k, &row) in redrawn.iter().enumerate() {
            assert_ne!(
                again[k * latent..(k + 1) * latent],
                first[row * latent..(row + 1) * latent],
                "row {row} drawn again takes new noise"
            );
        }
    }
}
