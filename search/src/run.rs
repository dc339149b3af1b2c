//! The search loop and its resumable state.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::prelude::Device;
use indicatif::{ProgressBar, ProgressStyle};
use model_core::chem::{Molecule, canonical_smiles, parse_smiles};
use model_core::data::{Qm9Dataset, Qm9Record, Split};
use model_core::model::sample::{decode_greedy, encode_means};
use model_core::model::surrogate::{GapSurrogate, SurrogateConfig, predict_gaps_ev};
use model_core::model::weights::save_surrogate;
use model_core::model::{GraphVae, ModelConfig};
use model_core::rng::SeededRng;
use serde::{Deserialize, Serialize};

use crate::constraints::Constraints;
use crate::graph;
use crate::nes::SearchDistribution;
use crate::oracle::{LevelMap, Outcome, Scorer};
use scorer_api::Level;
use training::backend::Backend;
use training::decoder_policy::{Baseline, DecoderPolicy, PolicySettings};
use training::fsio::write_atomically;
use training::qm9_index::Qm9Index;
use training::surrogate::{Labelled, RefitSettings, load_surrogate_file, refit};

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
    /// On this round's new molecules, before they were used (prospective).
    pub mae_before_ev: f64,
    /// On every molecule discovered so far, after the refit.
    pub mae_after_ev: f64,
    /// On every molecule discovered so far, with the surrogate the search started with.
    pub mae_initial_ev: f64,
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
}

impl SearchState {
    pub fn calls(&self) -> usize {
        self.scored.len()
    }
}

pub struct OptimizeOptions {
    pub out_dir: PathBuf,
    pub weights: PathBuf,
    pub surrogate: PathBuf,
    pub dataset: PathBuf,
    pub backend: Backend,
    pub scorer_url: String,
    pub constraints: Constraints,
    pub settings: SearchSettings,
    pub resume: bool,
    pub progress: bool,
}

const STATE_FILE: &str = "search.json";
const REFIT_FILE: &str = "surrogate.bin";
const POLICY_FILE: &str = "policy.bin";
/// The verified molecules with their DFT geometries, for RDKit, Open Babel and viewers.
pub const VERIFIED_SDF: &str = "verified.sdf";
/// QM9 molecules mixed into each refit batch so the surrogate keeps its knowledge.
const REPLAY: usize = 8192;

struct Models {
    policy: Option<DecoderPolicy>,
    vae: GraphVae,
    vae_config: ModelConfig,
    surrogate: GapSurrogate,
    surrogate_config: SurrogateConfig,
    device: Device,
}

/// A decoded candidate with its canonical SMILES and predicted gap.
struct Candidate {
    molecule: Molecule,
    smiles: String,
    predicted_gap_ev: f64,
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

fn save_state(options: &OptimizeOptions, state: &SearchState) -> Result<()> {
    write_atomically(
        &options.out_dir.join(STATE_FILE),
        serde_json::to_string_pretty(state)?.as_bytes(),
    )
}

/// A finished search, and the QM9 gaps under its constraints for comparison.
pub struct SearchOutcome {
    pub state: SearchState,
    pub qm9_gaps: Vec<f64>,
}

/// Runs (or resumes) a search.
pub fn optimize(options: &OptimizeOptions) -> Result<SearchOutcome> {
    std::fs::create_dir_all(&options.out_dir)?;
    let device = options.backend.device();
    let (vae, vae_config) = training::generate::load_model(&options.weights, &device)?;
    let refit_path = options.out_dir.join(REFIT_FILE);
    let state_path = options.out_dir.join(STATE_FILE);
    let (initial_surrogate, surrogate_config) = load_surrogate_file(&options.surrogate, &device)?;
    let dataset = training::prepare::load_dataset(&options.dataset)?;
    let known = Qm9Index::from_dataset(&dataset);
    let scorer = Scorer::connect(&options.scorer_url)?;
    let prescreen_map = LevelMap::for_level(options.settings.prescreen_level);
    let final_map = LevelMap::for_level(options.settings.final_level);

    let mut state = if options.resume && state_path.exists() {
        let state = read_state(&state_path)?;
        if state.constraints != options.constraints {
            bail!(
                "{} was searched with other constraints ({}); use another --out-dir",
                options.out_dir.display(),
                state.constraints.describe()
            );
        }
        eprintln!(
            "resuming {} after round {} ({} DFT calls spent)",
            options.out_dir.display(),
            state.rounds_done,
            state.calls()
        );
        let mut state = state;
        // A resumed run may be given more rounds or finalists than it started with.
        if options.settings.rounds > state.settings.rounds {
            state.settings.rounds = options.settings.rounds;
            state.finals_done = false;
        }
        if options.settings.finalists > state.settings.finalists {
            state.settings.finalists = options.settings.finalists;
            state.finals_done = false;
        }
        state
    } else {
        if state_path.exists() {
            bail!(
                "{} already holds a search; pass --resume to continue it or choose another --out-dir",
                options.out_dir.display()
            );
        }
        new_state(options, &dataset, &known, &vae, &vae_config, &device)?
    };
    let surrogate = if refit_path.exists() && state.rounds_done > 0 {
        load_surrogate_file(&refit_path, &device)?.0
    } else {
        initial_surrogate.clone()
    };
    let qm9_gaps: Vec<f64> = eligible_in_qm9(&dataset, &state.constraints, &known)
        .iter()
        .map(|r| r.gap_ev())
        .collect();
    let replay: Vec<Labelled> = {
        let mut train: Vec<Labelled> = dataset
            .split_records(Split::Train)
            .map(|r| (r.molecule.clone(), r.gap_ev()))
            .collect();
        SeededRng::new(state.settings.seed).shuffle(&mut train);
        train.truncate(REPLAY);
        train
    };
    drop(dataset);
    let policy_path = options.out_dir.join(POLICY_FILE);
    let policy = match state.settings.strategy {
        Strategy::Latent | Strategy::Graph => None,
        Strategy::Decoder => {
            let saved = if state.rounds_done > 0 && policy_path.exists() {
                Some(std::fs::read(&policy_path)?)
            } else {
                None
            };
            Some(DecoderPolicy::new(
                &vae,
                &vae_config,
                saved.as_deref(),
                PolicySettings::default(),
                &device,
            )?)
        }
    };
    let mut models = Models {
        policy,
        vae,
        vae_config,
        surrogate,
        surrogate_config,
        device,
    };

    eprintln!(
        "searching for {}: {} rounds x {} molecules at the {} level, then {} finalists at the {} level",
        state.constraints.describe(),
        state.settings.rounds,
        state.settings.per_round,
        state.settings.prescreen_level,
        state.settings.finalists,
        state.settings.final_level
    );
    while state.rounds_done < state.settings.rounds {
        let round = state.rounds_done;
        let candidates = match state.settings.strategy {
            Strategy::Latent => search_round(&mut state, &models, &known, round),
            Strategy::Decoder => policy_round(&mut state, &mut models, &known, round)?,
            Strategy::Graph => graph_round(&mut state, &models, &known, round),
        };
        if let Some(policy) = &models.policy {
            write_atomically(&policy_path, &policy.weights())?;
        }
        let scored: HashSet<&str> = state.scored.iter().map(|s| s.smiles.as_str()).collect();
        let picks: Vec<&Candidate> = candidates
            .iter()
            .filter(|c| !scored.contains(c.smiles.as_str()))
            .take(state.settings.per_round)
            .collect();
        if picks.is_empty() {
            eprintln!("round {}: no new candidate met the constraints", round + 1);
        }
        let level = state.settings.prescreen_level;
        let results = score(&scorer, &picks, level, options.progress, round)?;
        let mut new_results = Vec::new();
        for (c, outcome) in picks.iter().zip(results) {
            let entry = scored_entry(&state, c, &outcome, round, level, prescreen_map, &known);
            new_results.push(entry.clone());
            state.scored.push(entry);
        }
        // Active learning: refit on everything discovered, on the qm9 scale.
        let discovered = labelled_results(&state.scored, level);
        let fresh = labelled_results(&new_results, level);
        let mae = |model: &GapSurrogate, data: &[Labelled]| {
            let refs: Vec<&Labelled> = data.iter().collect();
            training::surrogate::mae_ev(model, &models.surrogate_config, &refs, &models.device)
        };
        let mae_before = mae(&models.surrogate, &fresh);
        if state.settings.refit_steps > 0 && !discovered.is_empty() {
            models.surrogate = refit(
                &models.surrogate,
                &models.surrogate_config,
                &discovered,
                &replay,
                RefitSettings {
                    steps: state.settings.refit_steps,
                    learning_rate: 1e-4,
                    seed: state.settings.seed ^ round as u64,
                },
                &models.device,
            )?;
            write_atomically(
                &refit_path,
                &save_surrogate(&models.surrogate, &models.surrogate_config),
            )?;
        }
        let fit = RoundFit {
            round: round + 1,
            mae_before_ev: mae_before,
            mae_after_ev: mae(&models.surrogate, &discovered),
            mae_initial_ev: mae(&initial_surrogate, &discovered),
            molecules: discovered.len(),
        };
        let best = state
            .scored
            .iter()
            .filter_map(|s| s.calibrated_gap_ev)
            .fold(f64::NAN, f64::max);
        eprintln!(
            "round {}/{}: {} scored, best {:.3} eV (qm9 scale) after {} DFT calls; surrogate MAE on new molecules {:.3} eV, after refit {:.3} eV on all {}",
            round + 1,
            state.settings.rounds,
            new_results.len(),
            best,
            state.calls(),
            fit.mae_before_ev,
            fit.mae_after_ev,
            fit.molecules
        );
        state.fits.push(fit);
        state.rounds_done += 1;
        save_state(options, &state)?;
    }

    if !state.finals_done {
        finals(
            &mut state,
            &models,
            &scorer,
            final_map,
            &known,
            options.progress,
        )?;
        state.finals_done = true;
        save_state(options, &state)?;
    }
    crate::report::write_outputs(&options.out_dir, &state, &qm9_gaps)?;
    let sdf_path = options.out_dir.join(VERIFIED_SDF);
    let sdf = crate::sdf::write_verified_sdf(&sdf_path, &state, |smiles, level| {
        scorer.stored_result(smiles, level)
    })?;
    eprintln!(
        "{} verified molecules with their DFT geometries in {}",
        sdf.records,
        sdf_path.display()
    );
    for (smiles, why) in &sdf.skipped {
        eprintln!("  left out of the SDF: {smiles}: {why}");
    }
    Ok(SearchOutcome { state, qm9_gaps })
}

fn new_state(
    options: &OptimizeOptions,
    dataset: &Qm9Dataset,
    known: &Qm9Index,
    vae: &GraphVae,
    vae_config: &ModelConfig,
    device: &Device,
) -> Result<SearchState> {
    let latent = vae_config.latent;
    let settings = options.settings.clone();
    let constraints = options.constraints.clone();
    // QM9's molecules that meet the constraints, best gap first.
    let mut eligible = eligible_in_qm9(dataset, &constraints, known);
    eligible.sort_by(|a, b| b.gap_ev().total_cmp(&a.gap_ev()));
    let qm9_best = eligible.first().map(|r| (r.canonical.clone(), r.gap_ev()));
    // Half the distributions start at QM9's best molecules, half at the prior.
    let from_qm9 = settings.population.div_ceil(2).min(eligible.len());
    let starts: Vec<&Molecule> = eligible
        .iter()
        .take(from_qm9)
        .map(|r| &r.molecule)
        .collect();
    let means = encode_means(vae, &starts, device);
    let mut rng = SeededRng::new(settings.seed);
    let mut distributions: Vec<SearchDistribution> = means
        .chunks(latent)
        .map(|m| SearchDistribution::new(m.to_vec(), settings.sigma))
        .collect();
    while distributions.len() < settings.population {
        let mean = vae_config.prior.sample(1, latent, &mut rng);
        distributions.push(SearchDistribution::new(mean, 1.0));
    }
    let population = match settings.strategy {
        Strategy::Graph => initial_population(&settings, &eligible, vae, vae_config, device),
        Strategy::Latent | Strategy::Decoder => Vec::new(),
    };
    Ok(SearchState {
        format: SEARCH_STATE_FORMAT,
        settings,
        constraints,
        rounds_done: 0,
        distributions,
        scored: Vec::new(),
        fits: Vec::new(),
        finals_done: false,
        qm9_best,
        qm9_best_final: None,
        first_round_predictions: Vec::new(),
        last_round_predictions: Vec::new(),
        population,
    })
}

/// The graph strategy's first population: QM9's best molecules under the
/// constraints and as many molecules sampled from the VAE's prior.
fn initial_population(
    settings: &SearchSettings,
    eligible: &[&Qm9Record],
    vae: &GraphVae,
    vae_config: &ModelConfig,
    device: &Device,
) -> Vec<String> {
    let half = graph_population_size(settings) / 2;
    let sampled = model_core::model::sample::sample_prior(
        vae,
        vae_config,
        half,
        settings.seed,
        256,
        1.0,
        device,
    );
    eligible
        .iter()
        .take(half)
        .map(|r| r.canonical.clone())
        .chain(sampled.iter().map(canonical_smiles))
        .collect()
}

/// Molecules the graph strategy keeps between generations.
fn graph_population_size(settings: &SearchSettings) -> usize {
    settings.population * 8
}

/// QM9's molecules that meet `constraints`, novelty aside (they are all in QM9).
fn eligible_in_qm9<'a>(
    dataset: &'a Qm9Dataset,
    constraints: &Constraints,
    known: &Qm9Index,
) -> Vec<&'a Qm9Record> {
    dataset
        .records
        .iter()
        .filter(|r| constraints.penalty_novelty_aside(&r.molecule, known) == 0.0)
        .collect()
}

/// The generator of one search generation, derived from the seed alone, so a
/// resumed round draws what an uninterrupted one would.
fn generation_rng(settings: &SearchSettings, round: usize, generation: usize) -> SeededRng {
    let step = (round * settings.generations + generation) as u64 + 1;
    SeededRng::new(settings.seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// SNES generations of one round; returns the candidates that meet every
/// constraint, best predicted gap first.
fn search_round(
    state: &mut SearchState,
    models: &Models,
    known: &Qm9Index,
    round: usize,
) -> Vec<Candidate> {
    let settings = state.settings.clone();
    let constraints = state.constraints.clone();
    let latent = models.vae_config.latent;
    let mut log = RoundLog::default();
    for generation in 0..settings.generations {
        let mut rng = generation_rng(&settings, round, generation);
        let draws: Vec<_> = state
            .distributions
            .iter()
            .map(|d| d.draw(settings.samples, &mut rng))
            .collect();
        let latents: Vec<f32> = draws
            .iter()
            .flat_map(|d| d.latents.iter().copied())
            .collect();
        let molecules = decode_greedy(&models.vae, &models.vae_config, &latents, &models.device);
        let assessed = log.assess(molecules, models, &constraints, known);
        let rewards: Vec<f64> = assessed.iter().map(Assessed::reward).collect();
        debug_assert_eq!(latents.len(), rewards.len() * latent);
        for (dist, (draw, rewards)) in state
            .distributions
            .iter_mut()
            .zip(draws.iter().zip(rewards.chunks(settings.samples)))
        {
            dist.update(draw, rewards);
        }
    }
    log.finish(state, round)
}

/// REINFORCE generations of one round on the decoder policy; returns the
/// candidates that meet every constraint, best predicted gap first.
fn policy_round(
    state: &mut SearchState,
    models: &mut Models,
    known: &Qm9Index,
    round: usize,
) -> Result<Vec<Candidate>> {
    let settings = state.settings.clone();
    let constraints = state.constraints.clone();
    let batch = settings.population * settings.samples;
    let mut log = RoundLog::default();
    for generation in 0..settings.generations {
        let mut rng = generation_rng(&settings, round, generation);
        let (z, molecules) = models
            .policy
            .as_mut()
            .expect("decoder strategy has a policy")
            .sample(batch, &mut rng);
        let assessed = log.assess(molecules, models, &constraints, known);
        let rewards: Vec<f64> = assessed.iter().map(Assessed::reward).collect();
        let molecules: Vec<Molecule> = assessed.into_iter().map(|a| a.molecule).collect();
        models
            .policy
            .as_mut()
            .expect("decoder strategy has a policy")
            .update(&z, &molecules, &rewards, Baseline::Batch)?;
    }
    Ok(log.finish(state, round))
}

/// Graph-evolution generations of one round; returns the candidates that meet
/// every constraint, best predicted gap first.
fn graph_round(
    state: &mut SearchState,
    models: &Models,
    known: &Qm9Index,
    round: usize,
) -> Vec<Candidate> {
    let settings = state.settings.clone();
    let constraints = state.constraints.clone();
    // Rewards come from the surrogate as refitted so far, so the population is re-scored.
    let parents = graph::parse_population(&state.population);
    let mut population = assess(parents, models, &constraints, known);
    let mut log = RoundLog::default();
    let per_generation = settings.population * settings.samples;
    for generation in 0..settings.generations {
        if population.is_empty() {
            break;
        }
        let mut rng = generation_rng(&settings, round, generation);
        let children =
            graph::offspring(&population, &constraints.elements, per_generation, &mut rng);
        population.extend(log.assess(children, models, &constraints, known));
        population = graph::select(population, graph_population_size(&settings));
    }
    state.population = graph::population_smiles(&population);
    log.finish(state, round)
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
fn assess(
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
struct RoundLog {
    pool: HashMap<String, Candidate>,
    predictions: Vec<f64>,
}

impl RoundLog {
    /// [`assess`], recording what it saw.
    fn assess(
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

    /// Records the round's predictions in `state`; the candidates, best predicted gap first.
    fn finish(self, state: &mut SearchState, round: usize) -> Vec<Candidate> {
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

fn score(
    scorer: &Scorer,
    picks: &[&Candidate],
    level: Level,
    progress: bool,
    round: usize,
) -> Result<Vec<Outcome>> {
    let smiles: Vec<String> = picks.iter().map(|c| c.smiles.clone()).collect();
    let bar = if progress {
        ProgressBar::new(smiles.len() as u64).with_style(
            ProgressStyle::with_template(&format!(
                "round {} DFT ({level}) {{bar:30}} {{pos}}/{{len}} {{msg}} eta {{eta}}",
                round + 1
            ))
            .expect("valid template"),
        )
    } else {
        ProgressBar::hidden()
    };
    let outcomes = scorer.score_all(&smiles, level, |i, outcome| {
        bar.set_position(i as u64 + 1);
        if let Outcome::Done { gap_ev, .. } = outcome {
            bar.set_message(format!("{} {gap_ev:.2} eV", smiles[i]));
        }
    })?;
    bar.finish_and_clear();
    Ok(outcomes)
}

fn scored_entry(
    state: &SearchState,
    candidate: &Candidate,
    outcome: &Outcome,
    round: usize,
    level: Level,
    map: LevelMap,
    known: &Qm9Index,
) -> Scored {
    let (dft, error) = match outcome {
        Outcome::Done {
            gap_ev,
            converged: true,
        } => (Some(*gap_ev), None),
        Outcome::Done {
            converged: false, ..
        } => (None, Some("SCF did not converge".to_string())),
        Outcome::Failed(reason) => (None, Some(reason.clone())),
    };
    Scored {
        smiles: candidate.smiles.clone(),
        round,
        predicted_gap_ev: candidate.predicted_gap_ev,
        level,
        dft_gap_ev: dft,
        calibrated_gap_ev: dft.map(|g| map.apply(g)),
        error,
        novel: !known.contains(&candidate.smiles),
        heavy_atoms: candidate.molecule.heavy_atom_count(),
        calls: state.calls() + 1,
    }
}

fn labelled_results(results: &[Scored], level: Level) -> Vec<Labelled> {
    results
        .iter()
        .filter(|s| s.level == level)
        .filter_map(|s| {
            let gap = s.calibrated_gap_ev?;
            Some((parse_smiles(&s.smiles).ok()?, gap))
        })
        .collect()
}

/// Verifies the best pre-screened molecules, and QM9's best, at the final level.
fn finals(
    state: &mut SearchState,
    models: &Models,
    scorer: &Scorer,
    map: LevelMap,
    known: &Qm9Index,
    progress: bool,
) -> Result<()> {
    let level = state.settings.final_level;
    let done: HashSet<String> = state
        .scored
        .iter()
        .filter(|s| s.level == level)
        .map(|s| s.smiles.clone())
        .collect();
    let mut ranked: Vec<&Scored> = state
        .scored
        .iter()
        .filter(|s| s.level == state.settings.prescreen_level && s.calibrated_gap_ev.is_some())
        .collect();
    ranked.sort_by(|a, b| {
        b.calibrated_gap_ev
            .unwrap_or(f64::MIN)
            .total_cmp(&a.calibrated_gap_ev.unwrap_or(f64::MIN))
    });
    let wanted = state.settings.finalists.saturating_sub(done.len());
    let picks: Vec<Candidate> = ranked
        .iter()
        .filter(|s| !done.contains(&s.smiles))
        .take(wanted)
        .map(|s| Candidate {
            molecule: parse_smiles(&s.smiles).expect("scored SMILES parse"),
            smiles: s.smiles.clone(),
            predicted_gap_ev: s.predicted_gap_ev,
        })
        .collect();
    let refs: Vec<&Candidate> = picks.iter().collect();
    eprintln!("verifying {} finalists at the {level} level", refs.len());
    let round = state.rounds_done;
    let outcomes = score(scorer, &refs, level, progress, round)?;
    for (c, outcome) in refs.iter().zip(outcomes) {
        let entry = scored_entry(state, c, &outcome, round, level, map, known);
        state.scored.push(entry);
    }
    // QM9's best through the same pipeline: a like-for-like reference, not counted as a search call.
    if state.qm9_best_final.is_none()
        && let Some((smiles, _)) = state.qm9_best.clone()
    {
        let molecule = parse_smiles(&smiles)?;
        let predicted = predict_gaps_ev(
            &models.surrogate,
            &models.surrogate_config,
            &[&molecule],
            &models.device,
        );
        let reference = Candidate {
            predicted_gap_ev: predicted[0],
            smiles,
            molecule,
        };
        let outcome = score(scorer, &[&reference], level, false, round)?;
        let mut entry = scored_entry(state, &reference, &outcome[0], round, level, map, known);
        entry.calls = 0;
        state.qm9_best_final = Some(entry);
    }
    Ok(())
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
