//! One QM9 molecule: its graph, orbital energies and B3LYP geometry, parsed
//! from a row of the `qm9pack` CSVs and cross-checked against itself.

use serde::{Deserialize, Serialize};

use crate::chem::{Molecule, SmilesError, StructuralRule, canonical_smiles, parse_smiles};

/// CODATA 2018 hartree energy in electronvolts.
pub const HARTREE_TO_EV: f64 = 27.211_386_245_988;

/// The fields of a CSV row that the pipeline reads, as text.
#[derive(Clone, Copy, Debug)]
pub struct Qm9Row<'a> {
    pub index: &'a str,
    pub smiles: &'a str,
    pub n_atoms: &'a str,
    /// Counts of H, C, N, O, F as `"[4,1,0,0,0]"`.
    pub stoichiometry: &'a str,
    /// Element symbols in geometry order, as `"['C','H',...]"`.
    pub elements: &'a str,
    /// `"[[x,y,z],...]"` in ångström.
    pub xyz: &'a str,
    pub homo: &'a str,
    pub lumo: &'a str,
    pub gap: &'a str,
}

/// Atom positions of the B3LYP/6-31G(2df,p) geometry, hydrogens included.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Geometry {
    pub atomic_numbers: Vec<u8>,
    /// Ångström.
    pub positions: Vec<[f32; 3]>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Qm9Record {
    /// QM9's own molecule number (1..=133885; 3,054 numbers are absent).
    pub index: u32,
    /// The SMILES as QM9 gives it (kekulé).
    pub source_smiles: String,
    /// Canonical SMILES of [`Qm9Record::molecule`].
    pub canonical: String,
    pub molecule: Molecule,
    /// Orbital energies in hartree.
    pub homo_ha: f32,
    pub lumo_ha: f32,
    pub gap_ha: f32,
    pub geometry: Geometry,
}

impl Qm9Record {
    pub fn gap_ev(&self) -> f64 {
        self.gap_ha as f64 * HARTREE_TO_EV
    }
    pub fn homo_ev(&self) -> f64 {
        self.homo_ha as f64 * HARTREE_TO_EV
    }
    pub fn lumo_ev(&self) -> f64 {
        self.lumo_ha as f64 * HARTREE_TO_EV
    }
}

/// Why a row was not turned into a record.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RowError {
    #[error("field {field} is not a valid {expected}: {value:?}")]
    BadField {
        field: &'static str,
        expected: &'static str,
        value: String,
    },
    #[error("SMILES {smiles:?} does not parse: {error}")]
    Smiles { smiles: String, error: SmilesError },
    #[error("{what}: SMILES says {from_smiles}, the row says {from_row}")]
    Inconsistent {
        what: &'static str,
        from_smiles: usize,
        from_row: usize,
    },
    #[error("geometry has {positions} positions for {atoms} atoms")]
    GeometryShape { positions: usize, atoms: usize },
    #[error("gap {gap} is not LUMO {lumo} minus HOMO {homo}")]
    GapMismatch { homo: f32, lumo: f32, gap: f32 },
    #[error("SMILES {smiles:?} breaks a structural rule: {violation}")]
    Unrealistic {
        smiles: String,
        rule: StructuralRule,
        violation: String,
    },
}

impl RowError {
    /// A short category, for counting rejections by reason.
    pub fn kind(&self) -> &'static str {
        match self {
            RowError::BadField { .. } => "malformed field",
            RowError::Smiles { .. } => "SMILES rejected",
            RowError::Inconsistent { what, .. } => what,
            RowError::GeometryShape { .. } => "geometry shape",
            RowError::GapMismatch { .. } => "gap mismatch",
            RowError::Unrealistic { rule, .. } => rule.id(),
        }
    }
}

impl<'a> Qm9Row<'a> {
    pub fn to_record(&self) -> Result<Qm9Record, RowError> {
        let index: u32 = number(self.index, "Index")?;
        let n_atoms: usize = number(self.n_atoms, "N_atoms")?;
        let homo_ha: f32 = number(self.homo, "HOMO_au")?;
        let lumo_ha: f32 = number(self.lumo, "LUMO_au")?;
        let gap_ha: f32 = number(self.gap, "HOMO_LUMO_gap_au")?;
        let molecule = parse_smiles(self.smiles).map_err(|error| RowError::Smiles {
            smiles: self.smiles.to_string(),
            error,
        })?;
        if let Some(v) = molecule.structural_violations().into_iter().next() {
            return Err(RowError::Unrealistic {
                smiles: self.smiles.to_string(),
                rule: v.rule,
                violation: v.to_string(),
            });
        }
        let stoichiometry = number_list(self.stoichiometry, "Stoichiometry")?;
        let [h, c, n, o, f]: [usize; 5] =
            stoichiometry.try_into().map_err(|_| RowError::BadField {
                field: "Stoichiometry",
                expected: "list of five counts",
                value: self.stoichiometry.to_string(),
            })?;
        let symbols = symbol_list(self.elements);
        let atomic_numbers = symbols
            .iter()
            .map(|s| match *s {
                "H" => Ok(1),
                s => crate::chem::Element::from_symbol(s)
                    .map(|e| e.atomic_number())
                    .ok_or(()),
            })
            .collect::<Result<Vec<u8>, ()>>()
            .map_err(|_| RowError::BadField {
                field: "Elements",
                expected: "list of H, C, N, O, F symbols",
                value: self.elements.to_string(),
            })?;
        let positions = positions(self.xyz)?;

        let heavy_in_geometry = atomic_numbers.iter().filter(|&&z| z > 1).count();
        check(
            "heavy atoms (geometry)",
            molecule.heavy_atom_count(),
            heavy_in_geometry,
        )?;
        check(
            "heavy atoms (formula)",
            molecule.heavy_atom_count(),
            c + n + o + f,
        )?;
        check("hydrogens", molecule.total_hydrogens(), h)?;
        check("atoms", symbols.len(), n_atoms)?;
        if positions.len() != n_atoms {
            return Err(RowError::GeometryShape {
                positions: positions.len(),
                atoms: n_atoms,
            });
        }
        // QM9 rounds each value to 4 decimals.
        if (lumo_ha - homo_ha - gap_ha).abs() > 2e-4 {
            return Err(RowError::GapMismatch {
                homo: homo_ha,
                lumo: lumo_ha,
                gap: gap_ha,
            });
        }
        Ok(Qm9Record {
            index,
            source_smiles: self.smiles.to_string(),
            canonical: canonical_smiles(&molecule),
            molecule,
            homo_ha,
            lumo_ha,
            gap_ha,
            geometry: Geometry {
                atomic_numbers,
                positions,
            },
        })
    }
}

fn check(what: &'static str, from_smiles: usize, from_row: usize) -> Result<(), RowError> {
    if from_smiles == from_row {
        Ok(())
    } else {
        Err(RowError::Inconsistent {
            what,
            from_smiles,
            from_row,
        })
    }
}

fn number<T: std::str::FromStr>(text: &str, field: &'static str) -> Result<T, RowError> {
    text.trim().parse().map_err(|_| RowError::BadField {
        field,
        expected: "number",
        value: text.to_string(),
    })
}

fn number_list(text: &str, field: &'static str) -> Result<Vec<usize>, RowError> {
    text.trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|t| number(t, field))
        .collect()
}

fn symbol_list(text: &str) -> Vec<&str> {
    text.trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|t| t.trim().trim_matches(|c| c == '\'' || c == '"'))
        .filter(|t| !t.is_empty())
        .collect()
}

fn positions(text: &str) -> Result<Vec<[f32; 3]>, RowError> {
    let bad = || RowError::BadField {
        field: "XYZ_Ang",
        expected: "list of [x,y,z] triples",
        value: text.chars().take(80).collect(),
    };
    let inner = text
        .trim()
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(bad)?;
    inner
        .split(']')
        .map(|t| t.trim_start_matches([',', '[', ' ']))
        .filter(|t| !t.is_empty())
        .map(|triple| {
            let v: Vec<f32> = triple
                .split(',')
                .map(|x| x.trim().parse::<f32>())
                .collect::<Result<_, _>>()
                .map_err(|_| bad())?;
            <[f32; 3]>::try_from(v).map_err(|_| bad())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn methane_row() -> Qm9Row<'static> {
        Qm9Row {
            index: "1",
            smiles: "C",
            n_atoms: "5",
            stoichiometry: "[4,1,0,0,0]",
            elements: "['C','H','H','H','H']",
            xyz: "[[-0.0126981359,1.0858041578,0.0080009958],[0.002150416,-0.0060313176,0.0019761204],[1.0117308433,1.4637511618,0.0002765748],[-0.540815069,1.4475266138,-0.8766437152],[-0.5238136345,1.4379326443,0.9063972942]]",
            homo: "-0.3877",
            lumo: "0.1171",
            gap: "0.5048",
        }
    }

    #[test]
    fn methane_row_parses() {
        let r = methane_row().to_record().unwrap();
        assert_eq!(r.index, 1);
        assert_eq!(r.canonical, "C");
        assert_eq!(r.geometry.atomic_numbers, vec![6, 1, 1, 1, 1]);
        assert_eq!(r.geometry.positions.len(), 5);
        assert!((r.geometry.positions[0][1] - 1.085_804_2).abs() < 1e-6);
        assert!((r.gap_ev() - 13.7363).abs() < 1e-3);
    }

    #[test]
    fn inconsistent_rows_are_rejected() {
        let mut row = methane_row();
        row.stoichiometry = "[3,1,0,0,0]";
        assert_eq!(row.to_record().unwrap_err().kind(), "hydrogens");
        let mut row = methane_row();
        row.gap = "0.6";
        assert!(matches!(row.to_record(), Err(RowError::GapMismatch { .. })));
        let mut row = methane_row();
        row.xyz = "[[1,2],[3,4,5]]";
        assert!(matches!(
            row.to_record(),
            Err(RowError::BadField {
                field: "XYZ_Ang",
                ..
            })
        ));
        let mut row = methane_row();
        row.smiles = "C(";
        assert!(matches!(row.to_record(), Err(RowError::Smiles { .. })));
    }
}
