//! Building a molecule one decision at a time, with every choice that would
//! break the valence table masked out.
//!
//! The decoder and the teacher-forcing targets both go through this: add an
//! atom (one of the valence table's states) or stop; then, for the new atom,
//! a bond order (none, 1, 2, 3) to each earlier atom in turn. A bond is only
//! offered while both atoms have free valence, and the last earlier atom that
//! could still take a bond must take one if the new atom has none yet, so every
//! finished construction is a valid, connected [`Molecule`].

use crate::chem::{ATOM_STATES, Atom, Bond, BondOrder, Molecule};

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

    /// Allowed atom choices: no stop before the first atom; only stop at
    /// `max_atoms`, or when no earlier atom could bond to a new one.
    pub fn atom_mask(&self, max_atoms: usize) -> AtomMask {
        let mut mask = [false; ATOM_CHOICES];
        if self.stopped {
            return mask;
        }
        let room = self.atoms.is_empty() || self.free.iter().any(|&f| f > 0);
        let may_grow = self.atoms.len() < max_atoms && room;
        for allowed in mask.iter_mut().take(STOP) {
            *allowed = may_grow;
        }
        mask[STOP] = !self.atoms.is_empty() || !may_grow;
        mask
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
        self.newest_bonded = false;
    }

    /// Allowed bond choices between the newest atom and earlier atom `target`.
    /// Targets must be visited in increasing order.
    pub fn bond_mask(&self, target: usize) -> BondMask {
        let newest = self.atoms.len() - 1;
        let cap = self.free[newest].min(self.free[target]).min(3) as usize;
        let mut mask = [false; BOND_CHOICES];
        for allowed in mask.iter_mut().take(cap + 1).skip(1) {
            *allowed = true;
        }
        let later_room = self.free[target + 1..newest].iter().any(|&f| f > 0);
        // "No bond" is allowed unless this is the last chance to connect.
        mask[0] = self.newest_bonded || later_room || cap == 0;
        mask
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
