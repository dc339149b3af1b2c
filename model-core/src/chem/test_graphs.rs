//! Graphs that canonical numberings have got wrong, shared by the tests of
//! every order built on them.

use super::{Atom, Bond, BondOrder, Element, Molecule};

/// The five connected cubic graphs on 8 vertices (automorphism groups of
/// order 4, 12, 16, 16 and 48, the last the cube), as C8H8 cages.
/// Refinement leaves all 8 atoms of each tied, and in the first four the
/// tied atoms are not all symmetry-equivalent: picking one of them, as
/// the first version did, numbered three of these differently under
/// different input orders.
pub(crate) const CUBIC_8: [[(usize, usize); 12]; 5] = [
    [
        (0, 1),
        (0, 6),
        (0, 7),
        (1, 3),
        (1, 7),
        (2, 4),
        (2, 5),
        (2, 7),
        (3, 4),
        (3, 6),
        (4, 5),
        (5, 6),
    ],
    [
        (0, 2),
        (0, 3),
        (0, 4),
        (1, 3),
        (1, 5),
        (1, 7),
        (2, 5),
        (2, 6),
        (3, 6),
        (4, 6),
        (4, 7),
        (5, 7),
    ],
    [
        (0, 1),
        (0, 6),
        (0, 7),
        (1, 6),
        (1, 7),
        (2, 3),
        (2, 4),
        (2, 5),
        (3, 5),
        (3, 6),
        (4, 5),
        (4, 7),
    ],
    [
        (0, 3),
        (0, 4),
        (0, 7),
        (1, 2),
        (1, 6),
        (1, 7),
        (2, 3),
        (2, 4),
        (3, 6),
        (4, 5),
        (5, 6),
        (5, 7),
    ],
    [
        (0, 1),
        (0, 4),
        (0, 6),
        (1, 3),
        (1, 5),
        (2, 3),
        (2, 5),
        (2, 7),
        (3, 4),
        (4, 7),
        (5, 6),
        (6, 7),
    ],
];

pub(crate) fn cage(edges: &[(usize, usize)], relabel: &[usize]) -> Molecule {
    let atoms = vec![Atom::neutral(Element::C); relabel.len()];
    let bonds = edges
        .iter()
        .map(|&(a, b)| Bond::new(relabel[a], relabel[b], BondOrder::Single))
        .collect();
    Molecule::new(atoms, bonds).unwrap()
}
