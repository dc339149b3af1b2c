//! The fixed node order the decoder learns to build molecules in: breadth
//! first from the canonically first atom, neighbours in canonical order. One
//! molecule, however it was spelled, always gives the same sequence.

use crate::chem::Molecule;
use crate::chem::smiles::to_chematic;

/// Atom indices of `molecule` in decoding order.
pub fn canonical_bfs_order(molecule: &Molecule) -> Vec<usize> {
    let n = molecule.heavy_atom_count();
    let canonical = chematic::smiles::canonical_atom_order(&to_chematic(molecule));
    let mut rank = vec![0usize; n];
    for (position, &atom) in canonical.iter().enumerate() {
        rank[atom] = position;
    }
    let mut adjacency = molecule.adjacency();
    for neighbours in &mut adjacency {
        neighbours.sort_by_key(|&(atom, _)| rank[atom]);
    }
    let mut order = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    let root = canonical[0];
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
