//! Property tests: arbitrary input never panics the reader, and random valid
//! molecules keep one canonical string however they are spelled.

use model_core::chem::{
    ATOM_STATES, Atom, Bond, BondOrder, Molecule, canonical_smiles, parse_smiles,
    write_random_smiles,
};
use model_core::rng::SeededRng;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// A random connected molecule under the valence table, or `None` when the
/// draw paints itself into a corner.
fn random_molecule(seed: u64) -> Option<Molecule> {
    let mut rng = SeededRng::new(seed);
    let n = 1 + rng.below(12);
    let atoms: Vec<Atom> = (0..n)
        .map(|_| {
            // Mostly neutral atoms, as in real molecules; charged states still often.
            let s = if rng.below(4) == 0 {
                ATOM_STATES[rng.below(ATOM_STATES.len())]
            } else {
                *ATOM_STATES
                    .iter()
                    .filter(|s| s.charge == 0)
                    .nth(rng.below(4))
                    .unwrap()
            };
            Atom {
                element: s.element,
                charge: s.charge,
            }
        })
        .collect();
    let valence: Vec<u8> = atoms
        .iter()
        .map(|a| model_core::chem::valence_of(a.element, a.charge).unwrap())
        .collect();
    let mut used = vec![0u8; n];
    let mut bonds = Vec::new();
    let mut add = |a: usize, b: usize, bonds: &mut Vec<Bond>, rng: &mut SeededRng| -> bool {
        let room = (valence[a] - used[a]).min(valence[b] - used[b]).min(3);
        if room == 0 || bonds.iter().any(|x: &Bond| x.other(a) == Some(b)) {
            return false;
        }
        // Mostly single bonds, so valence is left over for ring closures.
        let order = match rng.below(3) {
            0 => BondOrder::from_order(1 + rng.below(room as usize) as u8).unwrap(),
            _ => BondOrder::Single,
        };
        used[a] += order.order();
        used[b] += order.order();
        bonds.push(Bond::new(a, b, order));
        true
    };
    for i in 1..n {
        let start = rng.below(i);
        if !(0..i).any(|k| add(i, (start + k) % i, &mut bonds, &mut rng)) {
            return None;
        }
    }
    for _ in 0..2 + rng.below(8) {
        let (a, b) = (rng.below(n), rng.below(n));
        if a != b {
            add(a, b, &mut bonds, &mut rng);
        }
    }
    Molecule::new(atoms, bonds).ok()
}

/// 2,000 cases from a fixed seed, so CI runs the same cases every time.
/// `PROPTEST_CASES` and `PROPTEST_RNG_SEED` widen a search by hand.
fn config() -> ProptestConfig {
    let from_env = ProptestConfig::default();
    ProptestConfig {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            from_env.cases
        } else {
            2000
        },
        rng_seed: if std::env::var_os("PROPTEST_RNG_SEED").is_some() {
            from_env.rng_seed
        } else {
            RngSeed::Fixed(0x6d6f_6c67_6170)
        },
        failure_persistence: None,
        ..from_env
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_smiles(&text);
    }

    #[test]
    fn smiles_alphabet_soup_never_panics(text in "[CNOFcnoHh()\\[\\]=#+\\-1-3%@/\\\\.]{0,40}") {
        if let Ok(m) = parse_smiles(&text) {
            let c = canonical_smiles(&m);
            let again = parse_smiles(&c).expect("canonical output parses");
            prop_assert_eq!(canonical_smiles(&again), c);
        }
    }

    #[test]
    fn canonical_form_is_independent_of_spelling(seed in any::<u64>()) {
        let Some(m) = random_molecule(seed) else { return Ok(()) };
        let canonical = canonical_smiles(&m);
        let mut rng = SeededRng::new(seed ^ 0x5eed);
        for _ in 0..4 {
            let spelled = write_random_smiles(&m, &mut rng);
            let back = parse_smiles(&spelled)
                .map_err(|e| TestCaseError::fail(format!("{spelled} ({canonical}): {e}")))?;
            prop_assert_eq!(back.formula(), m.formula());
            prop_assert_eq!(canonical_smiles(&back), canonical.clone(), "spelled {}", spelled);
        }
        let reparsed = parse_smiles(&canonical)
            .map_err(|e| TestCaseError::fail(format!("canonical {canonical}: {e}")))?;
        prop_assert_eq!(canonical_smiles(&reparsed), canonical);
    }
}

/// The generator must produce real molecules often enough for the property
/// above to mean something, with rings and charges among them.
#[test]
fn generator_covers_rings_and_charges() {
    let made: Vec<Molecule> = (0..1000).filter_map(random_molecule).collect();
    let rings = made.iter().filter(|m| m.ring_count() > 0).count();
    let charged = made
        .iter()
        .filter(|m| m.atoms().iter().any(|a| a.charge != 0))
        .count();
    let multiple = made
        .iter()
        .filter(|m| m.bonds().iter().any(|b| b.order != BondOrder::Single))
        .count();
    println!(
        "made {} of 1000: {rings} with rings, {charged} charged, {multiple} with multiple bonds",
        made.len()
    );
    assert!(made.len() > 500 && rings > 100 && charged > 100 && multiple > 100);
}
