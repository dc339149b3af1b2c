//! What a searched molecule must be: its size, its elements, neutral, new.
//!
//! The same rules act twice: as a graded penalty in the search's reward (so
//! the search is pulled back towards them) and as a hard filter on what goes
//! to the DFT oracle.

use std::collections::HashSet;

use anyhow::{Result, bail};
use model_core::chem::{Element, Molecule};

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Constraints {
    /// Exactly this many heavy atoms (None: any).
    pub heavy_atoms: Option<usize>,
    pub elements: Vec<Element>,
    pub neutral: bool,
    /// Only molecules not in QM9 count as candidates.
    pub novel: bool,
}

/// Penalties in eV, against rewards that are gaps of a few eV.
const PER_ATOM_OFF: f64 = 1.0;
const PER_FORBIDDEN_ATOM: f64 = 2.0;
const PER_CHARGED_ATOM: f64 = 2.0;
const KNOWN: f64 = 0.5;

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
    pub fn penalty(&self, molecule: &Molecule, known: &HashSet<String>, canonical: &str) -> f64 {
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
        if self.novel && known.contains(canonical) {
            penalty += KNOWN;
        }
        penalty
    }

    pub fn describe(&self) -> String {
        let elements: String = self.elements.iter().map(|e| e.symbol()).collect();
        let size = self
            .heavy_atoms
            .map_or("any size".to_string(), |n| format!("{n} heavy atoms"));
        format!(
            "{size}, elements {elements}{}{}",
            if self.neutral { ", neutral" } else { "" },
            if self.novel { ", not in QM9" } else { "" }
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
        }
    }

    fn penalty(smiles: &str, known: &HashSet<String>) -> f64 {
        let m = parse_smiles(smiles).unwrap();
        constraints().penalty(&m, known, &canonical_smiles(&m))
    }

    #[test]
    fn penalties_grow_with_each_broken_rule() {
        let none = HashSet::new();
        assert_eq!(penalty("CCCCCCCCO", &none), 0.0);
        assert_eq!(penalty("CCCCCCCO", &none), 1.0);
        assert_eq!(penalty("CCCCCCCCF", &none), 2.0);
        assert_eq!(penalty("CCCCCC[N+](=O)[O-]", &none), 4.0);
        let known = HashSet::from([canonical_smiles(&parse_smiles("CCCCCCCCO").unwrap())]);
        assert_eq!(penalty("OCCCCCCCC", &known), 0.5);
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
