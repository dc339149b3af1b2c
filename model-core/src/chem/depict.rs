//! 2D structure drawings as SVG, by chematic's depiction (layout with ring
//! templates, CPK colours), from our validated molecule.

use super::Molecule;
use super::chematic_graph::to_chematic;

/// An SVG drawing of `molecule`.
pub fn depict_svg(molecule: &Molecule) -> String {
    chematic::depict::depict_svg(&to_chematic(molecule))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chem::parse_smiles;

    #[test]
    fn drawings_are_svg_with_heteroatom_labels() {
        let svg = depict_svg(&parse_smiles("OC1C2CC1C21C2CC1C2").unwrap());
        assert!(
            svg.starts_with("<svg") || svg.starts_with("<?xml"),
            "{svg:.80}"
        );
        // The hydroxyl is drawn with its hydrogen (OH).
        assert!(
            svg.contains(">OH<") || svg.contains(">O<"),
            "the oxygen is labelled"
        );
        assert!(svg.matches("<line").count() + svg.matches("<path").count() >= 12);
    }
}
