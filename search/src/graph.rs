//! The third search strategy: evolution on the molecular graph itself.
//!
//! The VAE can only decode what QM9 taught it, and QM9 holds a single
//! 9-heavy-atom molecule with more than three fluorines, so latent and decoder
//! searches stay near QM9's chemistry. Here a population of molecules, seeded
//! with QM9's best under the constraints and with molecules the VAE samples,
//! is varied by local graph edits (`model_core::chem::edit`, checked by the
//! valence table) and selected on the surrogate's reward. The DFT oracle and
//! the active-learning refit around it are the same as for the other
//! strategies.

use std::collections::{HashMap, HashSet};

use model_core::chem::edit::mutate;
use model_core::chem::{Molecule, parse_smiles};
use model_core::rng::SeededRng;

use crate::assess::Assessed;

/// Edits tried per offspring: one or two in a row.
const MAX_EDITS: usize = 2;
/// Random edit proposals per edit before giving up on a parent.
const TRIES: usize = 30;
/// Tournament size for picking parents.
const TOURNAMENT: usize = 3;

/// Picks a parent: the best of `TOURNAMENT` random members.
fn tournament<'a>(population: &'a [Assessed], rng: &mut SeededRng) -> &'a Assessed {
    (0..TOURNAMENT)
        .map(|_| &population[rng.below(population.len())])
        .max_by(|a, b| a.reward().total_cmp(&b.reward()))
        .expect("a non-empty population")
}

/// `count` offspring of `population`, each one or two valid edits away from a
/// tournament-picked parent, using only `elements` for new atoms.
pub fn offspring(
    population: &[Assessed],
    elements: &[model_core::chem::Element],
    count: usize,
    rng: &mut SeededRng,
) -> Vec<Molecule> {
    (0..count)
        .filter_map(|_| {
            let parent = tournament(population, rng);
            let edits = 1 + rng.below(MAX_EDITS);
            mutate(&parent.molecule, elements, edits, TRIES, rng)
        })
        .collect()
}

/// The `keep` best distinct members of `members`, best reward first (ties by
/// SMILES, so the order does not depend on the input's).
pub fn select(members: Vec<Assessed>, keep: usize) -> Vec<Assessed> {
    let mut distinct: HashMap<String, Assessed> = HashMap::new();
    for m in members {
        distinct.entry(m.smiles.clone()).or_insert(m);
    }
    let mut all: Vec<Assessed> = distinct.into_values().collect();
    all.sort_by(|a, b| {
        b.reward()
            .total_cmp(&a.reward())
            .then_with(|| a.smiles.cmp(&b.smiles))
    });
    all.truncate(keep);
    all
}

/// Parses a saved population (canonical SMILES), skipping duplicates.
pub fn parse_population(smiles: &[String]) -> Vec<Molecule> {
    let mut seen = HashSet::new();
    smiles
        .iter()
        .filter(|s| seen.insert(s.as_str()))
        .filter_map(|s| parse_smiles(s).ok())
        .collect()
}

/// The canonical SMILES of `members` (as assessed), for the saved state.
pub fn population_smiles(members: &[Assessed]) -> Vec<String> {
    members.iter().map(|m| m.smiles.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use model_core::chem::{Element, canonical_smiles};

    fn member(smiles: &str, gap_ev: f64, penalty: f64) -> Assessed {
        let molecule = parse_smiles(smiles).unwrap();
        Assessed {
            smiles: canonical_smiles(&molecule),
            molecule,
            gap_ev,
            penalty,
        }
    }

    #[test]
    fn selection_keeps_the_best_distinct_members() {
        let kept = select(
            vec![
                member("CCO", 8.0, 0.0),
                member("OCC", 8.0, 0.0),
                member("CCC", 9.0, 2.0),
                member("CCN", 7.5, 0.0),
            ],
            2,
        );
        let smiles: Vec<&str> = kept.iter().map(|m| m.smiles.as_str()).collect();
        assert_eq!(smiles, ["CCO", "CCN"]);
    }

    #[test]
    fn offspring_are_valid_seeded_and_differ_from_their_parents() {
        let population = vec![
            member("FC(F)(F)CC(F)(F)F", 12.5, 0.0),
            member("CCCCCCCCC", 10.4, 0.0),
        ];
        let elements = [Element::C, Element::O, Element::F];
        let a = offspring(&population, &elements, 100, &mut SeededRng::new(5));
        let b = offspring(&population, &elements, 100, &mut SeededRng::new(5));
        assert_eq!(a, b);
        assert!(a.len() >= 90, "{} offspring", a.len());
        let parents: HashSet<String> = population.iter().map(|m| m.smiles.clone()).collect();
        let changed = a
            .iter()
            .filter(|m| !parents.contains(&canonical_smiles(m)))
            .count();
        assert!(
            changed >= 80,
            "only {changed} offspring differ from their parents"
        );
        assert!(
            a.iter()
                .all(|m| m.atoms().iter().all(|x| x.element != Element::N))
        );
    }
}
