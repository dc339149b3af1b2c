//! Generic ring-system frameworks: a ring system alone with every atom made
//! carbon and every bond single, named by its canonical SMILES, so that
//! `c1ccccc1` and `C1CCNCC1` share `C1CCCCC1`. Built on ring perception
//! (`rings.rs`) and the SMILES writer, which neither needs the other.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::rings::ring_systems;
use super::{Atom, Bond, BondOrder, Element, Molecule, canonical_smiles};

/// The generic framework of each ring system (see the module documentation).
pub fn ring_frameworks(molecule: &Molecule) -> Vec<String> {
    ring_systems(molecule)
        .iter()
        .map(|system| {
            let local = |atom: usize| {
                system
                    .atoms
                    .binary_search(&atom)
                    .expect("ring bonds join ring atoms")
            };
            let atoms = vec![Atom::neutral(Element::C); system.atoms.len()];
            let bonds = system
                .bonds
                .iter()
                .map(|&i| {
                    let bond = &molecule.bonds()[i];
                    Bond::new(
                        local(bond.a as usize),
                        local(bond.b as usize),
                        BondOrder::Single,
                    )
                })
                .collect();
            // At most four ring bonds per atom, and one connected system, so
            // the all-carbon skeleton is always a valid molecule.
            let skeleton = Molecule::new(atoms, bonds).expect("a ring skeleton is a valid alkane");
            canonical_smiles(&skeleton)
        })
        .collect()
}

/// A set of generic ring-system frameworks: those of QM9's molecules, say,
/// where a model trained on QM9 has seen every ring system it is asked
/// about. Stored as a sorted list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub struct RingFrameworks(HashSet<String>);

impl RingFrameworks {
    /// The frameworks of every ring system of `molecules`.
    pub fn of_molecules<'a>(molecules: impl IntoIterator<Item = &'a Molecule>) -> RingFrameworks {
        molecules.into_iter().flat_map(ring_frameworks).collect()
    }

    /// How many of the molecule's ring systems have a framework not in the set.
    pub fn new_in(&self, molecule: &Molecule) -> usize {
        ring_frameworks(molecule)
            .iter()
            .filter(|f| !self.0.contains(*f))
            .count()
    }

    /// Whether every ring system of the molecule has a framework in the set
    /// (an acyclic molecule: yes).
    pub fn hold(&self, molecule: &Molecule) -> bool {
        self.new_in(molecule) == 0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<String> for RingFrameworks {
    fn from_iter<I: IntoIterator<Item = String>>(frameworks: I) -> RingFrameworks {
        RingFrameworks(frameworks.into_iter().collect())
    }
}

impl From<Vec<String>> for RingFrameworks {
    fn from(frameworks: Vec<String>) -> RingFrameworks {
        frameworks.into_iter().collect()
    }
}

impl From<RingFrameworks> for Vec<String> {
    fn from(frameworks: RingFrameworks) -> Vec<String> {
        let mut sorted: Vec<String> = frameworks.0.into_iter().collect();
        sorted.sort_unstable();
        sorted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chem::parse_smiles;

    fn frameworks(smiles: &str) -> Vec<String> {
        ring_frameworks(&parse_smiles(smiles).unwrap())
    }

    #[test]
    fn separate_systems_have_a_framework_each() {
        assert_eq!(frameworks("C1CC1CC1CC1"), ["C1CC1", "C1CC1"]);
        assert!(frameworks("CC(C)OC=O").is_empty());
    }

    #[test]
    fn frameworks_forget_elements_and_bond_orders() {
        assert_eq!(frameworks("c1ccccc1O"), ["C1CCCCC1"]);
        assert_eq!(frameworks("C1CCNCC1"), ["C1CCCCC1"]);
        assert_eq!(frameworks("O=C1C=CC(=O)N1C"), ["C1CCCC1"]);
        assert_ne!(frameworks("C1CC2CC1C2"), frameworks("C1CCC2CC2C1"));
    }

    #[test]
    fn a_set_holds_molecules_whose_every_ring_system_it_has() {
        let known = ["c1ccccc1", "C1CC1CCO"].map(|s| parse_smiles(s).unwrap());
        let set = RingFrameworks::of_molecules(&known);
        assert_eq!(set.len(), 2);
        let held = |smiles: &str| set.hold(&parse_smiles(smiles).unwrap());
        assert!(held("C1CCNCC1") && held("OC1CC1") && held("CCO"));
        assert!(!held("C1CC2CC12"));
        assert_eq!(set.new_in(&parse_smiles("C1CCC1C1CC2CC12").unwrap()), 2);
        let stored = serde_json::to_string(&set).unwrap();
        assert_eq!(stored, r#"["C1CC1","C1CCCCC1"]"#);
        assert_eq!(
            serde_json::from_str::<RingFrameworks>(&stored).unwrap(),
            set
        );
    }
}
