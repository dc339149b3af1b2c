//! A numbering of a molecule's atoms that does not depend on the order they
//! were written in.
//!
//! The canonical writer's ring perception, and so its aromaticity, follows the
//! input numbering: for some fused, heteroatom-rich ring systems two spellings
//! of one molecule came out aromatic in different rings. Renumbering first
//! means the writer always sees the same graph.
//!
//! Classes are refined from atom invariants and neighbour classes (with bond
//! orders) until stable. Ties left after refinement are broken by a full
//! individualisation-refinement search: each atom of the first tied class is
//! individualised in turn, the classes refined again, recursively, and of all
//! the discrete numberings reached the one whose bond list is smallest wins.
//! Picking just one atom of a tied class is order-free only when the tied
//! atoms are symmetry-equivalent, which refinement cannot promise on regular
//! cages: three of the five cubic graphs on 8 vertices, cuneane's among them,
//! gave 2 or 3 numberings under random input orders that way.

use super::{Bond, Molecule};

/// The molecule with its atoms in canonical order and its bonds sorted.
pub fn in_canonical_order(molecule: &Molecule) -> Molecule {
    renumbered(molecule, &canonical_ranks(molecule))
}

/// The molecule with atom `old` moved to index `rank[old]` and its bonds
/// sorted; `rank` must be a permutation ([`canonical_ranks`] gives one).
pub fn renumbered(molecule: &Molecule, rank: &[usize]) -> Molecule {
    let mut atoms = molecule.atoms().to_vec();
    for (old, atom) in molecule.atoms().iter().enumerate() {
        atoms[rank[old]] = *atom;
    }
    let mut bonds: Vec<Bond> = molecule
        .bonds()
        .iter()
        .map(|b| {
            let (x, y) = (rank[b.a as usize], rank[b.b as usize]);
            Bond::new(x.min(y), x.max(y), b.order)
        })
        .collect();
    bonds.sort_by_key(|b| (b.a, b.b));
    Molecule::new(atoms, bonds).expect("renumbering keeps a valid molecule valid")
}

/// A distinct rank for every atom: `rank[atom]` is its new index.
pub fn canonical_ranks(molecule: &Molecule) -> Vec<usize> {
    let adjacency = molecule.adjacency();
    let invariants: Vec<_> = molecule
        .atoms()
        .iter()
        .enumerate()
        .map(|(i, a)| {
            (
                a.element as u8,
                a.charge,
                molecule.hydrogens(i),
                adjacency[i].len(),
            )
        })
        .collect();
    let classes = refine(dense_ranks(&invariants), &adjacency);
    let mut best = None;
    search(classes, &adjacency, &mut best);
    best.expect("the search reaches at least one numbering").1
}

/// A numbering's bond list, (rank, rank, order) with the lower rank first,
/// sorted. Every numbering the search reaches lists the atoms' invariants in
/// the same order (refinement keeps class order), so the bond list alone tells
/// numberings apart.
type Certificate = Vec<(usize, usize, u8)>;

type Adjacency = [Vec<(usize, super::BondOrder)>];

/// Individualises each atom of the first tied class in turn and recurses;
/// keeps in `best` the discrete numbering with the smallest certificate. The
/// tree has one leaf per symmetry of the tied atoms, a few dozen at most for
/// the cages small molecules form.
fn search(
    classes: Vec<usize>,
    adjacency: &Adjacency,
    best: &mut Option<(Certificate, Vec<usize>)>,
) {
    let Some(tied) = first_tied_class(&classes) else {
        let certificate = certificate(&classes, adjacency);
        if best
            .as_ref()
            .is_none_or(|(smallest, _)| certificate < *smallest)
        {
            *best = Some((certificate, classes));
        }
        return;
    };
    let members: Vec<usize> = (0..classes.len()).filter(|&i| classes[i] == tied).collect();
    for chosen in members {
        let split: Vec<_> = classes
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, c == tied && i != chosen))
            .collect();
        search(refine(dense_ranks(&split), adjacency), adjacency, best);
    }
}

fn certificate(ranks: &[usize], adjacency: &Adjacency) -> Certificate {
    let mut bonds: Certificate = adjacency
        .iter()
        .enumerate()
        .flat_map(|(i, neighbours)| {
            neighbours
                .iter()
                .filter(move |&&(j, _)| i < j)
                .map(move |&(j, order)| {
                    let (a, b) = (ranks[i], ranks[j]);
                    (a.min(b), a.max(b), order.order())
                })
        })
        .collect();
    bonds.sort_unstable();
    bonds
}

/// Splits classes by the multiset of (neighbour class, bond order) until no
/// class splits further. Splitting only refines, so class order is kept.
fn refine(mut classes: Vec<usize>, adjacency: &Adjacency) -> Vec<usize> {
    let mut count = distinct(&classes);
    loop {
        let keys: Vec<_> = adjacency
            .iter()
            .enumerate()
            .map(|(i, neighbours)| {
                let mut around: Vec<(usize, u8)> = neighbours
                    .iter()
                    .map(|&(j, order)| (classes[j], order.order()))
                    .collect();
                around.sort_unstable();
                (classes[i], around)
            })
            .collect();
        classes = dense_ranks(&keys);
        let now = distinct(&classes);
        if now == count {
            return classes;
        }
        count = now;
    }
}

fn first_tied_class(classes: &[usize]) -> Option<usize> {
    let mut size = vec![0usize; classes.len()];
    for &c in classes {
        size[c] += 1;
    }
    size.iter().position(|&s| s > 1)
}

fn distinct(classes: &[usize]) -> usize {
    classes.iter().max().map_or(0, |&m| m + 1)
}

/// Dense ranks of `keys` (equal keys share a rank, ranks start at 0), where
/// the rank order follows the key order.
fn dense_ranks<K: Ord>(keys: &[K]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
    let mut ranks = vec![0; keys.len()];
    let mut rank = 0;
    for w in 0..order.len() {
        if w > 0 && keys[order[w]] != keys[order[w - 1]] {
            rank += 1;
        }
        ranks[order[w]] = rank;
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chem::test_graphs::{CUBIC_8, cage};
    use crate::chem::{canonical_smiles, parse_smiles, write_random_smiles};
    use crate::rng::SeededRng;

    /// Any atom order gives the same renumbered molecule.
    fn assert_order_free(smiles: &str) {
        let molecule = parse_smiles(smiles).unwrap();
        let expected = in_canonical_order(&molecule);
        let mut rng = SeededRng::new(7);
        for _ in 0..20 {
            let respelled = parse_smiles(&write_random_smiles(&molecule, &mut rng)).unwrap();
            let renumbered = in_canonical_order(&respelled);
            assert_eq!(renumbered.atoms(), expected.atoms(), "{smiles}");
            assert_eq!(renumbered.bonds(), expected.bonds(), "{smiles}");
        }
    }

    #[test]
    fn ranks_are_a_permutation() {
        let molecule = parse_smiles("C1CC2CC12C(=O)N").unwrap();
        let mut ranks = canonical_ranks(&molecule);
        ranks.sort_unstable();
        assert_eq!(ranks, (0..molecule.heavy_atom_count()).collect::<Vec<_>>());
    }

    #[test]
    fn renumbering_ignores_input_order() {
        // Chains, symmetric cages (ties broken by individualisation), and a
        // charged fused system.
        for smiles in [
            "CCO",
            "C12C3C4C1C5C2C3C45",
            "OC1=CC=CC=C1",
            "[C]-1=2-[O]-[N-]-[N]-3-[N+]2-[O]-[N]1-[O]-[O]3",
        ] {
            assert_order_free(smiles);
        }
    }

    #[test]
    fn regular_cages_get_one_numbering_whatever_the_input_order() {
        let mut rng = SeededRng::new(3);
        for (i, edges) in CUBIC_8.iter().enumerate() {
            let identity: Vec<usize> = (0..8).collect();
            let expected = in_canonical_order(&cage(edges, &identity));
            for _ in 0..30 {
                let mut relabel = identity.clone();
                rng.shuffle(&mut relabel);
                let renumbered = in_canonical_order(&cage(edges, &relabel));
                assert_eq!(renumbered.bonds(), expected.bonds(), "cubic graph {i}");
            }
        }
    }

    /// Found by the property test: this spelling once canonicalised to a
    /// different aromatic form than the molecule it came from.
    #[test]
    fn fused_charged_system_has_one_canonical_form() {
        let spelled = "[C]-1=2-[O]-[N-]-[N]-3-[N+]2-[O]-[N]1-[O]-[O]3";
        let molecule = parse_smiles(spelled).unwrap();
        let expected = canonical_smiles(&molecule);
        let mut rng = SeededRng::new(11);
        for _ in 0..50 {
            let again = parse_smiles(&write_random_smiles(&molecule, &mut rng)).unwrap();
            assert_eq!(canonical_smiles(&again), expected);
        }
    }
}
