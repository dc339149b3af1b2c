//! Ring perception: which bonds lie on rings and the ring systems they form.
//! Rings sharing an atom (spiro) or a bond (fused, bridged) form one system.
//! (A system's generic framework, named by its SMILES, is `frameworks.rs`.)

use super::Molecule;
use super::molecule::find;
use super::structure::BondGraph;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chem::parse_smiles;

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
    }

    #[test]
    fn fused_bridged_and_spiro_rings_make_one_system() {
        for smiles in ["C1CCC2CCCCC2C1", "C1CC2CCC1C2", "C1CCC2(C1)CC2"] {
            let m = parse_smiles(smiles).unwrap();
            assert_eq!(ring_systems(&m).len(), 1, "{smiles}");
        }
    }
}
