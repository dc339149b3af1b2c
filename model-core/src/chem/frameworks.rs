//! Generic ring-system frameworks: a ring system alone with every atom made
//! carbon and every bond single, named by its canonical SMILES, so that
//! `c1ccccc1` and `C1CCNCC1` share `C1CCCCC1`. Built on ring perception
//! (`rings.rs`) and the SMILES writer, which neither needs the other.

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
}
