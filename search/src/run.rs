//! The search loop: rounds of a strategy, the best candidates to the DFT
//! oracle, the surrogate refitted on what it found, finalists verified.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::{Result, bail};
use burn::prelude::Device;
use indicatif::{ProgressBar, ProgressStyle};
use model_core::chem::{Molecule, parse_smiles};
use model_core::data::{Qm9Dataset, Split};
use model_core::model::surrogate::{GapSurrogate, predict_gaps_ev};
use model_core::model::weights::{Precision, save_surrogate};
use model_core::model::{GraphVae, ModelConfig};
use model_core::rng::SeededRng;

use crate::assess::{Candidate, Models};
use crate::constraints::Constraints;
use crate::nes::SearchDistribution;
use crate::oracle::{LevelMap, Outcome, Scorer};
use crate::rounds::{
    eligible_in_qm9, graph_round, initial_population, policy_round, recentre_on_best_verified,
    search_round,
};
use crate::state::{
    RoundFit, SEARCH_STATE_FORMAT, STATE_FILE, Scored, SearchSettings, SearchState, Strategy,
    read_state,
};
use model_core::model::refine::{Refinement, refined_latents};
use scorer_api::Level;
use training::backend::Backend;
use training::decoder_policy::{DecoderPolicy, PolicySettings};
use training::fsio::write_atomically;
use training::qm9_index::Qm9Index;
use training::surrogate::{Labelled, RefitSettings, load_surrogate_file, refit};

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

const REFIT_FILE: &str = "surrogate.bin";
const POLICY_FILE: &str = "policy.bin";
/// The verified molecules with their DFT geometries, for RDKit, Open Babel and viewers.
pub const VERIFIED_SDF: &str = "verified.sdf";
/// QM9 molecules mixed into each refit batch so the surrogate keeps its knowledge.
const REPLAY: usize = 8192;

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
        stop_if_the_scorer_is_broken(&state.scored, &results, options)?;
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
            (!refs.is_empty()).then(|| {
                training::surrogate::mae_ev(model, &models.surrogate_config, &refs, &models.device)
            })
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
        let ev = |mae: Option<f64>| mae.map_or("n/a".to_string(), |v| format!("{v:.3} eV"));
        eprintln!(
            "round {}/{}: {} scored ({} with a gap), best {:.3} eV (qm9 scale) after {} DFT calls; surrogate MAE on new molecules {}, after refit {} on all {}",
            round + 1,
            state.settings.rounds,
            new_results.len(),
            fresh.len(),
            best,
            state.calls(),
            ev(fit.mae_before_ev),
            ev(fit.mae_after_ev),
            fit.molecules
        );
        state.fits.push(fit);
        if state.settings.strategy == Strategy::Latent
            && let Some(smiles) = recentre_on_best_verified(&mut state, &models, &known)
        {
            eprintln!("  a search distribution moves to {smiles}");
        }
        state.rounds_done += 1;
        if let Some(policy) = &models.policy {
            // Saved with the state, full precision: a resumed search goes on
            // from the policy of the last round it recorded.
            write_atomically(&policy_path, &policy.weights(Precision::Full))?;
        }
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

/// Failed DFT jobs in a row that stop a search: a molecule RDKit cannot
/// embed, or whose SCF does not converge, fails alone (a few in a hundred);
/// this many in a row is a scorer that cannot compute, and every further
/// call would be spent for nothing.
pub const FAILURES_THAT_STOP: usize = 8;

/// Stops the search, before this round is recorded, when it and the rounds
/// before it end in [`FAILURES_THAT_STOP`] failed jobs; a resumed run scores
/// the round again once the scorer is mended.
fn stop_if_the_scorer_is_broken(
    recorded: &[Scored],
    round: &[Outcome],
    options: &OptimizeOptions,
) -> Result<()> {
    if round.is_empty() || round.iter().any(Outcome::has_gap) {
        return Ok(());
    }
    let failed_in_round = round.len();
    let failed_before = recorded
        .iter()
        .rev()
        .take_while(|s| s.calibrated_gap_ev.is_none())
        .count();
    if failed_in_round + failed_before < FAILURES_THAT_STOP {
        return Ok(());
    }
    let mut reasons: Vec<String> = round.iter().map(Outcome::describe).collect();
    reasons.sort();
    reasons.dedup();
    bail!(
        "the last {} DFT jobs all failed, so the scorer at {} cannot compute ({}); \
         check its log and GET /v1/health, then run the same command with --resume: \
         this round was not recorded and will be scored again",
        failed_in_round + failed_before,
        options.scorer_url,
        reasons.join("; ")
    )
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
    // Latents that give the starts back: the means, refined where one
    // decodes to another molecule.
    let means = refined_latents(vae, vae_config, &starts, Refinement::default(), device).z;
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
        centred_on: Vec::new(),
    })
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
    let dft = match outcome {
        Outcome::Done { gap_ev, .. } if outcome.has_gap() => Some(*gap_ev),
        _ => None,
    };
    let error = (!outcome.has_gap()).then(|| outcome.describe());
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
