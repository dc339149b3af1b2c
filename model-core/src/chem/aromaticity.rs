//! Which atoms RDKit perceives as aromatic.
//!
//! Molecules here are Kekulé graphs; aromaticity is perception, not part of
//! the graph. It is chematic's port of RDKit's sanitisation (the model the
//! canonical writer already uses), so an atom is aromatic here exactly where
//! it is lower-case in the canonical SMILES. The structural rules need it for
//! the groups whose Kekulé form looks the same in an aromatic ring and in a
//! non-aromatic one (a hydroxypyridine and a ring enol).

use chematic::smiles as cs;

use super::Molecule;
use super::atom_order::{canonical_ranks, renumbered};
use super::chematic_graph::to_chematic;

/// Per atom, whether it is aromatic. Atoms come out non-aromatic where the
/// port cannot model the molecule (non-planar ring systems such as a complete
/// graph of five carbons, which are not aromatic anyway).
pub fn aromatic_atoms(molecule: &Molecule) -> Vec<bool> {
    // Perceived in canonical order, as the canonical writer perceives it:
    // ring perception follows atom order (see `atom_order`).
    let rank = canonical_ranks(molecule);
    let canonical = renumbered(molecule, &rank);
    let Ok(model) = cs::rdkit_sanitized_model(&to_chematic(&canonical)) else {
        return vec![false; molecule.heavy_atom_count()];
    };
    rank.iter()
        .map(|&r| model.atoms[r].is_some_and(|(aromatic, _, _)| aromatic))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chem::parse_smiles;

    fn aromatic(smiles: &str) -> Vec<bool> {
        aromatic_atoms(&parse_smiles(smiles).unwrap())
    }

    #[test]
    fn aromatic_rings_are_perceived_in_any_kekule_form() {
        assert_eq!(
            aromatic("Oc1ccccn1"),
            [false, true, true, true, true, true, true]
        );
        assert_eq!(
            aromatic("OC1=NC=CC=C1"),
            [false, true, true, true, true, true, true]
        );
        assert_eq!(aromatic("c1cc[nH]n1"), [true; 5]);
    }

    #[test]
    fn non_aromatic_rings_are_not() {
        // A ring enol, a pyrazoline and cyclohexa-1,3-diene.
        assert_eq!(aromatic("OC1=CCCC1"), [false; 6]);
        assert_eq!(aromatic("C1CC=NN1"), [false; 5]);
        assert_eq!(aromatic("C1=CC=CCC1"), [false; 6]);
    }
}
