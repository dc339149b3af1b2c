//! Local edits of a molecular graph: add, remove or replace an atom, put an
//! atom into a bond, change a bond's order, close a ring.
//!
//! An edit builds a new atom and bond list and hands it to [`Molecule::new`],
//! so the valence table decides what is allowed, as it does for parsed
//! SMILES and decoded graphs; a result that breaks a structural rule
//! ([`super::structure`]) is refused as well, as the decoder's masks refuse it. The search uses edits to reach molecules the
//! generative model never learned to build (QM9 has one 9-heavy-atom molecule
//! with more than three fluorines).

use super::atom_order::in_canonical_order;
use super::{Atom, Bond, BondOrder, Element, Molecule, MoleculeError, Violation};
use crate::rng::SeededRng;

/// One local change. Atom and bond indices refer to the molecule it is applied to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Bond a new neutral atom of `element` to `atom` with a single bond.
    AddAtom { atom: usize, element: Element },
    /// Remove `atom`, which must have exactly one heavy neighbour.
    RemoveTerminal { atom: usize },
    /// Make `atom` a neutral atom of `element`, keeping its bonds.
    Replace { atom: usize, element: Element },
    /// Put a new neutral atom of `element` between the ends of `bond`
    /// (which must be single): X-Y becomes X-E-Y.
    InsertInBond { bond: usize, element: Element },
    /// Raise `bond`'s order by one.
    RaiseBond { bond: usize },
    /// Lower `bond`'s order by one; a single bond is removed, which must leave
    /// the graph connected (it opens a ring).
    LowerBond { bond: usize },
    /// Join two atoms that are not bonded with a single bond (closes a ring).
    CloseRing { a: usize, b: usize },
}

/// Why an edit could not be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("the edit refers to atom or bond {0}, which does not exist")]
    OutOfRange(usize),
    #[error("the edit does not fit this graph: {0}")]
    NotApplicable(&'static str),
    #[error(transparent)]
    Invalid(#[from] MoleculeError),
    #[error("the result breaks a structural rule: {0}")]
    Unrealistic(Violation),
}

impl Edit {
    /// The molecule after this edit, checked against the valence table.
    pub fn apply(&self, molecule: &Molecule) -> Result<Molecule, EditError> {
        let mut atoms = molecule.atoms().to_vec();
        let mut bonds = molecule.bonds().to_vec();
        let atom_at = |i: usize| atoms.get(i).copied().ok_or(EditError::OutOfRange(i));
        let bond_at = |i: usize| bonds.get(i).copied().ok_or(EditError::OutOfRange(i));
        match *self {
            Edit::AddAtom { atom, element } => {
                atom_at(atom)?;
                atoms.push(Atom::neutral(element));
                bonds.push(Bond::new(atom, atoms.len() - 1, BondOrder::Single));
            }
            Edit::RemoveTerminal { atom } => {
                atom_at(atom)?;
                let touching = bonds.iter().filter(|b| b.other(atom).is_some()).count();
                if touching != 1 || atoms.len() < 2 {
                    return Err(EditError::NotApplicable("the atom is not terminal"));
                }
                atoms.remove(atom);
                bonds.retain(|b| b.other(atom).is_none());
                let shift = |i: u32| if i as usize > atom { i - 1 } else { i };
                for b in &mut bonds {
                    b.a = shift(b.a);
                    b.b = shift(b.b);
                }
            }
            Edit::Replace { atom, element } => {
                let old = atom_at(atom)?;
                if old == Atom::neutral(element) {
                    return Err(EditError::NotApplicable("the atom is already that element"));
                }
                atoms[atom] = Atom::neutral(element);
            }
            Edit::InsertInBond { bond, element } => {
                let old = bond_at(bond)?;
                if old.order != BondOrder::Single {
                    return Err(EditError::NotApplicable("only single bonds take an atom"));
                }
                atoms.push(Atom::neutral(element));
                let new = atoms.len() - 1;
                bonds[bond] = Bond::new(old.a as usize, new, BondOrder::Single);
                bonds.push(Bond::new(new, old.b as usize, BondOrder::Single));
            }
            Edit::RaiseBond { bond } => {
                let old = bond_at(bond)?;
                let order = BondOrder::from_order(old.order.order() + 1)
                    .ok_or(EditError::NotApplicable("the bond is already triple"))?;
                bonds[bond].order = order;
            }
            Edit::LowerBond { bond } => {
                let old = bond_at(bond)?;
                match BondOrder::from_order(old.order.order() - 1) {
                    Some(order) => bonds[bond].order = order,
                    None => {
                        bonds.remove(bond);
                    }
                }
            }
            Edit::CloseRing { a, b } => {
                atom_at(a)?;
                atom_at(b)?;
                if a == b || bonds.iter().any(|x| x.other(a) == Some(b)) {
                    return Err(EditError::NotApplicable("the atoms are already bonded"));
                }
                bonds.push(Bond::new(a, b, BondOrder::Single));
            }
        }
        let edited = Molecule::new(atoms, bonds)?;
        match edited.structural_violations().into_iter().next() {
            Some(violation) => Err(EditError::Unrealistic(violation)),
            None => Ok(edited),
        }
    }
}

/// Proposes a random edit of `molecule` that introduces only `elements`.
pub fn random_edit(molecule: &Molecule, elements: &[Element], rng: &mut SeededRng) -> Edit {
    let atoms = molecule.heavy_atom_count();
    let bonds = molecule.bonds().len();
    let element = elements[rng.below(elements.len())];
    let atom = rng.below(atoms);
    // Kinds without a bond to act on fall back to atom edits.
    match (rng.below(7), bonds) {
        (0, _) => Edit::AddAtom { atom, element },
        (1, _) => Edit::RemoveTerminal { atom },
        (2, _) | (3, 0) | (4, 0) | (5, 0) => Edit::Replace { atom, element },
        (3, _) => Edit::InsertInBond {
            bond: rng.below(bonds),
            element,
        },
        (4, _) => Edit::RaiseBond {
            bond: rng.below(bonds),
        },
        (5, _) => Edit::LowerBond {
            bond: rng.below(bonds),
        },
        _ => Edit::CloseRing {
            a: atom,
            b: rng.below(atoms),
        },
    }
}

/// A random valid neighbour of `molecule`: `edits` edits in a row, each drawn
/// until one applies (at most `tries` draws each). `None` if none applied.
pub fn mutate(
    molecule: &Molecule,
    elements: &[Element],
    edits: usize,
    tries: usize,
    rng: &mut SeededRng,
) -> Option<Molecule> {
    let mut current: Option<Molecule> = None;
    for _ in 0..edits {
        let base = current.as_ref().unwrap_or(molecule);
        let next = (0..tries).find_map(|_| random_edit(base, elements, rng).apply(base).ok());
        match next {
            Some(m) => current = Some(m),
            None => break,
        }
    }
    current
}

/// Every edit of `molecule` that introduces only `elements`, whether or not
/// it applies (apply each to find out).
pub fn every_edit(molecule: &Molecule, elements: &[Element]) -> Vec<Edit> {
    let atoms = molecule.heavy_atom_count();
    let bonds = molecule.bonds().len();
    let mut edits = Vec::new();
    for atom in 0..atoms {
        edits.push(Edit::RemoveTerminal { atom });
        for &element in elements {
            edits.push(Edit::AddAtom { atom, element });
            edits.push(Edit::Replace { atom, element });
        }
    }
    for bond in 0..bonds {
        edits.push(Edit::RaiseBond { bond });
        edits.push(Edit::LowerBond { bond });
        for &element in elements {
            edits.push(Edit::InsertInBond { bond, element });
        }
    }
    for a in 0..atoms {
        for b in a + 1..atoms {
            edits.push(Edit::CloseRing { a, b });
        }
    }
    edits
}

/// The graphs one edit away from `molecule` (introducing only `elements`,
/// at most `max_atoms` heavy atoms), each once, in canonical atom order.
/// Two Kekulé forms of one aromatic ring are two graphs here.
pub fn single_edit_neighbours(
    molecule: &Molecule,
    elements: &[Element],
    max_atoms: usize,
) -> Vec<Molecule> {
    let itself = in_canonical_order(molecule);
    let mut found: Vec<Molecule> = Vec::new();
    for edit in every_edit(molecule, elements) {
        if let Ok(m) = edit.apply(molecule)
            && m.heavy_atom_count() <= max_atoms
        {
            let m = in_canonical_order(&m);
            if m != itself && !found.contains(&m) {
                found.push(m);
            }
        }
    }
    found
}

/// How far apart two molecules are by their counts alone: heavy atoms of each
/// element and charge that one has and the other lacks, plus bonds of each
/// order (counted from whichever side has more of each). One [`Edit`]
/// moves it by at most 2 (adding an atom adds its bond). Isomers count 0:
/// the counts cannot tell them apart.
pub fn count_difference(a: &Molecule, b: &Molecule) -> usize {
    use std::collections::HashMap;
    fn excess<K: std::hash::Hash + Eq>(a: &[K], b: &[K]) -> usize {
        let mut counts: HashMap<&K, i64> = HashMap::new();
        for k in a {
            *counts.entry(k).or_default() += 1;
        }
        for k in b {
            *counts.entry(k).or_default() -= 1;
        }
        let more: i64 = counts.values().filter(|&&c| c > 0).sum();
        let fewer: i64 = -counts.values().filter(|&&c| c < 0).sum::<i64>();
        more.max(fewer) as usize
    }
    let atoms = |m: &Molecule| -> Vec<(Element, i8)> {
        m.atoms().iter().map(|x| (x.element, x.charge)).collect()
    };
    let bonds = |m: &Molecule| -> Vec<u8> { m.bonds().iter().map(|x| x.order.order()).collect() };
    excess(&atoms(a), &atoms(b)) + excess(&bonds(a), &bonds(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chem::{canonical_smiles, parse_smiles};

    fn edited(smiles: &str, edit: Edit) -> Result<String, EditError> {
        let m = parse_smiles(smiles).unwrap();
        edit.apply(&m).map(|m| canonical_smiles(&m))
    }

    #[test]
    fn each_edit_does_what_it_says() {
        use Element::*;
        let add = Edit::AddAtom {
            atom: 0,
            element: F,
        };
        assert_eq!(edited("CCO", add).unwrap(), "OCCF");
        assert_eq!(
            edited("CCF", Edit::RemoveTerminal { atom: 2 }).unwrap(),
            "CC"
        );
        // CF3-CH2-CF3 with its middle carbon made an oxygen: CF3-O-CF3.
        let replaced = Edit::Replace {
            atom: 4,
            element: O,
        };
        assert_eq!(
            edited("FC(F)(F)CC(F)(F)F", replaced).unwrap(),
            "FC(F)(F)OC(F)(F)F"
        );
        let inserted = Edit::InsertInBond {
            bond: 0,
            element: O,
        };
        assert_eq!(edited("CC", inserted).unwrap(), "COC");
        assert_eq!(edited("CC", Edit::RaiseBond { bond: 0 }).unwrap(), "C=C");
        assert_eq!(edited("C#C", Edit::LowerBond { bond: 0 }).unwrap(), "C=C");
        assert_eq!(edited("C1CC1", Edit::LowerBond { bond: 0 }).unwrap(), "CCC");
        assert_eq!(
            edited("CCCC", Edit::CloseRing { a: 0, b: 3 }).unwrap(),
            "C1CCC1"
        );
    }

    #[test]
    fn edits_that_break_the_valence_table_or_the_graph_are_refused() {
        use Element::*;
        // Oxygen cannot take four bonds; fluorine cannot take two.
        let err = edited(
            "CC(C)(C)C",
            Edit::Replace {
                atom: 1,
                element: O,
            },
        )
        .unwrap_err();
        assert!(
            matches!(err, EditError::Invalid(MoleculeError::Overvalent { .. })),
            "{err}"
        );
        assert!(
            edited(
                "CF",
                Edit::AddAtom {
                    atom: 1,
                    element: C
                }
            )
            .is_err()
        );
        // Removing the only bond of a chain disconnects it.
        let err = edited("CC", Edit::LowerBond { bond: 0 }).unwrap_err();
        assert!(
            matches!(err, EditError::Invalid(MoleculeError::Disconnected { .. })),
            "{err}"
        );
        assert!(edited("CCC", Edit::RemoveTerminal { atom: 1 }).is_err());
        assert!(edited("CC", Edit::CloseRing { a: 0, b: 1 }).is_err());
        assert!(
            edited(
                "C=C",
                Edit::InsertInBond {
                    bond: 0,
                    element: O
                }
            )
            .is_err()
        );
        assert_eq!(
            edited("CC", Edit::RaiseBond { bond: 5 }).unwrap_err(),
            EditError::OutOfRange(5)
        );
    }

    #[test]
    fn edits_that_break_a_structural_rule_are_refused() {
        use Element::*;
        let refused = |smiles: &str, edit: Edit| match edited(smiles, edit) {
            Err(EditError::Unrealistic(v)) => v.rule,
            other => panic!("{smiles} {edit:?}: {other:?}"),
        };
        use crate::chem::StructuralRule::*;
        assert_eq!(
            refused("C1CC1", Edit::RaiseBond { bond: 0 }),
            SmallRingMultipleBond
        );
        assert_eq!(
            refused("C=CCC", Edit::CloseRing { a: 0, b: 3 }),
            SmallRingMultipleBond
        );
        assert_eq!(
            refused(
                "CCO",
                Edit::AddAtom {
                    atom: 2,
                    element: O
                }
            ),
            OxygenOxygenBond
        );
        assert_eq!(
            refused("C1CC2CCC1C2", Edit::RaiseBond { bond: 1 }),
            TransDoubleBondInSmallRing
        );
        // The same edits where the rules allow them.
        assert_eq!(
            edited("C1CCCC1", Edit::RaiseBond { bond: 0 }).unwrap(),
            "C1=CCCC1"
        );
        assert_eq!(
            edited(
                "CCO",
                Edit::AddAtom {
                    atom: 0,
                    element: O
                }
            )
            .unwrap(),
            "OCCO"
        );
        // Rules judged on the finished molecule apply to edits too.
        assert_eq!(
            refused(
                "CCO",
                Edit::AddAtom {
                    atom: 1,
                    element: O
                }
            ),
            GeminalHeteroatoms
        );
    }

    #[test]
    fn mutations_never_break_a_structural_rule() {
        let start = parse_smiles("CC1CC2C3C(C)C2C13").unwrap();
        let mut rng = SeededRng::new(9);
        for _ in 0..300 {
            if let Some(m) = mutate(
                &start,
                &[Element::C, Element::O, Element::N],
                2,
                20,
                &mut rng,
            ) {
                assert_eq!(m.structural_violations(), [], "{}", canonical_smiles(&m));
            }
        }
    }

    #[test]
    fn mutations_are_valid_seeded_and_use_only_the_given_elements() {
        let start = parse_smiles("CC1CC2C3C(C)C2C13").unwrap();
        let elements = [Element::C, Element::O];
        let run = |seed| {
            let mut rng = SeededRng::new(seed);
            (0..200)
                .filter_map(|_| mutate(&start, &elements, 2, 20, &mut rng))
                .map(|m| canonical_smiles(&m))
                .collect::<Vec<_>>()
        };
        let a = run(3);
        assert_eq!(a, run(3));
        assert_ne!(a, run(4));
        assert!(a.len() > 150, "only {} of 200 mutations applied", a.len());
        for s in &a {
            let m = parse_smiles(s).unwrap();
            assert!(
                m.atoms().iter().all(|x| elements.contains(&x.element)),
                "{s}"
            );
        }
        let distinct: std::collections::HashSet<_> = a.iter().collect();
        assert!(
            distinct.len() > 50,
            "only {} distinct mutants",
            distinct.len()
        );
    }

    #[test]
    fn single_edit_neighbours_are_distinct_valid_realistic_and_close() {
        for smiles in ["CC(=O)N", "c1ccncc1", "N#CC1CC1", "OCC(F)(F)F"] {
            let m = parse_smiles(smiles).unwrap();
            let neighbours = single_edit_neighbours(&m, &Element::ALL, 9);
            assert!(neighbours.len() > 10, "{smiles}: {}", neighbours.len());
            for n in &neighbours {
                assert!(n.heavy_atom_count() <= 9);
                assert_eq!(n.structural_violations(), [], "{smiles}");
                assert!(
                    count_difference(&m, n) <= 2,
                    "{smiles} -> {}",
                    canonical_smiles(n)
                );
                assert_ne!(canonical_smiles(n), canonical_smiles(&m));
            }
            // Each graph once (two Kekulé forms of a ring are two graphs).
            for (i, a) in neighbours.iter().enumerate() {
                let a = in_canonical_order(a);
                assert!(
                    neighbours[i + 1..]
                        .iter()
                        .all(|b| in_canonical_order(b) != a),
                    "{smiles}"
                );
            }
        }
        // A molecule at the size limit gains no atom, one below it can.
        let full = parse_smiles("CC1CC(C)C1(C)CC").unwrap();
        let largest = |max: usize| {
            single_edit_neighbours(&full, &Element::ALL, max)
                .iter()
                .map(Molecule::heavy_atom_count)
                .max()
        };
        assert_eq!(largest(9), Some(9));
        assert_eq!(largest(10), Some(10));
    }

    #[test]
    fn count_difference_counts_atoms_and_bonds_not_arrangement() {
        let d = |a: &str, b: &str| {
            count_difference(&parse_smiles(a).unwrap(), &parse_smiles(b).unwrap())
        };
        assert_eq!(d("CCO", "CCO"), 0);
        assert_eq!(d("CCO", "CCN"), 1);
        assert_eq!(d("CCO", "CCCO"), 2);
        assert_eq!(d("C=C", "CC"), 1);
        assert_eq!(d("CCCC", "CC(C)C"), 0);
        assert_eq!(d("CCO", "OCC"), 0);
    }
}
