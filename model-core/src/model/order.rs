//! The fixed node order the decoder learns to build molecules in: breadth
//! first from a terminal atom, neighbours in canonical order. The ranks are
//! the chemistry core's canonical numbering ([`canonical_ranks`]), the one
//! the SMILES writer renumbers by, so one molecule, however it was spelled,
//! always gives the same sequence.

use crate::chem::Molecule;
use crate::chem::atom_order::canonical_ranks;

/// Atom indices of `molecule` in decoding order. The root is the
/// lowest-ranked atom of the lowest degree, so chains are built from an end,
/// as SMILES writers start them.
pub fn canonical_bfs_order(molecule: &Molecule) -> Vec<usize> {
    let n = molecule.heavy_atom_count();
    let rank = canonical_ranks(molecule);
    let mut adjacency = molecule.adjacency();
    let Some(root) = (0..n).min_by_key(|&atom| (adjacency[atom].len(), rank[atom])) else {
        return Vec::new();
    };
    for neighbours in &mut adjacency {
        neighbours.sort_by_key(|&(atom, _)| rank[atom]);
    }
    let mut order = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    seen[root] = true;
    order.push(root);
    let mut head = 0;
    while head < order.len() {
        let atom = order[head];
        head += 1;
        for &(next, _) in &adjacency[atom] {
            if !seen[next] {
                seen[next] = true;
                order.push(next);
            }
        }
    }
    order
}
