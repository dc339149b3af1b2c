//! What the decoder reads at each step besides its own state: what the
//! previous atom bonded to (the links vector), the distance of a candidate
//! bond, an atom's free valence, the ring a bond would close. Teacher
//! forcing (`target`, `batch`) and sampling (`sample`) both write these
//! through the functions here, so the two cannot disagree, and neither needs
//! the decoder's modules.

/// The distance-embedding row for a bond between atoms `steps_apart`
/// construction steps apart (>= 1); distances past `max_atoms` share the last row.
/// Training targets and sampling both use this, so they cannot disagree.
pub fn distance_index(steps_apart: usize, max_atoms: usize) -> i64 {
    steps_apart.min(max_atoms) as i64 - 1
}

/// Width of the links vector the decoder reads at each step: what the
/// previous atom bonded to. Without it the recurrent state would have to
/// guess the graph's topology from the atom sequence alone.
pub fn links_width(max_atoms: usize) -> usize {
    3 + max_atoms
}

/// Records in `links` (one step's [`links_width`] vector) a bond of `order`
/// (1..=3) from the step's atom to the atom `steps_apart` steps before it:
/// a count per order, and the order at the bond's distance. Training targets
/// and sampling both write links through this.
pub fn record_link(links: &mut [f32], steps_apart: usize, order: usize, max_atoms: usize) {
    links[order - 1] += 1.0;
    links[3 + distance_index(steps_apart, max_atoms) as usize] = order as f32;
}

/// Free valence an atom can have, capped: the row of the bond head's
/// free-valence embedding.
pub fn free_valence_index(free: u8) -> i64 {
    free.min(MAX_FREE_VALENCE) as i64
}

/// Free valences past this share the last row of the bond head's embedding.
pub const MAX_FREE_VALENCE: u8 = 4;

/// Rows of the bond head's ring-closure adjustment: one for a bond that
/// closes no ring (the new atom's first), one per ring size from 3 to
/// [`LARGEST_RING_ROW`], larger rings sharing the last.
pub const RING_CLOSURE_ROWS: usize = LARGEST_RING_ROW - 1;

/// Rings closed past this size share the last ring-closure row.
const LARGEST_RING_ROW: usize = 9;

/// The ring-closure row of a bond that would close the smallest ring `ring`
/// ([`Construction::ring_closed_by`](super::construction::Construction::ring_closed_by)).
pub fn ring_closure_index(ring: Option<usize>) -> i64 {
    match ring {
        None => 0,
        Some(size) => (size.clamp(3, LARGEST_RING_ROW) - 2) as i64,
    }
}
