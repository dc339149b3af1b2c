//! The molecular graph: heavy atoms with formal charges, and bonds of order 1–3.
//!
//! Hydrogens are implicit: each atom carries as many as its state's valence
//! leaves free. A [`Molecule`] can only be built through [`Molecule::new`], which
//! checks it against the valence table, so every value of the type is a valid,
//! connected, closed-shell molecule.

use serde::{Deserialize, Serialize};

use super::{Element, valence};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum BondOrder {
    Single = 1,
    Double = 2,
    Triple = 3,
}

impl BondOrder {
    pub const ALL: [BondOrder; 3] = [BondOrder::Single, BondOrder::Double, BondOrder::Triple];

    pub fn order(self) -> u8 {
        self as u8
    }

    pub fn from_order(order: u8) -> Option<BondOrder> {
        BondOrder::ALL.into_iter().find(|b| b.order() == order)
    }

    /// The SMILES bond symbol; single bonds are written implicitly.
    pub fn smiles_symbol(self) -> &'static str {
        match self {
            BondOrder::Single => "",
            BondOrder::Double => "=",
            BondOrder::Triple => "#",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Atom {
    pub element: Element,
    pub charge: i8,
}

impl Atom {
    pub fn neutral(element: Element) -> Atom {
        Atom { element, charge: 0 }
    }
}

/// A bond between atoms `a` and `b` (indices into [`Molecule::atoms`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Bond {
    pub a: u32,
    pub b: u32,
    pub order: BondOrder,
}

impl Bond {
    pub fn new(a: usize, b: usize, order: BondOrder) -> Bond {
        Bond {
            a: a as u32,
            b: b as u32,
            order,
        }
    }

    /// The atom at the other end from `atom`, if the bond touches `atom`.
    pub fn other(&self, atom: usize) -> Option<usize> {
        match atom as u32 {
            x if x == self.a => Some(self.b as usize),
            x if x == self.b => Some(self.a as usize),
            _ => None,
        }
    }
}

/// Why a set of atoms and bonds is not a valid molecule. Atom indices are
/// zero-based positions in the atom list.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoleculeError {
    #[error("a molecule needs at least one heavy atom")]
    NoAtoms,
    #[error("bond {bond} refers to atom {atom}, but there are only {atoms} atoms")]
    BondOutOfRange {
        bond: usize,
        atom: usize,
        atoms: usize,
    },
    #[error("bond {bond} joins atom {atom} to itself")]
    SelfBond { bond: usize, atom: usize },
    #[error("atoms {a} and {b} are bonded twice")]
    DuplicateBond { a: usize, b: usize },
    #[error("the graph has {fragments} disconnected fragments; give one connected molecule")]
    Disconnected { fragments: usize },
    #[error(
        "atom {atom} ({element}) has charge {charge:+}, which is not supported; {element} may have charge {allowed}"
    )]
    UnsupportedCharge {
        atom: usize,
        element: Element,
        charge: i8,
        allowed: String,
    },
    #[error(
        "atom {atom} ({element}{charge}) has bond orders summing to {bonds}, but its valence is {valence}"
    )]
    Overvalent {
        atom: usize,
        element: Element,
        charge: ChargeLabel,
        bonds: u8,
        valence: u8,
    },
}

/// A formal charge as chemists write it after a symbol: "", "+", "-", "2+".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChargeLabel(pub i8);

impl std::fmt::Display for ChargeLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            0 => Ok(()),
            1 => f.write_str("+"),
            -1 => f.write_str("-"),
            c if c > 0 => write!(f, "{c}+"),
            c => write!(f, "{}-", -c),
        }
    }
}

/// A valid molecule. Construct with [`Molecule::new`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedMolecule")]
pub struct Molecule {
    atoms: Vec<Atom>,
    bonds: Vec<Bond>,
    /// Hydrogens per atom, derived from the valence table at construction.
    #[serde(skip_serializing)]
    hydrogens: Vec<u8>,
}

/// The serialized form; deserializing goes through [`Molecule::new`] so a
/// corrupt or hand-edited file cannot produce an invalid molecule.
#[derive(Deserialize)]
struct UncheckedMolecule {
    atoms: Vec<Atom>,
    bonds: Vec<Bond>,
}

impl TryFrom<UncheckedMolecule> for Molecule {
    type Error = MoleculeError;
    fn try_from(m: UncheckedMolecule) -> Result<Self, Self::Error> {
        Molecule::new(m.atoms, m.bonds)
    }
}

impl Molecule {
    /// Checks the graph against the valence table and builds the molecule.
    pub fn new(atoms: Vec<Atom>, bonds: Vec<Bond>) -> Result<Molecule, MoleculeError> {
        if atoms.is_empty() {
            return Err(MoleculeError::NoAtoms);
        }
        let n = atoms.len();
        let mut bond_sum = vec![0u8; n];
        let mut seen = std::collections::HashSet::with_capacity(bonds.len());
        for (i, bond) in bonds.iter().enumerate() {
            for atom in [bond.a as usize, bond.b as usize] {
                if atom >= n {
                    return Err(MoleculeError::BondOutOfRange {
                        bond: i,
                        atom,
                        atoms: n,
                    });
                }
            }
            if bond.a == bond.b {
                return Err(MoleculeError::SelfBond {
                    bond: i,
                    atom: bond.a as usize,
                });
            }
            let key = (bond.a.min(bond.b), bond.a.max(bond.b));
            if !seen.insert(key) {
                return Err(MoleculeError::DuplicateBond {
                    a: key.0 as usize,
                    b: key.1 as usize,
                });
            }
            bond_sum[bond.a as usize] =
                bond_sum[bond.a as usize].saturating_add(bond.order.order());
            bond_sum[bond.b as usize] =
                bond_sum[bond.b as usize].saturating_add(bond.order.order());
        }
        let mut hydrogens = Vec::with_capacity(n);
        for (i, atom) in atoms.iter().enumerate() {
            let Some(valence) = valence::valence_of(atom.element, atom.charge) else {
                return Err(MoleculeError::UnsupportedCharge {
                    atom: i,
                    element: atom.element,
                    charge: atom.charge,
                    allowed: valence::describe_allowed_charges(atom.element),
                });
            };
            if bond_sum[i] > valence {
                return Err(MoleculeError::Overvalent {
                    atom: i,
                    element: atom.element,
                    charge: ChargeLabel(atom.charge),
                    bonds: bond_sum[i],
                    valence,
                });
            }
            hydrogens.push(valence - bond_sum[i]);
        }
        let fragments = count_fragments(n, &bonds);
        if fragments != 1 {
            return Err(MoleculeError::Disconnected { fragments });
        }
        Ok(Molecule {
            atoms,
            bonds,
            hydrogens,
        })
    }

    pub fn atoms(&self) -> &[Atom] {
        &self.atoms
    }

    pub fn bonds(&self) -> &[Bond] {
        &self.bonds
    }

    pub fn heavy_atom_count(&self) -> usize {
        self.atoms.len()
    }

    /// Implicit hydrogens on atom `atom`.
    pub fn hydrogens(&self, atom: usize) -> u8 {
        self.hydrogens[atom]
    }

    pub fn total_hydrogens(&self) -> usize {
        self.hydrogens.iter().map(|&h| h as usize).sum()
    }

    pub fn net_charge(&self) -> i32 {
        self.atoms.iter().map(|a| a.charge as i32).sum()
    }

    /// Independent rings (the cycle rank of the connected graph).
    pub fn ring_count(&self) -> usize {
        self.bonds.len() + 1 - self.atoms.len()
    }

    /// `(neighbour, bond order)` pairs of every atom, indexed by atom.
    pub fn adjacency(&self) -> Vec<Vec<(usize, BondOrder)>> {
        let mut adj = vec![Vec::new(); self.atoms.len()];
        for b in &self.bonds {
            adj[b.a as usize].push((b.b as usize, b.order));
            adj[b.b as usize].push((b.a as usize, b.order));
        }
        adj
    }

    /// Molecular formula in Hill order (C, H, then alphabetical), e.g. `C2H6O`.
    pub fn formula(&self) -> String {
        let mut counts = [0usize; Element::ALL.len()];
        for a in &self.atoms {
            counts[a.element.index()] += 1;
        }
        let mut out = String::new();
        let mut push = |symbol: &str, count: usize| match count {
            0 => {}
            1 => out.push_str(symbol),
            n => out.push_str(&format!("{symbol}{n}")),
        };
        push("C", counts[Element::C.index()]);
        push("H", self.total_hydrogens());
        for e in [Element::F, Element::N, Element::O] {
            push(e.symbol(), counts[e.index()]);
        }
        let charge = self.net_charge();
        if charge != 0 {
            out.push_str(&ChargeLabel(charge.clamp(-127, 127) as i8).to_string());
        }
        out
    }
}

/// The representative of `x` in a union-find forest, halving paths on the way.
pub(crate) fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

fn count_fragments(n: usize, bonds: &[Bond]) -> usize {
    let mut parent: Vec<usize> = (0..n).collect();
    let mut fragments = n;
    for b in bonds {
        let (ra, rb) = (
            find(&mut parent, b.a as usize),
            find(&mut parent, b.b as usize),
        );
        if ra != rb {
            parent[ra] = rb;
            fragments -= 1;
        }
    }
    fragments
}

#[cfg(test)]
mod tests {
    use super::*;
    use BondOrder::*;
    use Element::*;

    fn atoms(spec: &[(Element, i8)]) -> Vec<Atom> {
        spec.iter()
            .map(|&(element, charge)| Atom { element, charge })
            .collect()
    }

    #[test]
    fn ethanol_has_six_hydrogens() {
        let m = Molecule::new(
            atoms(&[(C, 0), (C, 0), (O, 0)]),
            vec![Bond::new(0, 1, Single), Bond::new(1, 2, Single)],
        )
        .unwrap();
        assert_eq!(m.total_hydrogens(), 6);
        assert_eq!(m.formula(), "C2H6O");
        assert_eq!(m.ring_count(), 0);
    }

    #[test]
    fn zwitterion_hydrogens_follow_charged_states() {
        // [NH3+]CC([O-])=O: glycine zwitterion
        let m = Molecule::new(
            atoms(&[(N, 1), (C, 0), (C, 0), (O, -1), (O, 0)]),
            vec![
                Bond::new(0, 1, Single),
                Bond::new(1, 2, Single),
                Bond::new(2, 3, Single),
                Bond::new(2, 4, Double),
            ],
        )
        .unwrap();
        assert_eq!(m.hydrogens(0), 3);
        assert_eq!(m.hydrogens(3), 0);
        assert_eq!(m.net_charge(), 0);
        assert_eq!(m.formula(), "C2H5NO2");
    }

    #[test]
    fn invalid_graphs_are_rejected_with_the_reason() {
        let five_bonds = Molecule::new(
            atoms(&[(C, 0), (C, 0), (C, 0), (C, 0)]),
            vec![
                Bond::new(0, 1, Triple),
                Bond::new(0, 2, Single),
                Bond::new(0, 3, Single),
            ],
        );
        assert!(matches!(
            five_bonds,
            Err(MoleculeError::Overvalent {
                atom: 0,
                bonds: 5,
                valence: 4,
                ..
            })
        ));
        assert_eq!(Molecule::new(vec![], vec![]), Err(MoleculeError::NoAtoms));
        assert_eq!(
            Molecule::new(atoms(&[(C, 0), (C, 0)]), vec![]),
            Err(MoleculeError::Disconnected { fragments: 2 })
        );
        assert!(matches!(
            Molecule::new(atoms(&[(F, -1)]), vec![]),
            Err(MoleculeError::UnsupportedCharge { .. })
        ));
        assert!(matches!(
            Molecule::new(atoms(&[(C, 0)]), vec![Bond::new(0, 0, Single)]),
            Err(MoleculeError::SelfBond { .. })
        ));
        assert!(matches!(
            Molecule::new(atoms(&[(C, 0)]), vec![Bond::new(0, 3, Single)]),
            Err(MoleculeError::BondOutOfRange { .. })
        ));
        assert!(matches!(
            Molecule::new(
                atoms(&[(C, 0), (C, 0)]),
                vec![Bond::new(0, 1, Single), Bond::new(1, 0, Double)]
            ),
            Err(MoleculeError::DuplicateBond { a: 0, b: 1 })
        ));
    }

    #[test]
    fn error_messages_name_the_atom_and_rule() {
        let err = Molecule::new(
            atoms(&[(O, 0), (C, 0), (C, 0)]),
            vec![Bond::new(0, 1, Double), Bond::new(0, 2, Single)],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "atom 0 (O) has bond orders summing to 3, but its valence is 2"
        );
        let err = Molecule::new(atoms(&[(F, -1)]), vec![]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "atom 0 (F) has charge -1, which is not supported; F may have charge 0"
        );
    }

    #[test]
    fn deserializing_checks_validity() {
        let bad = UncheckedMolecule {
            atoms: atoms(&[(O, 0), (O, 0)]),
            bonds: vec![Bond::new(0, 1, Triple)],
        };
        assert!(Molecule::try_from(bad).is_err());
    }
}
