//! Molecular graphs of heavy atoms with implicit hydrogens, their valence rules,
//! and SMILES reading and (canonical) writing.
//!
//! [`valence`] holds the one table of allowed atom states and [`structure`]
//! the one table of structural rules (no strained multiple bonds, no
//! anti-Bredt alkenes, no peroxides); every check in the project (data
//! validation, decoder masks, graph edits, the scorer's input validation) goes
//! through them.

pub mod aromaticity;
pub mod atom_order;
mod chematic_graph;
#[cfg(feature = "depict")]
pub mod depict;
pub mod edit;
pub mod element;
mod finished_rules;
pub mod frameworks;
pub mod molecule;
pub mod random_smiles;
pub mod rings;
pub mod sdf;
pub mod smiles;
pub mod structure;
#[cfg(test)]
pub(crate) mod test_graphs;
pub mod valence;

pub use element::Element;
pub use molecule::{Atom, Bond, BondOrder, Molecule, MoleculeError};
pub use random_smiles::write_random_smiles;
pub use sdf::{SdfError, sdf_record};
pub use smiles::{
    SmilesError, SmilesOptions, StereoPolicy, canonical_smiles, parse_smiles, parse_smiles_with,
};
pub use structure::{BondGraph, STRUCTURAL_RULES, StructuralRule, Violation};
pub use valence::{ATOM_STATES, AtomState, valence_of};
