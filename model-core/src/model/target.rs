//! Teacher-forcing targets: a molecule replayed through [`Construction`] in
//! canonical BFS order, with the mask in force at every decision.

use super::construction::{AtomMask, BondMask, Construction, STOP, state_index};
use super::inputs::{links_width, record_link};
use super::order::canonical_bfs_order;
use crate::chem::ATOM_STATES;
use crate::chem::Molecule;

/// One bond decision: between the atom added at step `new` and the earlier
/// atom `target` (both positions in decoding order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BondDecision {
    pub new: usize,
    pub target: usize,
    /// 0 = no bond, else the bond order.
    pub choice: usize,
    pub mask: BondMask,
    /// The smallest ring a bond here would close, given the step's earlier
    /// choices ([`Construction::ring_closed_by`]).
    pub ring: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodingTarget {
    /// Atom choices, one per step: the atoms in decoding order, then [`STOP`].
    pub atoms: Vec<usize>,
    pub atom_masks: Vec<AtomMask>,
    pub bonds: Vec<BondDecision>,
}

impl DecodingTarget {
    pub fn atom_count(&self) -> usize {
        self.atoms.len() - 1
    }

    /// Rebuilds the molecule by applying these choices to a fresh
    /// [`Construction`] (the masks are not consulted).
    pub fn replay(&self) -> Molecule {
        let mut construction = Construction::new();
        let mut bonds = self.bonds.iter();
        for &choice in &self.atoms {
            construction.choose_atom(choice);
            if choice == STOP {
                break;
            }
            for _ in 0..construction.atom_count() - 1 {
                let b = bonds.next().expect("a bond decision per earlier atom");
                construction.choose_bond(b.target, b.choice);
            }
        }
        construction
            .molecule()
            .expect("a target has at least one atom")
    }

    /// What the atom at `step` bonded to among earlier atoms
    /// ([`record_link`]): the decoder's view of what the previous step built.
    pub fn links(&self, step: usize, max_atoms: usize) -> Vec<f32> {
        let mut links = vec![0.0; links_width(max_atoms)];
        for b in self.bonds.iter().filter(|b| b.new == step && b.choice > 0) {
            record_link(&mut links, b.new - b.target, b.choice, max_atoms);
        }
        links
    }

    /// For each bond decision, the earlier atom's free valence before its
    /// step, as the construction saw it.
    pub fn free_valence_before_bonds(&self) -> Vec<u8> {
        let mut free: Vec<u8> = self.atoms[..self.atom_count()]
            .iter()
            .map(|&s| ATOM_STATES[s].valence)
            .collect();
        self.bonds
            .iter()
            .map(|b| {
                // Each earlier atom gets one decision per step, so updating
                // as we go never changes a value read later in the same step.
                let before = free[b.target];
                free[b.target] -= b.choice as u8;
                free[b.new] -= b.choice as u8;
                before
            })
            .collect()
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the molecule has {atoms} heavy atoms; the model builds at most {max}")]
    TooLarge { atoms: usize, max: usize },
    #[error("step {step}: choice {choice} is masked out (mask {mask:?})")]
    Masked {
        step: usize,
        choice: usize,
        mask: Vec<bool>,
    },
}

/// The choices that build `molecule` in the canonical decoding order (teacher forcing).
pub fn decoding_target(
    molecule: &Molecule,
    max_atoms: usize,
) -> Result<DecodingTarget, TargetError> {
    decoding_target_in_order(molecule, &canonical_bfs_order(molecule), max_atoms)
}

/// The choices that build `molecule` adding its atoms in `order`. A decoded
/// molecule keeps its atoms in the order they were added, so with the identity
/// order this replays exactly the trajectory that sampled it (for policy gradients).
pub fn decoding_target_in_order(
    molecule: &Molecule,
    order: &[usize],
    max_atoms: usize,
) -> Result<DecodingTarget, TargetError> {
    let n = molecule.heavy_atom_count();
    if n > max_atoms {
        return Err(TargetError::TooLarge {
            atoms: n,
            max: max_atoms,
        });
    }
    let mut position = vec![0; n];
    for (p, &atom) in order.iter().enumerate() {
        position[atom] = p;
    }
    let mut bond_between = vec![vec![0usize; n]; n];
    for b in molecule.bonds() {
        let (x, y) = (position[b.a as usize], position[b.b as usize]);
        bond_between[x][y] = b.order.order() as usize;
        bond_between[y][x] = b.order.order() as usize;
    }
    let mut construction = Construction::new();
    let mut target = DecodingTarget {
        atoms: Vec::with_capacity(n + 1),
        atom_masks: Vec::with_capacity(n + 1),
        bonds: Vec::new(),
    };
    for step in 0..=n {
        let choice = if step < n {
            state_index(molecule.atoms()[order[step]])
        } else {
            STOP
        };
        let mask = construction.atom_mask(max_atoms);
        if !mask[choice] {
            return Err(TargetError::Masked {
                step,
                choice,
                mask: mask.to_vec(),
            });
        }
        construction.choose_atom(choice);
        target.atoms.push(choice);
        target.atom_masks.push(mask);
        if choice == STOP {
            break;
        }
        for (earlier, &choice) in bond_between[step][..step].iter().enumerate() {
            let mask = construction.bond_mask(earlier);
            let ring = construction.ring_closed_by(earlier);
            if !mask[choice] {
                return Err(TargetError::Masked {
                    step,
                    choice,
                    mask: mask.to_vec(),
                });
            }
            construction.choose_bond(earlier, choice);
            target.bonds.push(BondDecision {
                new: step,
                target: earlier,
                choice,
                mask,
                ring,
            });
        }
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chem::StructuralRule::NetCharge;
    use crate::chem::test_graphs::{CUBIC_8, cage};
    use crate::chem::{Element, canonical_smiles, parse_smiles, write_random_smiles};
    use crate::model::construction::{ATOM_CHOICES, BOND_CHOICES};
    use crate::rng::SeededRng;

    #[test]
    fn targets_replay_to_the_same_molecule_whatever_the_spelling() {
        for s in [
            "CCO",
            "c1ccccc1",
            "[NH3+]CC([O-])=O",
            "C12CC1C2",
            "N#CC(=O)N",
            "FC(F)(F)CC(F)(F)F",
        ] {
            let m = parse_smiles(s).unwrap();
            let t = decoding_target(&m, 9).unwrap();
            assert_eq!(canonical_smiles(&t.replay()), canonical_smiles(&m), "{s}");
            let mut rng = SeededRng::new(5);
            let other = parse_smiles(&write_random_smiles(&m, &mut rng)).unwrap();
            let t2 = decoding_target(&other, 9).unwrap();
            assert_eq!(t2.atoms, t.atoms, "{s}: order depends on spelling");
            assert_eq!(t2.bonds, t.bonds, "{s}: order depends on spelling");
        }
    }

    /// Each decision records the smallest ring its bond would close: none
    /// until the new atom has a bond in its step, and for a bond taken, the
    /// smallest ring through it in the graph it completes (found here by a
    /// search that skips the bond, not the construction's own).
    #[test]
    fn bond_decisions_record_the_ring_their_bond_would_close() {
        use crate::chem::structure::BondGraph;
        let cyclobutane = decoding_target(&parse_smiles("C1CCC1").unwrap(), 9).unwrap();
        let rings: Vec<_> = cyclobutane.bonds.iter().map(|b| b.ring).collect();
        let choices: Vec<_> = cyclobutane.bonds.iter().map(|b| b.choice).collect();
        assert_eq!(choices, [1, 1, 0, 0, 1, 1]);
        assert_eq!(rings, [None, None, Some(3), None, None, Some(4)]);
        let mut closures = 0;
        for s in [
            "C12CC1C2",
            "c1ccc2c(c1)CC2",
            "O=C1CC2(C1)CO2",
            "CC1(C)OC1C#N",
            "C#CC#N",
        ] {
            let target = decoding_target(&parse_smiles(s).unwrap(), 9).unwrap();
            let mut construction = Construction::new();
            let mut decisions = target.bonds.iter();
            for &atom in &target.atoms[..target.atom_count()] {
                construction.choose_atom(atom);
                let mut bonded = false;
                for _ in 0..construction.atom_count() - 1 {
                    let b = decisions.next().unwrap();
                    assert_eq!(b.ring.is_some(), bonded, "{s}: {b:?}");
                    construction.choose_bond(b.target, b.choice);
                    if b.choice > 0 && bonded {
                        let graph = BondGraph::of(&construction.molecule().unwrap());
                        assert_eq!(
                            b.ring,
                            graph.smallest_ring_through_bond(b.target, b.new),
                            "{s}: {b:?}"
                        );
                        closures += 1;
                    }
                    bonded |= b.choice > 0;
                }
            }
        }
        // One closure per ring (bonds − atoms + 1): 2 + 2 + 2 + 1 + 0.
        assert_eq!(closures, 7);
    }

    /// The teacher-forcing order comes from the chemistry core's canonical
    /// numbering, so it holds on the regular cages where picking one atom of
    /// a tied class is not order-free.
    #[test]
    fn regular_cages_give_one_decoding_sequence_whatever_the_input_order() {
        let mut rng = SeededRng::new(7);
        for (i, edges) in CUBIC_8.iter().enumerate() {
            let identity: Vec<usize> = (0..8).collect();
            let expected = decoding_target(&cage(edges, &identity), 9).unwrap();
            for _ in 0..30 {
                let mut relabel = identity.clone();
                rng.shuffle(&mut relabel);
                let target = decoding_target(&cage(edges, &relabel), 9).unwrap();
                assert_eq!(target.bonds, expected.bonds, "cubic graph {i}");
            }
        }
    }

    #[test]
    fn masks_force_connection_and_respect_valence() {
        let mut c = Construction::new();
        assert!(!c.atom_mask(9)[STOP], "no empty molecules");
        c.choose_atom(state_index(crate::chem::Atom::neutral(
            crate::chem::Element::F,
        )));
        let mask = c.atom_mask(9);
        assert!(mask[STOP] && mask[0]);
        c.choose_atom(0); // carbon
        // Fluorine has one free valence: single bond only, and it must be taken.
        assert_eq!(c.bond_mask(0), [false, true, false, false]);
        c.choose_bond(0, 1);
        // F-C: F is saturated; a third atom can still bond to C.
        assert!(c.atom_mask(9)[0]);
        assert!(
            c.atom_mask(2)[STOP] && !c.atom_mask(2)[0],
            "size limit forces stop"
        );
    }

    #[test]
    fn a_charged_atom_needs_room_for_its_counter_charge() {
        let state = |element, charge| state_index(crate::chem::Atom { element, charge });
        let ammonium = state(crate::chem::Element::N, 1);
        let oxide = state(crate::chem::Element::O, -1);
        assert!(!Construction::new().atom_mask(1)[ammonium], "no room left");
        assert!(Construction::new().atom_mask(2)[ammonium]);
        let mut c = Construction::new();
        c.choose_atom(ammonium);
        let mask = c.atom_mask(2);
        assert!(!mask[STOP], "a charged molecule may not stop");
        assert!(mask[oxide] && !mask[0] && !mask[ammonium], "{mask:?}");
        c.choose_atom(oxide);
        c.choose_bond(0, 1);
        assert!(c.atom_mask(2)[STOP]);
        assert_eq!(c.molecule().unwrap().net_charge(), 0);
    }

    #[test]
    fn random_choices_under_masks_always_give_valid_realistic_molecules() {
        let mut rng = SeededRng::new(11);
        let (mut rings, mut zwitterions) = (0, 0);
        for _ in 0..2000 {
            let mut c = Construction::new();
            loop {
                let mask = c.atom_mask(9);
                let allowed: Vec<usize> = (0..ATOM_CHOICES).filter(|&i| mask[i]).collect();
                let choice = allowed[rng.below(allowed.len())];
                c.choose_atom(choice);
                if choice == STOP {
                    break;
                }
                for target in 0..c.atom_count() - 1 {
                    let mask = c.bond_mask(target);
                    let allowed: Vec<usize> = (0..BOND_CHOICES).filter(|&i| mask[i]).collect();
                    c.choose_bond(target, allowed[rng.below(allowed.len())]);
                }
            }
            // `molecule()` checks validity itself and panics otherwise.
            let m = c.molecule().unwrap();
            assert!(m.heavy_atom_count() <= 9);
            // Every rule but those only the finished molecule can be judged
            // by, which sampling keeps to by drawing again.
            let kept_at_each_step: Vec<_> = m
                .structural_violations()
                .into_iter()
                .filter(|v| !v.rule.judged_on_finished_molecule() || v.rule == NetCharge)
                .collect();
            assert_eq!(kept_at_each_step, [], "{}", canonical_smiles(&m));
            rings += m.ring_count();
            zwitterions += m.atoms().iter().any(|a| a.charge != 0) as usize;
        }
        // Random choices close many rings and charge many atoms (half the
        // states are charged), so the rules and the charge budget were
        // really exercised.
        assert!(rings > 300, "{rings} rings");
        assert!(zwitterions > 300, "{zwitterions} zwitterions");
    }

    /// Builds atoms `elements` in order, bonding each to the atoms listed.
    fn build(elements: &[Element], bonds: &[&[(usize, usize)]]) -> Construction {
        let mut c = Construction::new();
        for (i, &element) in elements.iter().enumerate() {
            c.choose_atom(state_index(crate::chem::Atom::neutral(element)));
            for &(target, order) in bonds[i] {
                assert!(c.bond_mask(target)[order], "atom {i} to {target}");
                c.choose_bond(target, order);
            }
        }
        c
    }

    #[test]
    fn masks_refuse_what_the_structural_rules_forbid() {
        use Element::*;
        // C-C-C, then the third carbon closing a ring: only a single bond.
        let mut c = build(&[C, C, C], &[&[], &[(0, 1)], &[(1, 1)]]);
        assert_eq!(
            c.bond_mask(0),
            [true, true, false, false],
            "no cyclopropene"
        );
        // C=C-C closing a 3-ring over an existing double bond: refused outright.
        let mut c = build(&[C, C, C], &[&[], &[(0, 2)], &[(1, 1)]]);
        assert_eq!(c.bond_mask(0), [true, false, false, false]);
        // An O after a lone O: the O-O bond is masked, so is the O itself.
        let mut c = build(&[O, C], &[&[], &[(0, 1)]]);
        c.choose_atom(state_index(crate::chem::Atom::neutral(O)));
        assert_eq!(c.bond_mask(0), [true, false, false, false]);
        assert_eq!(c.bond_mask(1), [false, true, true, false]);
        // C(F)(F)(F)O: only the O has free valence, so no O may follow.
        let only_oxygen_free = build(
            &[C, F, F, F, O],
            &[&[], &[(0, 1)], &[(0, 1)], &[(0, 1)], &[(0, 1)]],
        );
        let mask = only_oxygen_free.atom_mask(9);
        let oxygen = state_index(crate::chem::Atom::neutral(O));
        assert!(!mask[oxygen] && mask[0] && mask[STOP]);
    }
}
