//! One round of each strategy: SNES over the latent space, REINFORCE on the
//! decoder policy, or graph evolution; and where each strategy starts.

use std::collections::HashSet;

use anyhow::Result;
use burn::prelude::Device;
use model_core::chem::{Molecule, canonical_smiles};
use model_core::data::{Qm9Dataset, Qm9Record};
use model_core::model::refine::{Refinement, refined_latents};
use model_core::model::sample::decode_greedy;
use model_core::model::{GraphVae, ModelConfig};
use model_core::rng::SeededRng;
use training::decoder_policy::{Baseline, Episodes};
use training::qm9_index::Qm9Index;

use crate::assess::{Assessed, Candidate, Models, RoundLog, assess};
use crate::constraints::Constraints;
use crate::graph;
use crate::nes::SearchDistribution;
use crate::state::{Scored, SearchSettings, SearchState};

/// The graph strategy's first population: QM9's best molecules under the
/// constraints and as many molecules sampled from the VAE's prior.
pub fn initial_population(
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
pub fn graph_population_size(settings: &SearchSettings) -> usize {
    settings.population * 8
}

/// QM9's molecules that meet `constraints`, novelty aside (they are all in QM9).
pub fn eligible_in_qm9<'a>(
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
pub fn generation_rng(settings: &SearchSettings, round: usize, generation: usize) -> SeededRng {
    widened_generation_rng(settings, round, generation, 0)
}

/// Passes of SNES generations a round may add after its first, each from
/// distributions widened back to their starting spread.
pub const MAX_WIDENINGS: usize = 2;

/// SNES generations of one round; returns the candidates that meet every
/// constraint, best predicted gap first.
///
/// The distributions close in on the best molecules the surrogate knows,
/// and once those are scored a round can find nothing new (the no-F task
/// found 2 in its third round and none in most after). A round that found
/// fewer unscored candidates than it sends to the oracle widens every
/// distribution back to the starting spread and searches again, up to
/// [`MAX_WIDENINGS`] times; a round that found enough draws exactly what it
/// drew before widening existed.
pub fn search_round(
    state: &mut SearchState,
    models: &Models,
    known: &Qm9Index,
    round: usize,
) -> Vec<Candidate> {
    let settings = state.settings.clone();
    let constraints = state.constraints.clone();
    let latent = models.vae_config.latent;
    let scored: HashSet<String> = state.scored.iter().map(|s| s.smiles.clone()).collect();
    let mut log = RoundLog::default();
    for widening in 0..=MAX_WIDENINGS {
        if widening > 0 {
            if log.unscored(&scored) >= settings.per_round {
                break;
            }
            for distribution in &mut state.distributions {
                distribution.widen(settings.sigma);
            }
        }
        for generation in 0..settings.generations {
            let mut rng = widened_generation_rng(&settings, round, generation, widening);
            let draws: Vec<_> = state
                .distributions
                .iter()
                .map(|d| d.draw(settings.samples, &mut rng))
                .collect();
            let latents: Vec<f32> = draws
                .iter()
                .flat_map(|d| d.latents.iter().copied())
                .collect();
            let molecules =
                decode_greedy(&models.vae, &models.vae_config, &latents, &models.device);
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
    }
    log.finish(state, round)
}

/// The latent strategy's memory of what DFT verified: after a round, the
/// distribution whose centre decodes to the molecule with the lowest reward
/// moves to a latent that gives back the best verified molecule not yet a
/// centre (`model_core::model::refine`: the mean, or a latent near it that decodes
/// to it), at the search's starting spread. SNES alone moves on the
/// surrogate's predictions and keeps no hold on a verified find; the graph
/// strategy keeps its finds in its population. Returns the molecule moved
/// to, if any.
pub fn recentre_on_best_verified(
    state: &mut SearchState,
    models: &Models,
    known: &Qm9Index,
) -> Option<String> {
    let best = state
        .scored
        .iter()
        .filter(|s| !state.centred_on.contains(&s.smiles))
        .filter_map(|s| Some((s.calibrated_gap_ev?, &s.smiles)))
        .max_by(|a, b| a.0.total_cmp(&b.0))?
        .1
        .clone();
    // Tried once, given back or not.
    state.centred_on.push(best.clone());
    let molecule = model_core::chem::parse_smiles(&best).ok()?;
    let found = refined_latents(
        &models.vae,
        &models.vae_config,
        &[&molecule],
        Refinement::default(),
        &models.device,
    );
    if !found.outcomes[0].given_back() {
        return None;
    }
    let centres: Vec<f32> = state
        .distributions
        .iter()
        .flat_map(|d| d.mean.iter().copied())
        .collect();
    let decoded = decode_greedy(&models.vae, &models.vae_config, &centres, &models.device);
    let rewards: Vec<f64> = assess(decoded, models, &state.constraints, known)
        .iter()
        .map(Assessed::reward)
        .collect();
    let worst = (0..rewards.len()).min_by(|&a, &b| rewards[a].total_cmp(&rewards[b]))?;
    state.distributions[worst] = SearchDistribution::new(found.z, state.settings.sigma);
    Some(best)
}

/// [`generation_rng`] for a round's `widening`-th widened pass (the term it
/// adds is zero for the first pass), so each pass draws from its own.
fn widened_generation_rng(
    settings: &SearchSettings,
    round: usize,
    generation: usize,
    widening: usize,
) -> SeededRng {
    let step = (round * settings.generations + generation) as u64 + 1;
    SeededRng::new(
        settings.seed
            ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (widening as u64).wrapping_mul(0xD1B5_4A32_D192_ED03),
    )
}

/// REINFORCE generations of one round on the decoder policy; returns the
/// candidates that meet every constraint, best predicted gap first.
///
/// With `replay` set, every update also learns from the best molecules DFT
/// has verified so far (experience replay, as REINVENT keeps its best): the
/// policy otherwise moves on the surrogate's rewards for what it happens to
/// sample and keeps no hold on a verified find, as SNES did before the
/// latent strategy's re-centring.
pub fn policy_round(
    state: &mut SearchState,
    models: &mut Models,
    known: &Qm9Index,
    round: usize,
) -> Result<Vec<Candidate>> {
    let settings = state.settings.clone();
    let constraints = state.constraints.clone();
    let batch = settings.population * settings.samples;
    // Fixed through the round: nothing is verified and the surrogate is not
    // refitted until the round's candidates are scored.
    let elites = best_verified(&state.scored, settings.replay);
    let elite_rewards: Vec<f64> = assess(elites.clone(), models, &constraints, known)
        .iter()
        .map(Assessed::reward)
        .collect();
    let elite_refs: Vec<&Molecule> = elites.iter().collect();
    let replayed = models
        .policy
        .as_ref()
        .expect("decoder strategy has a policy")
        .replay(&elite_refs)?;
    let mut log = RoundLog::default();
    for generation in 0..settings.generations {
        let mut rng = generation_rng(&settings, round, generation);
        let (z, molecules) = models
            .policy
            .as_ref()
            .expect("decoder strategy has a policy")
            .sample(batch, &mut rng);
        let assessed = log.assess(molecules, models, &constraints, known);
        let mut rewards: Vec<f64> = assessed.iter().map(Assessed::reward).collect();
        let molecules: Vec<Molecule> = assessed.into_iter().map(|a| a.molecule).collect();
        let mut episodes = Episodes::sampled(z, &molecules, models.vae_config.max_atoms)?;
        episodes.extend(&replayed);
        rewards.extend(&elite_rewards);
        models
            .policy
            .as_mut()
            .expect("decoder strategy has a policy")
            .update_on(&episodes, &rewards, Baseline::Batch)?;
    }
    Ok(log.finish(state, round))
}

/// The `n` molecules with the highest gaps DFT has verified (on the qm9
/// scale), best first.
pub fn best_verified(scored: &[Scored], n: usize) -> Vec<Molecule> {
    let mut verified: Vec<(f64, &str)> = scored
        .iter()
        .filter_map(|s| Some((s.calibrated_gap_ev?, s.smiles.as_str())))
        .collect();
    verified.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let mut seen = HashSet::new();
    verified
        .into_iter()
        .filter(|(_, smiles)| seen.insert(*smiles))
        .filter_map(|(_, smiles)| model_core::chem::parse_smiles(smiles).ok())
        .take(n)
        .collect()
}

/// Graph-evolution generations of one round; returns the candidates that meet
/// every constraint, best predicted gap first.
pub fn graph_round(
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

#[cfg(test)]
mod tests {
    use scorer_api::Level;

    use super::*;

    fn scored(smiles: &str, gap: Option<f64>) -> Scored {
        Scored {
            smiles: smiles.to_string(),
            round: 0,
            predicted_gap_ev: 9.0,
            level: Level::Fast,
            dft_gap_ev: gap,
            calibrated_gap_ev: gap,
            error: gap.is_none().then(|| "no convergence".to_string()),
            novel: true,
            heavy_atoms: 3,
            calls: 1,
        }
    }

    #[test]
    fn the_best_verified_are_the_highest_gaps_once_each() {
        let results = [
            scored("CCO", Some(8.0)),
            scored("CCN", None),
            scored("CCC", Some(10.0)),
            scored("CCF", Some(9.0)),
            // Verified again at the final level: counted once, at its best.
            scored("CCC", Some(9.5)),
        ];
        let smiles = |n| -> Vec<String> {
            best_verified(&results, n)
                .iter()
                .map(canonical_smiles)
                .collect()
        };
        assert_eq!(smiles(2), ["CCC", "CCF"]);
        assert_eq!(smiles(9), ["CCC", "CCF", "CCO"]);
        assert!(smiles(0).is_empty());
    }
}
