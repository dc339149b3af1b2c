//! SMILES in and canonical SMILES out.
//!
//! Tokenising, ring closures, branches and kekulization of aromatic input are
//! chematic's (pinned in the workspace); this module turns its graph into a
//! [`Molecule`] under our valence table, and turns every way that can fail into
//! a [`SmilesError`] that says what is wrong and where.
//!
//! Canonical SMILES are chematic's port of RDKit's writer: for every QM9
//! molecule they are byte-identical to `Chem.MolToSmiles(Chem.MolFromSmiles(s))`,
//! aromatic where RDKit perceives aromaticity, so two kekulé forms of one ring
//! system give one string.

use chematic::core as cm;
use chematic::smiles as cs;

use super::atom_order::in_canonical_order;
use super::chematic_graph::to_chematic;
use super::molecule::ChargeLabel;
use super::{Atom, Bond, BondOrder, Element, Molecule, MoleculeError, valence};

/// What to do with stereo marks (`@`, `@@`, `/`, `\`). Molecules here are 2D
/// graphs, so stereo cannot be kept; the caller decides whether dropping it
/// silently is acceptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StereoPolicy {
    #[default]
    Reject,
    Ignore,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SmilesOptions {
    /// Longest input accepted, in bytes.
    pub max_len: usize,
    /// Most heavy atoms accepted.
    pub max_heavy_atoms: usize,
    pub stereo: StereoPolicy,
}

impl Default for SmilesOptions {
    fn default() -> Self {
        SmilesOptions {
            max_len: 1000,
            max_heavy_atoms: 100,
            stereo: StereoPolicy::Reject,
        }
    }
}

/// Why a SMILES string was not accepted. Positions are zero-based byte offsets
/// into the (trimmed) input; atoms are counted from 1 in input order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SmilesError {
    #[error("the SMILES is empty")]
    Empty,
    #[error("the SMILES is {len} characters long; the limit is {max}")]
    TooLong { len: usize, max: usize },
    #[error(
        "character {ch:?} at position {pos} is not ASCII; SMILES uses only ASCII letters, digits and symbols"
    )]
    NonAscii { ch: char, pos: usize },
    #[error("whitespace at position {pos}; give one SMILES without spaces")]
    Whitespace { pos: usize },
    #[error("invalid SMILES: {detail}")]
    Syntax { detail: String },
    #[error(
        "element {symbol} (atom {atom}, position {pos}) is not supported; only C, N, O, F and H are"
    )]
    UnsupportedElement {
        symbol: String,
        atom: usize,
        pos: usize,
    },
    #[error("isotope label on atom {atom} (position {pos}) is not supported")]
    Isotope { atom: usize, pos: usize },
    #[error("wildcard atom '*' at position {pos} is not a real atom")]
    Wildcard { pos: usize },
    #[error(
        "stereochemistry mark at {where_} is not supported: molecules here are 2D graphs; remove '@', '/' and '\\'"
    )]
    Stereo { where_: String },
    #[error(
        "the SMILES has {fragments} disconnected fragments (joined by '.'); give one connected molecule"
    )]
    Fragments { fragments: usize },
    #[error(
        "atom {atom} ({symbol}, position {pos}) is a radical: its bonds (order {bonds}) and {hydrogens} H give valence {}, but {symbol} needs {valence}; radicals are not supported", bonds + hydrogens
    )]
    Radical {
        atom: usize,
        symbol: String,
        pos: usize,
        bonds: u8,
        hydrogens: u8,
        valence: u8,
    },
    #[error(
        "atom {atom} ({symbol}, position {pos}) has valence {} (bonds of order {bonds} and {hydrogens} H), more than {symbol} allows ({valence})", bonds + hydrogens
    )]
    Overvalent {
        atom: usize,
        symbol: String,
        pos: usize,
        bonds: u8,
        hydrogens: u8,
        valence: u8,
    },
    #[error(
        "atom {atom} ({element}, position {pos}) has charge {charge:+}, which is not supported; {element} may have charge {allowed}"
    )]
    UnsupportedCharge {
        atom: usize,
        element: Element,
        charge: i8,
        pos: usize,
        allowed: String,
    },
    #[error("hydrogen atom {atom} (position {pos}) {problem}")]
    Hydrogen {
        atom: usize,
        pos: usize,
        problem: &'static str,
    },
    #[error(
        "bond between atoms {a} and {b} has an unsupported type ({kind}); use single, double, triple or aromatic bonds"
    )]
    UnsupportedBond { a: usize, b: usize, kind: String },
    #[error(
        "the aromatic system cannot be kekulized ({detail}); check aromatic atoms and [nH] hydrogens"
    )]
    Kekulize { detail: String },
    #[error("the molecule has {atoms} heavy atoms; the limit is {max}")]
    TooManyAtoms { atoms: usize, max: usize },
    #[error("the SMILES has no heavy atoms")]
    NoHeavyAtoms,
}

/// Parses one molecule with the default options (stereo marks rejected).
pub fn parse_smiles(smiles: &str) -> Result<Molecule, SmilesError> {
    parse_smiles_with(smiles, &SmilesOptions::default())
}

pub fn parse_smiles_with(smiles: &str, options: &SmilesOptions) -> Result<Molecule, SmilesError> {
    let text = smiles.trim();
    check_text(text, options)?;
    let positions = atom_positions(text);
    let pos_of = |atom: usize| positions.get(atom).copied().unwrap_or(0);
    let parsed = cs::parse(text).map_err(|e| syntax_error(e, &pos_of))?;
    let parsed = kekulized(parsed)?;
    GraphConversion::new(&parsed, &pos_of, options)?.finish(&parsed, &pos_of, options)
}

/// The canonical SMILES of a molecule (RDKit-compatible, aromatic form).
///
/// Non-planar ring systems (a complete graph of five carbons, say) are the
/// exception: RDKit itself only approximates their rings, chematic's port
/// declines them, and chematic's own canonical writer (Kekulé form) stands in.
pub fn canonical_smiles(molecule: &Molecule) -> String {
    // The writer's ring perception follows atom order; give it one order.
    let chematic_molecule = to_chematic(&in_canonical_order(molecule));
    cs::rdkit_canonical_smiles(&chematic_molecule)
        .unwrap_or_else(|_| cs::canonical_smiles(&chematic_molecule))
}

fn check_text(text: &str, options: &SmilesOptions) -> Result<(), SmilesError> {
    if text.is_empty() {
        return Err(SmilesError::Empty);
    }
    if let Some((pos, ch)) = text.char_indices().find(|(_, c)| !c.is_ascii()) {
        return Err(SmilesError::NonAscii { ch, pos });
    }
    if text.len() > options.max_len {
        return Err(SmilesError::TooLong {
            len: text.len(),
            max: options.max_len,
        });
    }
    if let Some(pos) = text.find(|c: char| c.is_ascii_whitespace()) {
        return Err(SmilesError::Whitespace { pos });
    }
    Ok(())
}

fn syntax_error(e: cs::SmilesError, pos_of: &dyn Fn(usize) -> usize) -> SmilesError {
    match e {
        cs::SmilesError::InvalidValence {
            element,
            atom,
            valence,
            max,
        } => SmilesError::Overvalent {
            atom: atom + 1,
            symbol: element.to_string(),
            pos: pos_of(atom),
            bonds: valence as u8,
            hydrogens: 0,
            valence: max as u8,
        },
        e => SmilesError::Syntax {
            detail: e.to_string(),
        },
    }
}

fn kekulized(parsed: cm::Molecule) -> Result<cm::Molecule, SmilesError> {
    if !parsed.atoms().any(|(_, a)| a.aromatic) {
        return Ok(parsed);
    }
    let kekule = cm::kekulization::kekulize(&parsed)
        .map_err(|e| SmilesError::Kekulize { detail: e.detail })?;
    Ok(cm::kekulization::apply_kekule(&parsed, &kekule))
}

/// Maps chematic's atoms (heavy atoms and explicit `[H]`) onto our atoms.
struct GraphConversion {
    /// Our index for each chematic atom; `None` for hydrogens folded away.
    heavy_index: Vec<Option<usize>>,
    atoms: Vec<Atom>,
    /// Explicit H count written in brackets, per heavy atom (`None`: implicit).
    bracket_h: Vec<Option<u8>>,
    /// Explicit `[H]` neighbours folded into each heavy atom.
    folded_h: Vec<u8>,
}

impl GraphConversion {
    fn new(
        parsed: &cm::Molecule,
        pos_of: &dyn Fn(usize) -> usize,
        options: &SmilesOptions,
    ) -> Result<Self, SmilesError> {
        let mut conversion = GraphConversion {
            heavy_index: Vec::with_capacity(parsed.atom_count()),
            atoms: Vec::with_capacity(parsed.atom_count()),
            bracket_h: Vec::new(),
            folded_h: Vec::new(),
        };
        for (idx, atom) in parsed.atoms() {
            let i = idx.0 as usize;
            let pos = pos_of(i);
            if atom.wildcard {
                return Err(SmilesError::Wildcard { pos });
            }
            if atom.isotope.is_some() {
                return Err(SmilesError::Isotope { atom: i + 1, pos });
            }
            if atom.chirality != cm::Chirality::None && options.stereo == StereoPolicy::Reject {
                return Err(SmilesError::Stereo {
                    where_: format!("atom {} (position {pos})", i + 1),
                });
            }
            let symbol = atom.element.symbol();
            if symbol == "H" {
                conversion.heavy_index.push(None);
                continue;
            }
            let Some(element) = Element::from_symbol(symbol) else {
                return Err(SmilesError::UnsupportedElement {
                    symbol: symbol.to_string(),
                    atom: i + 1,
                    pos,
                });
            };
            if valence::valence_of(element, atom.charge).is_none() {
                return Err(SmilesError::UnsupportedCharge {
                    atom: i + 1,
                    element,
                    charge: atom.charge,
                    pos,
                    allowed: valence::describe_allowed_charges(element),
                });
            }
            conversion.heavy_index.push(Some(conversion.atoms.len()));
            conversion.atoms.push(Atom {
                element,
                charge: atom.charge,
            });
            conversion.bracket_h.push(atom.hydrogen_count);
            conversion.folded_h.push(0);
        }
        Ok(conversion)
    }

    fn finish(
        mut self,
        parsed: &cm::Molecule,
        pos_of: &dyn Fn(usize) -> usize,
        options: &SmilesOptions,
    ) -> Result<Molecule, SmilesError> {
        if self.atoms.is_empty() {
            return Err(SmilesError::NoHeavyAtoms);
        }
        if self.atoms.len() > options.max_heavy_atoms {
            return Err(SmilesError::TooManyAtoms {
                atoms: self.atoms.len(),
                max: options.max_heavy_atoms,
            });
        }
        let mut bonds = Vec::with_capacity(parsed.bond_count());
        let mut hydrogen_partners = vec![0u8; parsed.atom_count()];
        for (_, bond) in parsed.bonds() {
            let (a, b) = (bond.atom1.0 as usize, bond.atom2.0 as usize);
            let order = bond_order(bond.order, a, b, options)?;
            match (self.heavy_index[a], self.heavy_index[b]) {
                (Some(x), Some(y)) => bonds.push(Bond::new(x, y, order)),
                (Some(heavy), None) | (None, Some(heavy)) => {
                    let h = if self.heavy_index[a].is_none() { a } else { b };
                    if order != BondOrder::Single {
                        return Err(SmilesError::Hydrogen {
                            atom: h + 1,
                            pos: pos_of(h),
                            problem: "has a multiple bond",
                        });
                    }
                    hydrogen_partners[h] += 1;
                    self.folded_h[heavy] += 1;
                }
                (None, None) => {
                    return Err(SmilesError::Hydrogen {
                        atom: a + 1,
                        pos: pos_of(a),
                        problem: "is bonded to another hydrogen",
                    });
                }
            }
        }
        for (i, (idx, atom)) in parsed.atoms().enumerate() {
            if self.heavy_index[i].is_some() {
                continue;
            }
            let pos = pos_of(idx.0 as usize);
            let problem = match (hydrogen_partners[i], atom.charge, atom.hydrogen_count) {
                (_, c, _) if c != 0 => Some("is charged"),
                (_, _, Some(h)) if h > 0 => Some("carries hydrogens of its own"),
                (1, _, _) => None,
                (0, _, _) => Some("is not bonded to a heavy atom"),
                _ => Some("is bonded to more than one atom"),
            };
            if let Some(problem) = problem {
                return Err(SmilesError::Hydrogen {
                    atom: i + 1,
                    pos,
                    problem,
                });
            }
        }
        self.charge_separate_nitro(&mut bonds);
        self.check_hydrogens(&bonds, pos_of)?;
        Molecule::new(self.atoms, bonds).map_err(|e| match e {
            MoleculeError::Disconnected { fragments } => SmilesError::Fragments { fragments },
            other => SmilesError::Syntax {
                detail: other.to_string(),
            },
        })
    }

    /// Rewrites pentavalent nitro groups `N(=O)=O` (as QM9 spells its 139
    /// nitro compounds) into the charge-separated `[N+](=O)[O-]`, as RDKit's
    /// sanitizer does, so that N keeps the octet the valence table demands.
    fn charge_separate_nitro(&mut self, bonds: &mut [Bond]) {
        let usage = bond_usage(self.atoms.len(), bonds);
        let hydrogens = |c: &Self, i: usize| c.bracket_h[i].unwrap_or(0) + c.folded_h[i];
        for (n, &(bond_sum, _)) in usage.iter().enumerate() {
            if self.atoms[n] != Atom::neutral(Element::N) || bond_sum + hydrogens(self, n) != 5 {
                continue;
            }
            let terminal_oxo = bonds.iter().position(|b| {
                let Some(o) = b.other(n) else { return false };
                b.order == BondOrder::Double
                    && self.atoms[o] == Atom::neutral(Element::O)
                    && usage[o].1 == 1
                    && hydrogens(self, o) == 0
            });
            if let Some(bond) = terminal_oxo {
                let o = bonds[bond].other(n).expect("bond touches n");
                bonds[bond].order = BondOrder::Single;
                self.atoms[n].charge = 1;
                self.atoms[o].charge = -1;
            }
        }
    }

    /// Bracket atoms state their H count, so a shortfall is a radical; organic
    /// atoms take whatever hydrogens their valence leaves, so only excess fails.
    fn check_hydrogens(
        &self,
        bonds: &[Bond],
        pos_of: &dyn Fn(usize) -> usize,
    ) -> Result<(), SmilesError> {
        let bond_sum: Vec<u8> = bond_usage(self.atoms.len(), bonds)
            .into_iter()
            .map(|(sum, _)| sum)
            .collect();
        let input_index: Vec<usize> = self
            .heavy_index
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.map(|_| i))
            .collect();
        for (i, atom) in self.atoms.iter().enumerate() {
            let valence = valence::valence_of(atom.element, atom.charge).expect("checked above");
            let hydrogens = self.bracket_h[i].unwrap_or(0) + self.folded_h[i];
            let total = bond_sum[i] + hydrogens;
            let input = input_index[i];
            let symbol = format!("{}{}", atom.element, ChargeLabel(atom.charge));
            let (atom_no, pos) = (input + 1, pos_of(input));
            if total > valence {
                return Err(SmilesError::Overvalent {
                    atom: atom_no,
                    symbol,
                    pos,
                    bonds: bond_sum[i],
                    hydrogens,
                    valence,
                });
            }
            if self.bracket_h[i].is_some() && total < valence {
                return Err(SmilesError::Radical {
                    atom: atom_no,
                    symbol,
                    pos,
                    bonds: bond_sum[i],
                    hydrogens,
                    valence,
                });
            }
        }
        Ok(())
    }
}

/// (sum of bond orders, number of bonds) of each atom.
fn bond_usage(n_atoms: usize, bonds: &[Bond]) -> Vec<(u8, u8)> {
    let mut usage = vec![(0u8, 0u8); n_atoms];
    for b in bonds {
        for end in [b.a as usize, b.b as usize] {
            usage[end].0 += b.order.order();
            usage[end].1 += 1;
        }
    }
    usage
}

fn bond_order(
    order: cm::BondOrder,
    a: usize,
    b: usize,
    options: &SmilesOptions,
) -> Result<BondOrder, SmilesError> {
    match order {
        cm::BondOrder::Single => Ok(BondOrder::Single),
        cm::BondOrder::Double => Ok(BondOrder::Double),
        cm::BondOrder::Triple => Ok(BondOrder::Triple),
        cm::BondOrder::Up | cm::BondOrder::Down => match options.stereo {
            StereoPolicy::Ignore => Ok(BondOrder::Single),
            StereoPolicy::Reject => Err(SmilesError::Stereo {
                where_: format!("the bond between atoms {} and {}", a + 1, b + 1),
            }),
        },
        other => Err(SmilesError::UnsupportedBond {
            a: a + 1,
            b: b + 1,
            kind: format!("{other:?}"),
        }),
    }
}

/// Byte offset of each atom token, in input order (chematic numbers atoms the
/// same way), so that errors can point into the string.
fn atom_positions(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'[' => {
                out.push(i);
                i += text[i..].find(']').map_or(bytes.len() - i, |end| end + 1);
            }
            b'%' => i += 3,
            b'C' if bytes.get(i + 1) == Some(&b'l') => {
                out.push(i);
                i += 2;
            }
            b'B' if bytes.get(i + 1) == Some(&b'r') => {
                out.push(i);
                i += 2;
            }
            c if c.is_ascii_alphabetic() || c == b'*' => {
                out.push(i);
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        canonical_smiles(&parse_smiles(s).unwrap_or_else(|e| panic!("{s}: {e}")))
    }

    /// The decoder can build non-planar ring systems, whose rings RDKit only
    /// approximates (the complete graph of five carbons, K3,3 cages): they
    /// once panicked the writer, and must still get one canonical form.
    #[test]
    fn non_planar_ring_systems_have_one_canonical_form() {
        let mut rng = crate::rng::SeededRng::new(5);
        for smiles in ["C124C35C16C23C456", "C12C3C4C1C3C24", "CC12C3C4C1C3(C)C42C"] {
            let molecule = parse_smiles(smiles).unwrap();
            let expected = canonical_smiles(&molecule);
            assert_eq!(canon(&expected), expected, "{smiles}");
            for _ in 0..30 {
                let respelled = crate::chem::write_random_smiles(&molecule, &mut rng);
                assert_eq!(canon(&respelled), expected, "{smiles} as {respelled}");
            }
        }
    }

    #[test]
    fn spellings_of_one_molecule_share_a_canonical_string() {
        let groups: &[&[&str]] = &[
            &[
                "OCC",
                "CCO",
                "C(O)C",
                "[CH3][CH2][OH]",
                "C-C-O",
                "[H]OC([H])([H])C",
            ],
            &["C1=CC=CC=C1", "c1ccccc1", "C=1C=CC=CC=1", "C%10=CC=CC=C%10"],
            &["CC1=CN=CC=N1", "CC1=NC=CN=C1", "Cc1cnccn1"],
            &[
                "[NH3+]CC([O-])=O",
                "O=C([O-])C[NH3+]",
                "[O-]C(=O)C[N+]([H])([H])[H]",
            ],
            &["c1cc[nH]c1", "C1=CNC=C1", "N1C=CC=C1"],
            &["C12CC1C2", "C1C2CC12"],
        ];
        for group in groups {
            let first = canon(group[0]);
            for s in &group[1..] {
                assert_eq!(canon(s), first, "{s} vs {}", group[0]);
            }
        }
    }

    #[test]
    fn canonical_strings_match_rdkit_spelling() {
        // Strings taken from RDKit 2026.09 MolToSmiles.
        assert_eq!(canon("OCC"), "CCO");
        assert_eq!(canon("C1=CC=CC=C1"), "c1ccccc1");
        assert_eq!(canon("[NH3+]CCC([O-])=O"), "[NH3+]CCC(=O)[O-]");
        assert_eq!(canon("FC(F)(F)CC(F)(F)F"), "FC(F)(F)CC(F)(F)F");
    }

    #[test]
    fn different_molecules_get_different_strings() {
        assert_ne!(canon("CCO"), canon("COC"));
        assert_ne!(canon("C1CC1C"), canon("C=CCC"));
        assert_ne!(canon("[C-]#[N+]C"), canon("CC#N"));
    }

    #[test]
    fn canonical_output_parses_back_to_the_same_molecule() {
        for s in [
            "CC(=O)N",
            "[NH2+]=C1[CH-]C(=O)C=CN1",
            "N#CC#N",
            "OC1CC1OC1COC1",
        ] {
            let m = parse_smiles(s).unwrap();
            let c = canonical_smiles(&m);
            let back = parse_smiles(&c).unwrap();
            assert_eq!(back.formula(), m.formula());
            assert_eq!(canonical_smiles(&back), c);
        }
    }

    #[test]
    fn stereo_is_rejected_or_dropped_on_request() {
        let err = parse_smiles("C[C@H](N)O").unwrap_err();
        assert!(matches!(err, SmilesError::Stereo { .. }), "{err}");
        assert!(matches!(
            parse_smiles("F/C=C/F"),
            Err(SmilesError::Stereo { .. })
        ));
        let lenient = SmilesOptions {
            stereo: StereoPolicy::Ignore,
            ..Default::default()
        };
        let m = parse_smiles_with("C[C@H](N)O", &lenient).unwrap();
        assert_eq!(canonical_smiles(&m), canon("CC(N)O"));
        let m = parse_smiles_with("F/C=C/F", &lenient).unwrap();
        assert_eq!(canonical_smiles(&m), "FC=CF");
    }

    #[test]
    fn nitro_groups_are_charge_separated() {
        let m = parse_smiles("O=N(=O)C1=CC=CN1").unwrap();
        assert_eq!(m.net_charge(), 0);
        assert_eq!(m.atoms().iter().filter(|a| a.charge != 0).count(), 2);
        assert_eq!(canonical_smiles(&m), "O=[N+]([O-])c1ccc[nH]1");
        assert_eq!(canonical_smiles(&m), canon("[O-][N+](=O)C1=CC=CN1"));
        // A pentavalent N without a terminal oxygen stays an error.
        assert!(matches!(
            parse_smiles("CN(=C)=C"),
            Err(SmilesError::Overvalent { .. })
        ));
    }

    #[test]
    fn atom_positions_skip_brackets_and_ring_labels() {
        assert_eq!(atom_positions("C[NH3+]Cl%12O"), vec![0, 1, 7, 12]);
        assert_eq!(atom_positions("c1ccBr"), vec![0, 2, 3, 4]);
    }

    #[test]
    fn errors_point_at_the_offending_atom() {
        let err = parse_smiles("CC[Si]C").unwrap_err();
        assert_eq!(
            err,
            SmilesError::UnsupportedElement {
                symbol: "Si".into(),
                atom: 3,
                pos: 2
            }
        );
        let err = parse_smiles("CC[CH2]").unwrap_err();
        assert!(
            matches!(
                err,
                SmilesError::Radical {
                    atom: 3,
                    pos: 2,
                    ..
                }
            ),
            "{err}"
        );
    }
}
