//! Are reconstruction misses search errors or model errors? For a spread of
//! test molecules: greedy decoding of the mean latent, then K samples from
//! it, each distinct candidate scored by log p(canonical trajectory | z);
//! prints greedy, reranked and oracle (the molecule among the candidates)
//! reconstruction, and how often a miss's own molecule scores above the
//! greedy decoding (a search error: better search would recover it).
//!
//! Run from the repository root, with the prepared dataset in `data/`:
//! cargo run --release -p training --example rerank_probe -- WEIGHTS N K [TEMPERATURE]

use anyhow::{Result, bail};
use burn::prelude::*;
use model_core::chem::{Molecule, canonical_smiles};
use model_core::data::Split;
use model_core::model::batch::DecoderBatch;
use model_core::model::sample::{Choice, decode_greedy, decode_latents, encode_means};
use model_core::model::target::decoding_target;
use model_core::rng::SeededRng;
use training::{generate, prepare};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (weights, n, k, temperature) = match args.as_slice() {
        [w, n, k] => (w.clone(), n.parse::<usize>()?, k.parse::<usize>()?, 1.0),
        [w, n, k, t] => (w.clone(), n.parse()?, k.parse()?, t.parse::<f32>()?),
        _ => bail!("usage: rerank_probe WEIGHTS N K [TEMPERATURE]"),
    };
    let device = Device::flex();
    let (model, config) = generate::load_model(std::path::Path::new(&weights), &device)?;
    let dataset = prepare::load_dataset(&prepare::dataset_path(std::path::Path::new("data")))?;
    let test: Vec<_> = dataset.split_records(Split::Test).collect();
    // The same spread pick as `trainer evaluate`'s training-molecule figure.
    let picked = training::realism::spread(&test, n);
    let latent = config.latent;
    let mut rng = SeededRng::new(0);
    let (mut greedy_ok, mut rerank_ok, mut oracle_ok, mut misses, mut search_errors) =
        (0, 0, 0, 0, 0);
    for chunk in picked.chunks(256) {
        let molecules: Vec<&Molecule> = chunk.iter().map(|r| &r.molecule).collect();
        let z = encode_means(&model, &molecules, &device);
        let greedy = decode_greedy(&model, &config, &z, &device);
        let repeated: Vec<f32> = (0..k).flat_map(|_| z.iter().copied()).collect();
        let sampled = decode_latents(
            &model,
            &repeated,
            latent,
            config.max_atoms,
            Choice::Sample { temperature },
            &mut rng,
            &device,
        );
        for (i, record) in chunk.iter().enumerate() {
            let zi = &z[i * latent..(i + 1) * latent];
            let mut candidates: Vec<(String, &Molecule)> = Vec::new();
            let drawn =
                std::iter::once(&greedy[i]).chain((0..k).map(|j| &sampled[j * chunk.len() + i]));
            for m in drawn {
                let c = canonical_smiles(m);
                if !candidates.iter().any(|(s, _)| *s == c) {
                    candidates.push((c, m));
                }
            }
            let truth = &record.molecule;
            let scores = score(&model, &config, zi, &[truth], &device);
            let truth_score = scores[0];
            let cand_molecules: Vec<&Molecule> = candidates.iter().map(|(_, m)| *m).collect();
            let cand_scores = score(&model, &config, zi, &cand_molecules, &device);
            let best = cand_scores
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(j, _)| j)
                .unwrap();
            let is_truth = |j: usize| candidates[j].0 == record.canonical;
            greedy_ok += is_truth(0) as usize;
            rerank_ok += is_truth(best) as usize;
            oracle_ok += (0..candidates.len()).any(is_truth) as usize;
            if !is_truth(0) {
                misses += 1;
                search_errors += (truth_score > cand_scores[0]) as usize;
            }
        }
    }
    let total = picked.len() as f64;
    println!(
        "{} test molecules, K = {k} samples at temperature {temperature}: greedy {:.2}%, reranked {:.2}%, oracle {:.2}%; of {misses} greedy misses, {search_errors} ({:.1}%) score their own molecule above the greedy decoding",
        picked.len(),
        100.0 * greedy_ok as f64 / total,
        100.0 * rerank_ok as f64 / total,
        100.0 * oracle_ok as f64 / total,
        100.0 * search_errors as f64 / misses.max(1) as f64,
    );
    Ok(())
}

/// log p(canonical trajectory | z) of each molecule (-inf where it has none).
fn score(
    model: &model_core::model::GraphVae,
    config: &model_core::model::ModelConfig,
    z: &[f32],
    molecules: &[&Molecule],
    device: &Device,
) -> Vec<f32> {
    let targets: Vec<_> = molecules
        .iter()
        .map(|m| decoding_target(m, config.max_atoms).ok())
        .collect();
    let ok: Vec<_> = targets.iter().flatten().collect();
    if ok.is_empty() {
        return vec![f32::NEG_INFINITY; molecules.len()];
    }
    let rows: Vec<f32> = (0..ok.len()).flat_map(|_| z.iter().copied()).collect();
    let zt = Tensor::<2>::from_data(TensorData::new(rows, [ok.len(), z.len()]), device);
    let batch = DecoderBatch::new(&ok, config.max_atoms, device);
    let lp: Vec<f32> = model
        .trajectory_log_probs(zt, &batch)
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("log-probabilities read back as f32");
    let mut lp = lp.into_iter();
    targets
        .iter()
        .map(|t| match t {
            Some(_) => lp.next().unwrap(),
            None => f32::NEG_INFINITY,
        })
        .collect()
}
