//! `trainer tune-novelty`: fine-tunes trained weights so that fewer samples
//! are QM9 training molecules.
//!
//! QM9 is GDB-17's exhaustive enumeration up to 9 heavy atoms, so a decoder
//! that learns its distribution well keeps landing on training molecules. The
//! decoder is tuned as a policy (`DecoderPolicy`: REINFORCE with a KL penalty
//! to the trained decoder): a sample earns 1 when it is not a training
//! molecule, repeats none of the recent samples (its batch and the last
//! `repeat_window` before it) and its ring systems have frameworks QM9 has
//! (new ones are mostly strained cages), else 0. Rewards are compared within
//! strata of heavy-atom and ring count, so novelty is not bought by shifting
//! sizes or ring counts; the KL penalty keeps the rest close to what was
//! learned. The encoder and the gap head are untouched.
//!
//! Every `eval_every` steps it samples a fixed-seed evaluation set (novelty,
//! uniqueness, and the share of samples that are held-out QM9 molecules, a
//! sign that it still generates QM9-like chemistry), appends to `metrics.csv`,
//! redraws `curves.png` and writes `checkpoint.bin`, so `--resume` continues.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use model_core::chem::{Molecule, canonical_smiles};
use model_core::model::weights::Precision;
use model_core::rng::SeededRng;
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::decoder_policy::{Baseline, DecoderPolicy, PolicySettings};
use crate::evaluate::{SampleFigures, sample_figures};
use crate::fsio::{csv_text, rounded, write_atomically};
use crate::plot::{self, BLUE, GREEN, GREY, Panel, RED};
use crate::qm9_index::Qm9Index;
use crate::resumable::{Run, RunKind, RunLength};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoveltyTuneConfig {
    pub steps: usize,
    /// Molecules sampled per REINFORCE step.
    pub batch_size: usize,
    pub policy: PolicySettings,
    pub seed: u64,
    /// Evaluate, log and checkpoint every this many steps.
    pub eval_every: usize,
    pub eval_samples: usize,
    /// Reward only novel molecules whose ring systems have QM9 frameworks.
    pub known_ring_systems: bool,
    /// A sample that repeats one of the last this many earns nothing.
    pub repeat_window: usize,
}

impl RunLength for NoveltyTuneConfig {
    fn length(&mut self) -> &mut usize {
        &mut self.steps
    }
}

impl Default for NoveltyTuneConfig {
    fn default() -> Self {
        NoveltyTuneConfig {
            steps: 250,
            batch_size: 512,
            policy: PolicySettings {
                kl_weight: 0.04,
                learning_rate: 2e-4,
            },
            seed: 1,
            eval_every: 25,
            eval_samples: 10_000,
            known_ring_systems: true,
            repeat_window: 10_000,
        }
    }
}

pub struct NoveltyTuneOptions {
    pub config: NoveltyTuneConfig,
    /// The trained weights to start from.
    pub weights: PathBuf,
    pub dataset: PathBuf,
    pub run_dir: PathBuf,
    pub backend: Backend,
    pub resume: bool,
    pub progress: bool,
}

/// The figures of one evaluation point.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TuneMetrics {
    pub step: usize,
    /// Over the steps since the last evaluation: mean reward (none before
    /// the first step) and KL estimate.
    pub train_reward: Option<f64>,
    pub kl_nats: f64,
    /// On the fixed-seed evaluation set.
    pub samples: SampleFigures,
    pub seconds: f64,
}

/// Kept in each checkpoint beside the history: `RecentSamples`, oldest first.
#[derive(Serialize, Deserialize)]
struct Recent {
    recent: Vec<String>,
}

const RUN_KIND: RunKind = RunKind {
    magic: b"MOLGAPNT",
    unit: "step",
};
const EVAL_SEED: u64 = 0x006E_6F76_656C_7479; // "novelty"

/// The canonical SMILES of the last `window` samples, oldest first: a
/// molecule among them is a repeat. Uniqueness is judged on 10,000 samples,
/// far more than one batch, so repeats must be remembered across batches.
#[derive(Clone, Debug, Default)]
pub struct RecentSamples {
    window: usize,
    order: VecDeque<String>,
    counts: HashMap<String, usize>,
}

impl RecentSamples {
    pub fn new(window: usize, remembered: impl IntoIterator<Item = String>) -> RecentSamples {
        let mut recent = RecentSamples {
            window,
            ..RecentSamples::default()
        };
        recent.extend(remembered);
        recent
    }

    pub fn contains(&self, smiles: &str) -> bool {
        self.counts.contains_key(smiles)
    }

    pub fn extend(&mut self, smiles: impl IntoIterator<Item = String>) {
        for s in smiles {
            *self.counts.entry(s.clone()).or_default() += 1;
            self.order.push_back(s);
            while self.order.len() > self.window {
                let old = self.order.pop_front().expect("not empty");
                let count = self.counts.get_mut(&old).expect("counted");
                *count -= 1;
                if *count == 0 {
                    self.counts.remove(&old);
                }
            }
        }
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.order.iter().cloned().collect()
    }
}

/// 1 for each sample that is not a training molecule, not a repeat of an
/// earlier sample in the batch or of a `recent` one and, when
/// `known_frameworks_only`, has only QM9's ring frameworks; else 0.
pub fn novelty_rewards(
    molecules: &[Molecule],
    smiles: &[String],
    sets: &Qm9Index,
    recent: &RecentSamples,
    known_frameworks_only: bool,
) -> Vec<f64> {
    let mut seen = HashSet::new();
    molecules
        .iter()
        .zip(smiles)
        .map(|(m, s)| {
            let first = seen.insert(s.as_str()) && !recent.contains(s);
            let known_frameworks = !known_frameworks_only || sets.has_ring_frameworks_of(m);
            if first && known_frameworks && !sets.train.contains(s) {
                1.0
            } else {
                0.0
            }
        })
        .collect()
}

/// Heavy-atom count and ring count: rewards are compared within these, so
/// the tuning keeps the size and ring distributions the model learned.
fn stratum(molecule: &Molecule) -> usize {
    molecule.heavy_atom_count() * 8 + molecule.ring_count().min(7)
}

fn step_rng(seed: u64, step: usize) -> SeededRng {
    SeededRng::new(seed ^ (step as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn write_metrics(run_dir: &Path, history: &[TuneMetrics]) -> Result<()> {
    #[derive(serde::Serialize)]
    struct Row {
        step: usize,
        train_reward: Option<f64>,
        kl_nats: f64,
        novelty: f64,
        novel_on_qm9_frameworks: f64,
        uniqueness: f64,
        held_out_qm9: f64,
        seconds: f64,
    }
    let csv = csv_text(history.iter().map(|m| Row {
        step: m.step,
        train_reward: m.train_reward.map(|r| rounded(r, 4)),
        kl_nats: rounded(m.kl_nats, 4),
        novelty: rounded(m.samples.novelty, 4),
        novel_on_qm9_frameworks: rounded(m.samples.novel_on_qm9_frameworks, 4),
        uniqueness: rounded(m.samples.uniqueness, 4),
        held_out_qm9: rounded(m.samples.held_out_qm9, 4),
        seconds: rounded(m.seconds, 1),
    }));
    write_atomically(&run_dir.join("metrics.csv"), csv.as_bytes())?;
    let line = |f: fn(&TuneMetrics) -> f64| plot::points(history, |m| m.step as f64, f);
    plot::line_panels(
        &run_dir.join("curves.png"),
        &[
            Panel {
                title: "evaluation samples (share)",
                x_desc: "step",
                series: vec![
                    ("novelty", BLUE, line(|m| m.samples.novelty)),
                    (
                        "novel on QM9 frameworks",
                        RED,
                        line(|m| m.samples.novel_on_qm9_frameworks),
                    ),
                    ("uniqueness", GREEN, line(|m| m.samples.uniqueness)),
                    ("held-out QM9", GREY, line(|m| m.samples.held_out_qm9)),
                ],
                legend: plotters::prelude::SeriesLabelPosition::MiddleRight,
            },
            Panel {
                title: "KL(tuned || trained), nats/molecule",
                x_desc: "step",
                series: vec![("KL", BLUE, line(|m| m.kl_nats))],
                legend: plotters::prelude::SeriesLabelPosition::UpperLeft,
            },
        ],
    )
}

/// Tunes and returns the metrics of every evaluation (including resumed ones).
/// Writes `weights.bin` (the whole VAE, decoder tuned) to the run directory.
pub fn tune_novelty(options: NoveltyTuneOptions) -> Result<Vec<TuneMetrics>> {
    let device = options.backend.device();
    let (prior, model_config) = crate::generate::load_model(&options.weights, &device)?;
    let (mut run, saved) = Run::<NoveltyTuneConfig, TuneMetrics, Recent>::open(
        &options.run_dir,
        &RUN_KIND,
        options.resume,
        options.config.steps,
        || {
            let config = options.config.clone();
            if config.eval_every == 0 || config.batch_size == 0 {
                bail!("--eval-every and --batch-size must be at least 1");
            }
            Ok((config, Recent { recent: Vec::new() }))
        },
    )?;
    let config = run.progress.config.clone();
    let first_step = run.progress.done;
    let mut policy = DecoderPolicy::new(
        &prior,
        &model_config,
        saved.as_ref().map(|s| s.weights.as_slice()),
        config.policy,
        &device,
    )?;
    if let Some(saved) = saved {
        policy.restore_optimizer(saved.optimizer)?;
    }
    let mut recent = RecentSamples::new(
        config.repeat_window,
        std::mem::take(&mut run.progress.state.recent),
    );

    let sets = Qm9Index::from_dataset(&crate::prepare::load_dataset(&options.dataset)?);
    let evaluate = |policy: &DecoderPolicy| {
        let mut rng = SeededRng::new(EVAL_SEED);
        let (_, molecules) = policy.sample(config.eval_samples, &mut rng);
        let smiles: Vec<String> = molecules.iter().map(canonical_smiles).collect();
        let pairs: Vec<(&Molecule, &str)> = molecules
            .iter()
            .zip(smiles.iter().map(String::as_str))
            .collect();
        sample_figures(&pairs, &sets)
    };
    if first_step == 0 {
        let samples = evaluate(&policy);
        run.log(
            0,
            TuneMetrics {
                step: 0,
                train_reward: None,
                kl_nats: 0.0,
                samples,
                seconds: 0.0,
            },
        );
        eprintln!("before tuning, {} samples: {samples}", config.eval_samples);
    }

    let bar = if options.progress {
        ProgressBar::new(config.steps as u64).with_style(
            ProgressStyle::with_template("tuning {bar:30} {pos}/{len} {msg} eta {eta}")
                .expect("valid template"),
        )
    } else {
        ProgressBar::hidden()
    };
    bar.set_position(first_step as u64);
    let mut started = Instant::now();
    let (mut reward_sum, mut kl_sum, mut since) = (0.0, 0.0, 0usize);
    for step in first_step..config.steps {
        let mut rng = step_rng(config.seed, step);
        let (z, molecules) = policy.sample(config.batch_size, &mut rng);
        let smiles: Vec<String> = molecules.iter().map(canonical_smiles).collect();
        let rewards = novelty_rewards(
            &molecules,
            &smiles,
            &sets,
            &recent,
            config.known_ring_systems,
        );
        let strata: Vec<usize> = molecules.iter().map(stratum).collect();
        let stats = policy.update(&z, &molecules, &rewards, Baseline::PerStratum(&strata))?;
        recent.extend(smiles);
        if !stats.kl_nats.is_finite() {
            bail!(
                "the KL estimate became {} at step {}; lower --learning-rate (now {}) or resume from the last checkpoint in {}",
                stats.kl_nats,
                step + 1,
                config.policy.learning_rate,
                options.run_dir.display()
            );
        }
        reward_sum += rewards.iter().sum::<f64>() / rewards.len() as f64;
        kl_sum += stats.kl_nats;
        since += 1;
        bar.set_position(step as u64 + 1);
        bar.set_message(format!(
            "reward {:.3}  KL {:.3} nats",
            reward_sum / since as f64,
            kl_sum / since as f64
        ));
        let done = step + 1;
        if done % config.eval_every == 0 || done == config.steps {
            let metrics = TuneMetrics {
                step: done,
                train_reward: Some(reward_sum / since as f64),
                kl_nats: kl_sum / since as f64,
                samples: evaluate(&policy),
                seconds: started.elapsed().as_secs_f64(),
            };
            let line = format!(
                "step {done}: {}, KL {:.3} nats, {:.0} s",
                metrics.samples, metrics.kl_nats, metrics.seconds
            );
            // A hidden bar drops println, so without a terminal the line goes to stderr.
            if bar.is_hidden() {
                eprintln!("{line}");
            } else {
                bar.println(line);
            }
            run.log(done, metrics);
            run.progress.state.recent = recent.to_vec();
            // The checkpoint keeps f32 so that a resumed run is the same run.
            run.save(&policy.weights(Precision::Full), &policy.optimizer_state()?)?;
            run.write("weights.bin", &policy.weights(Precision::Half))?;
            write_metrics(&options.run_dir, &run.progress.history)?;
            (reward_sum, kl_sum, since) = (0.0, 0.0, 0);
            started = Instant::now();
        }
    }
    bar.finish_and_clear();
    Ok(run.progress.history)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn rewards(smiles: &[&str], sets: &Qm9Index, known_frameworks_only: bool) -> Vec<f64> {
        let molecules: Vec<Molecule> = smiles
            .iter()
            .map(|s| model_core::chem::parse_smiles(s).unwrap())
            .collect();
        let canonical: Vec<String> = molecules.iter().map(canonical_smiles).collect();
        let recent = RecentSamples::new(2, strings(&["CCN", "CCC", "CCCC"]));
        novelty_rewards(&molecules, &canonical, sets, &recent, known_frameworks_only)
    }

    #[test]
    fn rewards_only_first_sightings_of_molecules_outside_training() {
        let sets = Qm9Index {
            train: strings(&["CC", "CO"]).into_iter().collect(),
            held_out: HashSet::new(),
            ..Qm9Index::default()
        };
        // CCN has left the two-sample window; CCC is still in it.
        let got = rewards(&["CC", "CN", "NC", "OC", "NN", "NCC", "CCC"], &sets, false);
        assert_eq!(got, vec![0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
    }

    #[test]
    fn known_ring_rule_withholds_rewards_from_new_frameworks() {
        let sets = Qm9Index {
            train: HashSet::new(),
            held_out: HashSet::new(),
            frameworks: strings(&["C1CC1"]).into_iter().collect(),
            ..Qm9Index::default()
        };
        let smiles = ["CC1CC1", "C1CCC1", "C12CC1C2", "CCO"];
        assert_eq!(rewards(&smiles, &sets, true), vec![1.0, 0.0, 0.0, 1.0]);
        assert_eq!(rewards(&smiles, &sets, false), vec![1.0; 4]);
    }
}
