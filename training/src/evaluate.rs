//! `trainer evaluate`: how good are the samples, and how well does the model
//! reconstruct molecules it has not seen?
//!
//! - validity: the share of samples whose canonical SMILES parses back, under
//!   the valence table, to the same molecule (checked independently of the
//!   decoder's masks);
//! - uniqueness: distinct valid samples over valid samples, beside the same
//!   for as many draws from the training split itself (QM9 is finite: a
//!   model of exactly its distribution repeats itself);
//! - novelty: distinct valid samples not in the QM9 training split, over
//!   distinct valid samples;
//! - novel on QM9 frameworks: of those novel samples, the share whose every
//!   ring system has a framework some QM9 molecule has (new frameworks are
//!   mostly strained cages RDKit cannot embed in 3D; see `chem::rings`);
//! - reconstruction: greedy decoding of the mean latent of each test molecule
//!   gives back that molecule (canonical SMILES equal), beside the same for
//!   as many training molecules (the gap between them is what the model
//!   has not generalised beyond the molecules it was trained on); and, for
//!   the misses, whether a latent near the mean gives the molecule back
//!   (`model_core::model::refine`): the encoder's part of the gap;
//! - distribution match: KL(test ‖ samples) of heavy-atom count, ring count,
//!   bond orders, elements and formal charges;
//! - realism: the share breaking each structural rule and the share RDKit
//!   embeds in 3D, beside the QM9 test split's own shares (`crate::realism`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use burn::prelude::Device;
use model_core::chem::{Element, Molecule, canonical_smiles, parse_smiles};
use model_core::data::{Qm9Dataset, Qm9Record, Split};
use model_core::model::sample::{decode_greedy, encode_means};
use model_core::model::{GraphVae, ModelConfig};
use model_core::rng::SeededRng;
use serde::{Deserialize, Serialize};

use crate::exemplars::LatentSource;
use crate::qm9_index::Qm9Index;
use crate::realism::{RuleShares, embeddable_share, rule_shares, spread};
use model_core::model::refine::{Refinement, refined_latents};

#[derive(Debug, Serialize)]
pub struct Evaluation {
    pub samples: usize,
    pub seed: u64,
    /// What z was drawn from (`LatentSource::describe`).
    pub prior: String,
    pub temperature: f32,
    pub validity: f64,
    pub uniqueness: f64,
    /// The uniqueness of as many draws, with replacement, from the training
    /// split: what a model that had learnt QM9's distribution exactly would
    /// score. QM9 is finite, so such a model repeats itself.
    pub uniqueness_training_draws: f64,
    pub novelty: f64,
    /// Valid, unique and novel: distinct valid samples not in the training
    /// split, over all samples (validity × uniqueness × novelty).
    pub vun: f64,
    /// Share of the novel samples with only QM9 ring frameworks.
    pub novel_on_qm9_frameworks: f64,
    /// Share of the test split that greedy decoding of the mean latent gives back.
    pub reconstruction: f64,
    pub reconstructed: usize,
    /// The same for as many training molecules, spread over the split.
    pub reconstruction_training: f64,
    /// Test reconstruction by ring count (index; the last counts that many
    /// rings or more): where the decoder loses molecules.
    pub reconstruction_by_rings: Vec<RingCountShare>,
    /// The test split given back once the mean latents of its misses are
    /// refined (`model_core::model::refine`); `None` when not asked for.
    pub reconstruction_refined: Option<RefinedReconstruction>,
    /// Test molecules not given back, with what was decoded instead.
    #[serde(skip)]
    pub reconstruction_misses: Vec<Miss>,
    pub sampling_molecules_per_second: f64,
    /// KL(test ‖ samples) per property, in nats.
    pub distribution_kl: BTreeMap<&'static str, f64>,
    /// The histograms the KLs compare: property -> (test, samples).
    pub histograms: BTreeMap<&'static str, (Vec<f64>, Vec<f64>)>,
    pub realism: Realism,
}

/// Structural-rule and 3D-embedding shares, samples beside the QM9 test split.
#[derive(Debug, Serialize)]
pub struct Realism {
    pub rules_samples: RuleShares,
    pub rules_qm9_test: RuleShares,
    /// Molecules of each kind given to RDKit's embedding (0: not measured).
    pub embedded: usize,
    pub embeddable_samples: Option<f64>,
    pub embeddable_qm9_test: Option<f64>,
}

/// A molecule whose mean latent greedy decoding does not give back.
#[derive(Clone, Debug, PartialEq)]
pub struct Miss {
    /// Canonical SMILES of the molecule encoded.
    pub smiles: String,
    /// Canonical SMILES of what was decoded.
    pub decoded: String,
}

/// How many molecules greedy decoding of their mean latents gives back.
#[derive(Clone, Debug)]
pub struct Reconstruction {
    pub misses: Vec<Miss>,
    /// The misses refined, where asked for.
    pub refined: Option<RefinedReconstruction>,
    /// Every molecule counted once, in the row of its ring count.
    pub by_rings: Vec<RingCountShare>,
}

impl Reconstruction {
    pub fn share(&self) -> f64 {
        let (molecules, reconstructed) = self.by_rings.iter().fold((0, 0), |(m, r), row| {
            (m + row.molecules, r + row.reconstructed)
        });
        reconstructed as f64 / molecules.max(1) as f64
    }
}

/// Molecules with one ring count, and how many of them were given back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct RingCountShare {
    pub molecules: usize,
    pub reconstructed: usize,
}

/// Reconstruction once the misses' latents are refined.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RefinedReconstruction {
    pub max_steps: usize,
    pub rate: f32,
    /// Share given back, by the mean or by a refined latent.
    pub share: f64,
    /// Given back, by ring count as `Reconstruction::by_rings`.
    pub reconstructed_by_rings: Vec<usize>,
    /// Of the molecules refinement gave back: the median of how far their
    /// latent moved from the mean, in posterior standard deviations (RMS).
    pub median_moved_sigmas: f64,
}

/// Ring counts of [`Reconstruction::by_rings`]: 0 to 5, then 6 or more.
const RING_ROWS: usize = 7;

fn ring_row(molecule: &Molecule) -> usize {
    molecule.ring_count().min(RING_ROWS - 1)
}

/// Encode each molecule to its mean latent, decode greedily and compare
/// canonical SMILES; then, where `refinement` asks for steps, refine the
/// misses' latents (`model_core::model::refine`).
pub fn reconstruct(
    model: &GraphVae,
    config: &ModelConfig,
    records: &[&Qm9Record],
    refinement: Refinement,
    device: &Device,
) -> Reconstruction {
    let mut misses = Vec::new();
    let mut missed = Vec::new();
    let mut by_rings = vec![RingCountShare::default(); RING_ROWS];
    for chunk in records.chunks(2048) {
        let molecules: Vec<&Molecule> = chunk.iter().map(|r| &r.molecule).collect();
        let z = encode_means(model, &molecules, device);
        for (decoded, record) in decode_greedy(model, config, &z, device).iter().zip(chunk) {
            let decoded = canonical_smiles(decoded);
            let row = &mut by_rings[ring_row(&record.molecule)];
            row.molecules += 1;
            if decoded == record.canonical {
                row.reconstructed += 1;
            } else {
                missed.push(&record.molecule);
                misses.push(Miss {
                    smiles: record.canonical.clone(),
                    decoded,
                });
            }
        }
    }
    let refined = (refinement.max_steps > 0).then(|| {
        let found = refined_latents(model, config, &missed, refinement, device);
        let mut reconstructed_by_rings: Vec<usize> =
            by_rings.iter().map(|row| row.reconstructed).collect();
        let mut moved = Vec::new();
        for ((molecule, outcome), sigmas) in
            missed.iter().zip(&found.outcomes).zip(&found.moved_sigmas)
        {
            if outcome.given_back() {
                reconstructed_by_rings[ring_row(molecule)] += 1;
                moved.push(*sigmas as f64);
            }
        }
        moved.sort_by(f64::total_cmp);
        RefinedReconstruction {
            max_steps: refinement.max_steps,
            rate: refinement.rate,
            share: reconstructed_by_rings.iter().sum::<usize>() as f64
                / records.len().max(1) as f64,
            reconstructed_by_rings,
            median_moved_sigmas: moved.get(moved.len() / 2).copied().unwrap_or(0.0),
        }
    });
    Reconstruction {
        misses,
        refined,
        by_rings,
    }
}

/// What `trainer evaluate` measures, and with what.
#[derive(Clone, Debug)]
pub struct EvaluateOptions {
    pub samples: usize,
    pub seed: u64,
    pub temperature: f32,
    /// Samples (and as many QM9 test molecules) to embed in 3D; 0 skips it.
    pub embed: usize,
    /// Python with RDKit, for the embedding.
    pub python: PathBuf,
    /// How the test split's misses are refined (0 steps: not at all).
    pub refinement: Refinement,
}

/// What a set of valid samples looks like.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleFigures {
    /// Distinct samples not in the training split, over distinct samples.
    pub novelty: f64,
    /// Distinct samples over samples.
    pub uniqueness: f64,
    /// Share of the novel molecules whose ring systems have QM9 frameworks.
    pub novel_on_qm9_frameworks: f64,
    /// Share of distinct samples that are validation or test molecules of
    /// QM9: a model that still generates QM9's chemistry keeps finding them.
    pub held_out_qm9: f64,
}

impl fmt::Display for SampleFigures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "novelty {:.2}% ({:.2}% of it on QM9 ring frameworks), uniqueness {:.2}%, held-out QM9 {:.2}%",
            100.0 * self.novelty,
            100.0 * self.novel_on_qm9_frameworks,
            100.0 * self.uniqueness,
            100.0 * self.held_out_qm9
        )
    }
}

/// The figures of valid samples, each a molecule with its canonical SMILES.
pub fn sample_figures(samples: &[(&Molecule, &str)], sets: &Qm9Index) -> SampleFigures {
    let mut distinct: HashMap<&str, &Molecule> = HashMap::new();
    for (m, s) in samples {
        distinct.entry(s).or_insert(m);
    }
    let novel: Vec<&Molecule> = distinct
        .iter()
        .filter(|(s, _)| !sets.train.contains(**s))
        .map(|(_, m)| *m)
        .collect();
    let on_frameworks = novel
        .iter()
        .filter(|m| sets.has_ring_frameworks_of(m))
        .count();
    let held_out = distinct
        .keys()
        .filter(|s| sets.held_out.contains(**s))
        .count();
    let d = distinct.len().max(1) as f64;
    SampleFigures {
        novelty: novel.len() as f64 / d,
        uniqueness: distinct.len() as f64 / samples.len().max(1) as f64,
        novel_on_qm9_frameworks: on_frameworks as f64 / novel.len().max(1) as f64,
        held_out_qm9: held_out as f64 / d,
    }
}

/// Normalised histograms of the properties compared.
fn histograms(molecules: &[&Molecule]) -> BTreeMap<&'static str, Vec<f64>> {
    let mut h: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    h.insert("heavy_atoms", vec![0.0; 10]);
    h.insert("rings", vec![0.0; 7]);
    h.insert("bond_orders", vec![0.0; 3]);
    h.insert("elements", vec![0.0; 4]);
    h.insert("charges", vec![0.0; 3]);
    for m in molecules {
        h.get_mut("heavy_atoms").unwrap()[m.heavy_atom_count().min(9)] += 1.0;
        h.get_mut("rings").unwrap()[m.ring_count().min(6)] += 1.0;
        for b in m.bonds() {
            h.get_mut("bond_orders").unwrap()[b.order.order() as usize - 1] += 1.0;
        }
        for a in m.atoms() {
            h.get_mut("elements").unwrap()
                [Element::ALL.iter().position(|e| *e == a.element).unwrap()] += 1.0;
            h.get_mut("charges").unwrap()[(a.charge.clamp(-1, 1) + 1) as usize] += 1.0;
        }
    }
    for v in h.values_mut() {
        let total: f64 = v.iter().sum();
        if total > 0.0 {
            v.iter_mut().for_each(|x| *x /= total);
        }
    }
    h
}

fn kl(p: &[f64], q: &[f64]) -> f64 {
    const EPS: f64 = 1e-6;
    let qsum: f64 = q.iter().map(|x| x + EPS).sum();
    p.iter()
        .zip(q)
        .filter(|(p, _)| **p > 0.0)
        .map(|(p, q)| p * (p / ((q + EPS) / qsum)).ln())
        .sum()
}

pub fn evaluate(
    model: &GraphVae,
    config: &ModelConfig,
    dataset: &Qm9Dataset,
    source: &LatentSource,
    options: &EvaluateOptions,
    device: &Device,
) -> anyhow::Result<Evaluation> {
    let EvaluateOptions {
        samples: n,
        seed,
        temperature,
        ..
    } = *options;
    let started = Instant::now();
    let samples: Vec<Molecule> = crate::generate::sample_parallel(
        model,
        config,
        n,
        seed,
        2048,
        temperature,
        source.unconditional(),
        device,
    )?
    .into_iter()
    .map(|s| s.molecule)
    .collect();
    let sampling_molecules_per_second = n as f64 / started.elapsed().as_secs_f64();

    let valid: Vec<(&Molecule, String)> = samples
        .iter()
        .filter_map(|m| {
            let c = canonical_smiles(m);
            let back = parse_smiles(&c).ok()?;
            (canonical_smiles(&back) == c && back.formula() == m.formula()).then_some((m, c))
        })
        .collect();
    let pairs: Vec<(&Molecule, &str)> = valid.iter().map(|(m, c)| (*m, c.as_str())).collect();
    let figures = sample_figures(&pairs, &Qm9Index::from_dataset(dataset));
    let training: Vec<&Qm9Record> = dataset.split_records(Split::Train).collect();
    let training_smiles: Vec<&str> = training.iter().map(|r| r.canonical.as_str()).collect();
    let uniqueness_training_draws = uniqueness_of_draws(&training_smiles, n, seed);

    let test: Vec<&Qm9Record> = dataset.split_records(Split::Test).collect();
    let test_reconstruction = reconstruct(model, config, &test, options.refinement, device);
    // Records are in QM9's order, smallest molecules first: spread the pick.
    let no_refinement = Refinement {
        max_steps: 0,
        ..options.refinement
    };
    let training_reconstruction = reconstruct(
        model,
        config,
        &spread(&training, test.len()),
        no_refinement,
        device,
    );

    let test_molecules: Vec<&Molecule> = test.iter().map(|r| &r.molecule).collect();
    let sample_refs: Vec<&Molecule> = valid.iter().map(|(m, _)| *m).collect();
    let (p, q) = (histograms(&test_molecules), histograms(&sample_refs));
    let distribution_kl = p.iter().map(|(k, pv)| (*k, kl(pv, &q[k]))).collect();
    let histograms = p
        .into_iter()
        .map(|(k, pv)| (k, (pv, q[k].clone())))
        .collect();
    let (embeddable_samples, embeddable_qm9_test) = if options.embed > 0 {
        let sample_smiles: Vec<String> = valid.iter().map(|(_, c)| c.clone()).collect();
        let test_smiles: Vec<String> = test.iter().map(|r| r.canonical.clone()).collect();
        eprintln!(
            "embedding {} samples and {} QM9 test molecules in 3D with RDKit (ETKDGv3)...",
            options.embed.min(sample_smiles.len()),
            options.embed.min(test_smiles.len())
        );
        (
            Some(embeddable_share(
                &options.python,
                &spread(&sample_smiles, options.embed),
                seed,
            )?),
            Some(embeddable_share(
                &options.python,
                &spread(&test_smiles, options.embed),
                seed,
            )?),
        )
    } else {
        (None, None)
    };
    let realism = Realism {
        rules_samples: rule_shares(&sample_refs),
        rules_qm9_test: rule_shares(&test_molecules),
        embedded: options.embed,
        embeddable_samples,
        embeddable_qm9_test,
    };
    Ok(Evaluation {
        samples: n,
        seed,
        prior: source.describe(config),
        temperature,
        validity: valid.len() as f64 / n as f64,
        uniqueness: figures.uniqueness,
        uniqueness_training_draws,
        novelty: figures.novelty,
        vun: valid.len() as f64 / n as f64 * figures.uniqueness * figures.novelty,
        novel_on_qm9_frameworks: figures.novel_on_qm9_frameworks,
        reconstruction: test_reconstruction.share(),
        reconstructed: test.len(),
        reconstruction_training: training_reconstruction.share(),
        reconstruction_by_rings: test_reconstruction.by_rings,
        reconstruction_refined: test_reconstruction.refined,
        reconstruction_misses: test_reconstruction.misses,
        sampling_molecules_per_second,
        distribution_kl,
        histograms,
        realism,
    })
}

/// The share of distinct strings among `n` seeded draws, with replacement,
/// from `pool` (one entry per molecule, so repeats in it count as QM9 has them).
pub fn uniqueness_of_draws(pool: &[&str], n: usize, seed: u64) -> f64 {
    if pool.is_empty() || n == 0 {
        return 0.0;
    }
    let mut rng = SeededRng::new(seed ^ 0x5155_4D39); // "QUM9": apart from sampling's stream
    let distinct: HashSet<&str> = (0..n).map(|_| pool[rng.below(pool.len())]).collect();
    distinct.len() as f64 / n as f64
}

/// A published generator's QM9 figures, as its paper gives them.
struct Published {
    model: &'static str,
    source: &'static str,
    setting: &'static str,
    validity: &'static str,
    uniqueness: &'static str,
    novelty: &'static str,
}

/// Printed beside our figures, labelled as published. Uniqueness and novelty
/// are those papers' definitions (novelty against their training split).
const PUBLISHED: [Published; 3] = [
    Published {
        model: "MoFlow",
        source: "Zang & Wang, KDD 2020, Table 2",
        setting: "without its validity correction",
        validity: "96.17%",
        uniqueness: "-",
        novelty: "-",
    },
    Published {
        model: "MoFlow",
        source: "Zang & Wang, KDD 2020, Table 2",
        setting: "with its validity correction",
        validity: "100%",
        uniqueness: "99.20%",
        novelty: "98.03%",
    },
    Published {
        model: "CGVAE",
        source: "Liu et al., NeurIPS 2018, as tabulated by MoFlow",
        setting: "valence masks during generation",
        validity: "100%",
        uniqueness: "98.57%",
        novelty: "94.35%",
    },
];

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} samples from the {} prior (seed {}), {:.0} molecules/s",
            self.samples, self.prior, self.seed, self.sampling_molecules_per_second
        )?;
        writeln!(
            f,
            "  {:<34} {:>7.2}%",
            "validity (no correction)",
            self.validity * 100.0
        )?;
        writeln!(
            f,
            "  {:<34} {:>7.2}%",
            "uniqueness",
            self.uniqueness * 100.0
        )?;
        writeln!(
            f,
            "  {:<34} {:>7.2}%",
            "  (draws from QM9 train itself)",
            self.uniqueness_training_draws * 100.0
        )?;
        writeln!(
            f,
            "  {:<34} {:>7.2}%",
            "novelty vs QM9 train",
            self.novelty * 100.0
        )?;
        writeln!(
            f,
            "  {:<34} {:>7.2}%",
            "valid, unique and novel (V.U.N.)",
            self.vun * 100.0
        )?;
        writeln!(
            f,
            "  {:<34} {:>7.2}%",
            "novel ones on QM9 ring frameworks",
            self.novel_on_qm9_frameworks * 100.0
        )?;
        writeln!(
            f,
            "  {:<34} {:>7.2}%",
            format!("reconstruction ({} test molecules)", self.reconstructed),
            self.reconstruction * 100.0
        )?;
        let refined = self.reconstruction_refined.as_ref();
        if let Some(r) = refined {
            writeln!(
                f,
                "  {:<34} {:>7.2}%",
                format!(
                    "  (misses refined, <= {} step{})",
                    r.max_steps,
                    if r.max_steps == 1 { "" } else { "s" }
                ),
                r.share * 100.0
            )?;
            writeln!(
                f,
                "      (a median {:.2} posterior sigmas from the mean)",
                r.median_moved_sigmas
            )?;
        }
        writeln!(
            f,
            "  {:<34} {:>7.2}%",
            "  (as many training molecules)",
            self.reconstruction_training * 100.0
        )?;
        writeln!(
            f,
            "    test molecules by ring count:{}",
            if refined.is_some() {
                "      mean  refined"
            } else {
                ""
            }
        )?;
        let percent = |k: usize, n: usize| match n {
            0 => "-".to_string(),
            n => format!("{:.2}%", 100.0 * k as f64 / n as f64),
        };
        for (rings, row) in self.reconstruction_by_rings.iter().enumerate() {
            let more = if rings == RING_ROWS - 1 { "+" } else { "" };
            let refined_share = refined
                .map(|r| {
                    format!(
                        " {:>8}",
                        percent(r.reconstructed_by_rings[rings], row.molecules)
                    )
                })
                .unwrap_or_default();
            writeln!(
                f,
                "      {:<2} rings {:>6} molecules {:>8}{refined_share}",
                format!("{rings}{more}"),
                row.molecules,
                percent(row.reconstructed, row.molecules)
            )?;
        }
        writeln!(f, "  distribution KL(test || samples), nats:")?;
        for (k, v) in &self.distribution_kl {
            writeln!(f, "    {k:<14} {v:.4}")?;
        }
        let r = &self.realism;
        writeln!(f, "  realism {:>40} {:>9}", "samples", "QM9 test")?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, a: f64, b: f64| {
            writeln!(f, "    {name:<38} {:>8.2}% {:>8.2}%", 100.0 * a, 100.0 * b)
        };
        row(
            f,
            "breaks a structural rule",
            r.rules_samples.any,
            r.rules_qm9_test.any,
        )?;
        for (id, share) in &r.rules_samples.by_rule {
            row(f, &format!("  {id}"), *share, r.rules_qm9_test.by_rule[id])?;
        }
        if let (Some(a), Some(b)) = (r.embeddable_samples, r.embeddable_qm9_test) {
            row(
                f,
                &format!("embeddable in 3D (RDKit, {} each)", r.embedded),
                a,
                b,
            )?;
        }
        writeln!(f, "published on QM9 (from the papers, not measured here):")?;
        for p in PUBLISHED {
            writeln!(
                f,
                "  {}: validity {}, uniqueness {}, novelty {} ({}; {})",
                p.model, p.validity, p.uniqueness, p.novelty, p.source, p.setting
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn set(items: &[&str]) -> HashSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn draws_with_replacement_repeat_as_often_as_chance_says() {
        let names: Vec<String> = (0..10_000).map(|i| i.to_string()).collect();
        let pool: Vec<&str> = names.iter().map(String::as_str).collect();
        // n draws from n equally likely items: 1 - (1 - 1/n)^n ≈ 1 - 1/e
        // distinct, with a standard deviation near 0.24% at this size.
        let share = uniqueness_of_draws(&pool, 10_000, 4);
        assert!((share - (1.0 - (-1.0f64).exp())).abs() < 0.01, "{share}");
        assert_eq!(uniqueness_of_draws(&pool[..1], 50, 4), 1.0 / 50.0);
        assert_eq!(
            uniqueness_of_draws(&pool, 20, 4),
            uniqueness_of_draws(&pool, 20, 4)
        );
    }

    #[test]
    fn figures_count_distinct_molecules() {
        let sets = Qm9Index {
            train: set(&["CC"]),
            held_out: set(&["CN"]),
            ..Qm9Index::default()
        };
        let smiles = ["CC", "CC", "CN", "C1CC1"];
        let molecules: Vec<Molecule> = smiles.iter().map(|s| parse_smiles(s).unwrap()).collect();
        let pairs: Vec<(&Molecule, &str)> = molecules.iter().zip(smiles).collect();
        let f = sample_figures(&pairs, &sets);
        assert!((f.novelty - 2.0 / 3.0).abs() < 1e-12);
        assert!((f.uniqueness - 0.75).abs() < 1e-12);
        assert!((f.held_out_qm9 - 1.0 / 3.0).abs() < 1e-12);
        // CN has no rings; cyclopropane's framework is not in the empty set.
        assert!((f.novel_on_qm9_frameworks - 0.5).abs() < 1e-12);
    }
}
