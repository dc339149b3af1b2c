//! Building a molecule one decision at a time, with every choice that would
//! break the valence table or a structural rule masked out.
//!
//! The decoder and the teacher-forcing targets both go through this: add an
//! atom (one of the valence table's states) or stop; then, for the new atom,
//! a bond order (none, 1, 2, 3) to each earlier atom in turn. A bond is only
//! offered while both atoms have free valence and the graph with it breaks no
//! rule of [`crate::chem::structure`], and the last earlier atom that could
//! still take a bond must take one if the new atom has none yet, so every
//! finished construction is a valid, connected, realistic [`Molecule`].
//!
//! A broken structural rule stays broken as the graph grows (Bredt's rule
//! aside, which a bond making a bicyclic into a cage lifts), so checking each
//! step's graph is enough: no choice ever has to be undone, and no finished
//! molecule breaks a rule. The Bredt exception means a few cages (56 of
//! QM9's) cannot be built in canonical order; see `crate::chem::structure`.
//!
//! The net-charge rule is kept by budget: stop is offered only at zero
//! charge; a charged state only while the atoms still to come could cancel
//! the charge (each carries at most one); and while the molecule is charged,
//! no atom or bond may use up the last free valence a neutralising atom
//! could bond to, so one can always still attach (C⁻, with three bonds to
//! spare, fits wherever any valence is free; N⁺, with four, anywhere but on
//! a triple-bonded carbon; against a single charge any charged state does).

use crate::chem::structure::BondGraph;
use crate::chem::{ATOM_STATES, Atom, Bond, BondOrder, Element, Molecule};

/// Atom choices: the valence table's states in table order, then stop.
pub const ATOM_CHOICES: usize = ATOM_STATES.len() + 1;
pub const STOP: usize = ATOM_STATES.len();
/// Bond choices to an earlier atom: none, single, double, triple.
pub const BOND_CHOICES: usize = 4;

/// Which choices are allowed (`true`) at one decision.
pub type AtomMask = [bool; ATOM_CHOICES];
pub type BondMask = [bool; BOND_CHOICES];

/// The atom-state index of `atom` in the valence table.
pub fn state_index(atom: Atom) -> usize {
    ATOM_STATES
        .iter()
        .position(|s| s.element == atom.element && s.charge == atom.charge)
        .expect("a Molecule's atoms are in the valence table")
}

#[derive(Clone, Debug, Default)]
pub struct Construction {
    atoms: Vec<Atom>,
    /// Valence still free on each atom.
    free: Vec<u8>,
    bonds: Vec<Bond>,
    /// The same atoms and bonds, for the structural rules.
    graph: BondGraph,
    /// Whether the newest atom has been bonded to an earlier one yet.
    newest_bonded: bool,
    stopped: bool,
}

impl Construction {
    pub fn new() -> Construction {
        Construction::default()
    }

    pub fn atom_count(&self) -> usize {
        self.atoms.len()
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Valence still free on `atom`.
    pub fn free_valence(&self, atom: usize) -> u8 {
        self.free[atom]
    }

    /// Allowed atom choices: no stop before the first atom or while the
    /// molecule is charged; only stop at `max_atoms`, or when no earlier atom
    /// could bond to a new one. A state is offered only if some earlier atom
    /// with free valence may take a single bond from it (O may not bond to
    /// O, nor N to an alkyne's carbon), and if the atoms still to come could
    /// cancel the charge it leaves.
    pub fn atom_mask(&self, max_atoms: usize) -> AtomMask {
        let mut mask = [false; ATOM_CHOICES];
        if self.stopped {
            return mask;
        }
        let below_limit = self.atoms.len() < max_atoms;
        let atoms_after = max_atoms.saturating_sub(self.atoms.len() + 1) as i32;
        // Valence the new atom's first bond uses up (at worst, both ends
        // counted as room for a counter-charge).
        let attach = if self.atoms.is_empty() { 0 } else { 2 };
        let charge_now = self.net_charge();
        for (allowed, state) in mask.iter_mut().zip(ATOM_STATES) {
            let charge = charge_now + state.charge as i32;
            let room_after = self.counter_charge_room(charge) + state.valence as i32 - attach;
            *allowed = below_limit
                && charge.abs() <= atoms_after
                && (charge == 0 || room_after >= 1)
                && (self.atoms.is_empty()
                    || (0..self.atoms.len()).any(|target| {
                        self.free[target] > 0 && self.graph.leaf_bond_allowed(state.element, target)
                    }));
        }
        let may_grow = mask[..STOP].iter().any(|&a| a);
        mask[STOP] = (!self.atoms.is_empty() && charge_now == 0) || !may_grow;
        mask
    }

    /// The sum of the formal charges so far.
    fn net_charge(&self) -> i32 {
        self.atoms.iter().map(|a| a.charge as i32).sum()
    }

    /// Applies an atom choice (a state index, or [`STOP`]).
    pub fn choose_atom(&mut self, choice: usize) {
        if choice == STOP {
            self.stopped = true;
            return;
        }
        let state = ATOM_STATES[choice];
        self.atoms.push(Atom {
            element: state.element,
            charge: state.charge,
        });
        self.free.push(state.valence);
        self.graph.push_atom(state.element);
        self.newest_bonded = false;
    }

    /// Whether the newest atom may bond to `target` with `order`: by the
    /// structural rules, and, while the molecule is charged, leaving room for
    /// a counter-charge. The newest atom's first bond adds a leaf; a single
    /// one is judged by [`BondGraph::leaf_bond_allowed`]. A multiple leaf
    /// bond, or a later bond (which closes a ring), is checked on the whole
    /// graph.
    fn bond_allowed(&mut self, target: usize, order: BondOrder) -> bool {
        let newest = self.atoms.len() - 1;
        let leaf = !self.newest_bonded && order == BondOrder::Single;
        if leaf
            && !self
                .graph
                .leaf_bond_allowed(self.atoms[newest].element, target)
        {
            return false;
        }
        let charge = self.net_charge();
        if leaf && charge == 0 {
            return true;
        }
        let used = order.order();
        self.graph.push_bond(target, newest, order);
        self.free[newest] -= used;
        self.free[target] -= used;
        let allowed = (leaf || self.graph.obeys_rules())
            && (charge == 0 || self.counter_charge_room(charge) >= 1);
        self.free[newest] += used;
        self.free[target] += used;
        self.graph.pop_bond(target, newest);
        allowed
    }

    /// Free valence a counter-charge to `charge` could still bond to as a
    /// leaf: C⁻ against a positive charge, which bonds to anything, or N⁺
    /// against a negative one, which may not go on a triple-bonded carbon.
    fn counter_charge_room(&self, charge: i32) -> i32 {
        let counter = if charge < 0 { Element::N } else { Element::C };
        (0..self.atoms.len())
            .filter(|&atom| self.graph.leaf_bond_allowed(counter, atom))
            .map(|atom| self.free[atom] as i32)
            .sum()
    }

    /// Allowed bond choices between the newest atom and earlier atom `target`.
    /// Targets must be visited in increasing order. Takes `&mut self` to try
    /// each bond on the construction's graph; the graph is left as it was.
    pub fn bond_mask(&mut self, target: usize) -> BondMask {
        let newest = self.atoms.len() - 1;
        let cap = self.free[newest].min(self.free[target]).min(3) as usize;
        let mut mask = [false; BOND_CHOICES];
        for (choice, order) in BondOrder::ALL.into_iter().enumerate().take(cap) {
            mask[choice + 1] = self.bond_allowed(target, order);
        }
        let newest_element = self.atoms[newest].element;
        let later_room = (target + 1..newest)
            .any(|t| self.free[t] > 0 && self.graph.leaf_bond_allowed(newest_element, t));
        // "No bond" is allowed unless this is the last chance to connect.
        mask[0] = self.newest_bonded || later_room || !mask[1..].iter().any(|&a| a);
        mask
    }

    /// The size of the smallest ring a bond from the newest atom to earlier
    /// atom `target` would close, given the bonds chosen so far (`None`
    /// while the newest atom has none: its first bond closes no ring). What
    /// the decoder reads to judge a ring closure; ask before
    /// [`Self::choose_bond`] on `target`.
    pub fn ring_closed_by(&self, target: usize) -> Option<usize> {
        let newest = self.atoms.len() - 1;
        self.graph.smallest_ring_closed_by(newest, target)
    }

    /// Applies a bond choice (0 = none, else the bond order).
    pub fn choose_bond(&mut self, target: usize, choice: usize) {
        if choice == 0 {
            return;
        }
        let newest = self.atoms.len() - 1;
        let order = BondOrder::from_order(choice as u8).expect("choice 1..=3");
        self.free[newest] -= choice as u8;
        self.free[target] -= choice as u8;
        self.bonds.push(Bond::new(target, newest, order));
        self.graph.push_bond(target, newest, order);
        self.newest_bonded = true;
    }

    /// The molecule built so far. Valid by construction for any sequence of
    /// allowed choices; `None` only before the first atom.
    pub fn molecule(&self) -> Option<Molecule> {
        if self.atoms.is_empty() {
            return None;
        }
        Some(
            Molecule::new(self.atoms.clone(), self.bonds.clone())
                .expect("masked construction always yields a valid molecule"),
        )
    }
}
