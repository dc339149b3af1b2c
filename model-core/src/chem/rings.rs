//! Ring perception: which bonds lie on rings, the ring systems they form, and
//! each system's generic framework.
//!
//! A framework is the ring system alone with every atom made carbon and every
//! bond single, written as canonical SMILES: `c1ccccc1` and `C1CCNCC1` share
//! `C1CCCCC1`. Rings sharing an atom (spiro) or a bond (fused, bridged) form
//! one system.

use super::molecule::find;
use super::structure::BondGraph;
use super::{Atom, Bond, BondOrder, Element, Molecule, canonical_smiles};

/// The size of the smallest ring through each bond (`None` off rings): the
/// shortest path between its atoms that avoids the bond itself, plus one.
pub fn smallest_ring_through_bonds(molecule: &Molecule) -> Vec<Option<usize>> {
    let graph = BondGraph::of(molecule);
    molecule
        .bonds()
        .iter()
        .map(|bond| graph.smallest_ring_through_bond(bond.a as usize, bond.b as usize))
        .collect()
}

/// `true` for each bond that lies on a ring.
pub fn ring_bonds(molecule: &Molecule) -> Vec<bool> {
    smallest_ring_through_bonds(molecule)
        .iter()
        .map(Option::is_some)
        .collect()
}

/// One ring system: its atoms and its ring bonds (indices into the molecule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingSystem {
    pub atoms: Vec<usize>,
    pub bonds: Vec<usize>,
}

/// The molecule's ring systems, ordered by their lowest atom.
pub fn ring_systems(molecule: &Molecule) -> Vec<RingSystem> {
    let on_ring = ring_bonds(molecule);
    let n = molecule.heavy_atom_count();
    let mut parent: Vec<usize> = (0..n).collect();
    for (bond, _) in molecule.bonds().iter().zip(&on_ring).filter(|(_, r)| **r) {
        let (a, b) = (
            find(&mut parent, bond.a as usize),
            find(&mut parent, bond.b as usize),
        );
        parent[a.max(b)] = a.min(b);
    }
    let mut systems: Vec<RingSystem> = Vec::new();
    let mut system_of_root = vec![None; n];
    for (i, bond) in molecule
        .bonds()
        .iter()
        .enumerate()
        .filter(|(i, _)| on_ring[*i])
    {
        let r = find(&mut parent, bond.a as usize);
        let index = *system_of_root[r].get_or_insert_with(|| {
            systems.push(RingSystem {
                atoms: Vec::new(),
                bonds: Vec::new(),
            });
            systems.len() - 1
        });
        let system = &mut systems[index];
        system.bonds.push(i);
        for atom in [bond.a as usize, bond.b as usize] {
            if !system.atoms.contains(&atom) {
                system.atoms.push(atom);
            }
        }
    }
    for system in &mut systems {
        system.atoms.sort_unstable();
    }
    systems.sort_by_key(|s| s.atoms[0]);
    systems
}

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
    fn chains_have_no_ring_bonds() {
        let m = parse_smiles("CC(C)OC=O").unwrap();
        assert!(ring_bonds(&m).iter().all(|r| !r));
        assert!(ring_systems(&m).is_empty());
    }

    #[test]
    fn substituents_and_linkers_are_not_ring_bonds() {
        // Two cyclopropyls joined by a CH2: two systems, the linker in neither.
        let m = parse_smiles("C1CC1CC1CC1").unwrap();
        let systems = ring_systems(&m);
        assert_eq!(systems.len(), 2);
        assert_eq!(ring_bonds(&m).iter().filter(|r| **r).count(), 6);
        assert_eq!(frameworks("C1CC1CC1CC1"), ["C1CC1", "C1CC1"]);
    }

    #[test]
    fn fused_bridged_and_spiro_rings_make_one_system() {
        for smiles in ["C1CCC2CCCCC2C1", "C1CC2CCC1C2", "C1CCC2(C1)CC2"] {
            let m = parse_smiles(smiles).unwrap();
            assert_eq!(ring_systems(&m).len(), 1, "{smiles}");
        }
    }

    #[test]
    fn frameworks_forget_elements_and_bond_orders() {
        assert_eq!(frameworks("c1ccccc1O"), ["C1CCCCC1"]);
        assert_eq!(frameworks("C1CCNCC1"), ["C1CCCCC1"]);
        assert_eq!(frameworks("O=C1C=CC(=O)N1C"), ["C1CCCC1"]);
        assert_ne!(frameworks("C1CC2CC1C2"), frameworks("C1CCC2CC2C1"));
    }
}
