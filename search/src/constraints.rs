//! What a searched molecule must be: its size, its elements, neutral, new,
//! built from ring systems QM9 already has, and free of what the structural
//! rules forbid (`model_core::chem::structure`; always on, since the decoder
//! and the graph edits never propose such a molecule anyway).
//!
//! The same rules act twice: as a graded penalty in the search's reward (so
//! the search is pulled back towards them) and as a hard filter on what goes
//! to the DFT oracle.

use anyhow::{Result, bail};
use model_core::chem::{Element, Molecule};
use training::qm9_index::Qm9Index;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Constraints {
    /// Exactly this many heavy atoms (None: any).
    pub heavy_atoms: Option<usize>,
    pub elements: Vec<Element>,
    pub neutral: bool,
    /// Only molecules not in QM9 count as candidates.
    pub novel: bool,
    /// Only ring systems whose framework some QM9 molecule has. New cage
    /// frameworks are mostly too strained for RDKit to embed in 3D, so DFT
    /// never sees them (`false` in search states written before this rule).
    #[serde(default)]
    pub known_ring_systems: bool,
}

/// Penalties in eV, against rewards that are gaps of a few eV.
const PER_ATOM_OFF: f64 = 1.0;
const PER_FORBIDDEN_ATOM: f64 = 2.0;
const PER_CHARGED_ATOM: f64 = 2.0;
const KNOWN: f64 = 0.5;
const PER_NEW_RING_SYSTEM: f64 = 2.0;
const PER_BROKEN_STRUCTURAL_RULE: f64 = 4.0;

/// Parses an element list like `CNOF` or `C,N,O`.
pub fn parse_elements(text: &str) -> Result<Vec<Element>> {
    let mut elements = Vec::new();
    let symbols = text
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .map(|c| c.to_string());
    for symbol in symbols {
        match Element::from_symbol(&symbol) {
            Some(e) if !elements.contains(&e) => elements.push(e),
            Some(_) => {}
            None => bail!("element {symbol:?} is not supported; choose from C, N, O and F"),
        }
    }
    if !elements.contains(&Element::C) {
        bail!("the allowed elements must include C");
    }
    // One order for one set, so a resumed search compares equal however it was spelled.
    elements.sort();
    Ok(elements)
}

impl Constraints {
    /// How far `molecule` is from the constraints, in eV (0 when it meets them).
    pub fn penalty(&self, molecule: &Molecule, known: &Qm9Index, canonical: &str) -> f64 {
        let mut penalty = self.penalty_novelty_aside(molecule, known);
        if self.novel && known.contains(canonical) {
            penalty += KNOWN;
        }
        penalty
    }

    /// [`Constraints::penalty`] for a molecule whether or not QM9 has it.
    pub fn penalty_novelty_aside(&self, molecule: &Molecule, known: &Qm9Index) -> f64 {
        let mut penalty = 0.0;
        if let Some(n) = self.heavy_atoms {
            penalty += PER_ATOM_OFF * molecule.heavy_atom_count().abs_diff(n) as f64;
        }
        for atom in molecule.atoms() {
            if !self.elements.contains(&atom.element) {
                penalty += PER_FORBIDDEN_ATOM;
            }
            if self.neutral && atom.charge != 0 {
                penalty += PER_CHARGED_ATOM;
            }
        }
        if self.known_ring_systems {
            penalty += PER_NEW_RING_SYSTEM * known.new_ring_frameworks(molecule) as f64;
        }
        penalty += PER_BROKEN_STRUCTURAL_RULE * molecule.structural_violations().len() as f64;
        penalty
    }

    pub fn describe(&self) -> String {
        let elements: String = self.elements.iter().map(|e| e.symbol()).collect();
        let size = self
            .heavy_atoms
            .map_or("any size".to_string(), |n| format!("{n} heavy atoms"));
        format!(
            "{size}, elements {elements}{}{}{}",
            if self.neutral { ", neutral" } else { "" },
            if self.novel { ", not in QM9" } else { "" },
            if self.known_ring_systems {
                ", ring systems QM9 has"
            } else {
                ""
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model_core::chem::{canonical_smiles, parse_smiles};

    fn constraints() -> Constraints {
        Constraints {
            heavy_atoms: Some(9),
            elements: parse_elements("CNO").unwrap(),
            neutral: true,
            novel: true,
            known_ring_systems: true,
        }
    }

    /// A QM9 stand-in holding these molecules and their ring frameworks.
    fn reference(smiles: &[&str]) -> Qm9Index {
        let molecules: Vec<Molecule> = smiles.iter().map(|s| parse_smiles(s).unwrap()).collect();
        Qm9Index::of_molecules(&molecules)
    }

    fn penalty(smiles: &str, known: &Qm9Index) -> f64 {
        let m = parse_smiles(smiles).unwrap();
        constraints().penalty(&m, known, &canonical_smiles(&m))
    }

    #[test]
    fn penalties_grow_with_each_broken_rule() {
        let none = Qm9Index::default();
        assert_eq!(penalty("CCCCCCCCO", &none), 0.0);
        assert_eq!(penalty("CCCCCCCO", &none), 1.0);
        assert_eq!(penalty("CCCCCCCCF", &none), 2.0);
        assert_eq!(penalty("CCCCCC[N+](=O)[O-]", &none), 4.0);
        let known = reference(&["CCCCCCCCO"]);
        assert_eq!(penalty("OCCCCCCCC", &known), 0.5);
        // A peroxide, and a cyclobutene (ring framework check off).
        assert_eq!(penalty("CCCCCCOOC", &none), PER_BROKEN_STRUCTURAL_RULE);
        let lenient = Constraints {
            known_ring_systems: false,
            ..constraints()
        };
        let cyclobutene = parse_smiles("CCCCCC1=CCC1").unwrap();
        assert_eq!(
            lenient.penalty(&cyclobutene, &none, "x"),
            PER_BROKEN_STRUCTURAL_RULE
        );
    }

    #[test]
    fn ring_systems_must_have_a_framework_qm9_has() {
        // QM9 stand-in: a cyclohexane and a bicyclo[1.1.1]pentane.
        let known = reference(&["C1CCCCC1", "C1C2CC1C2"]);
        // Same frameworks with other atoms, bonds and substituents: allowed.
        assert_eq!(penalty("CCC1=CC(O)CNC1", &known), 0.0);
        assert_eq!(penalty("CCCCC12CC(N1)C2", &known), 0.0);
        // A new cage, and a molecule with one new and one known system.
        assert_eq!(penalty("CC12CC3CC4C1C3C42", &known), 2.0);
        assert_eq!(penalty("C1CC1CC1C2CC1C2", &known), 2.0);
        let lenient = Constraints {
            known_ring_systems: false,
            ..constraints()
        };
        let cage = parse_smiles("CC12CC3CC4C1C3C42").unwrap();
        assert_eq!(lenient.penalty(&cage, &known, "x"), 0.0);
    }

    #[test]
    fn element_lists_parse_or_say_why_not() {
        assert_eq!(parse_elements("C,N,O,F").unwrap().len(), 4);
        assert_eq!(
            parse_elements("CNOF").unwrap(),
            parse_elements("FONC").unwrap()
        );
        let err = parse_elements("CNS").unwrap_err().to_string();
        assert!(err.contains("\"S\""), "{err}");
        assert!(parse_elements("NO").is_err());
    }
}
