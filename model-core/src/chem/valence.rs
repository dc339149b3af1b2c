//! The valence table: which (element, formal charge) states a heavy atom may
//! take, and the total valence (sum of bond orders plus hydrogens) of each.
//!
//! This is the single source of truth for chemistry rules. Data checks, the
//! decoder's valence masks and the scorer's input validation all read it, so a
//! state added here is accepted everywhere at once.

use super::Element;

/// One allowed atom state. Every state is closed-shell: an atom with exactly
/// `valence` bond orders plus hydrogens has all its electrons paired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AtomState {
    pub element: Element,
    pub charge: i8,
    pub valence: u8,
}

const fn state(element: Element, charge: i8, valence: u8) -> AtomState {
    AtomState {
        element,
        charge,
        valence,
    }
}

/// All allowed states: the neutral ones, plus the charged states that QM9's
/// 443 zwitterions use (`[NH3+]`, `[NH2+]`, `[NH+]`, `[N-]`, `[O-]`, `[C-]`, `[CH-]`).
pub const ATOM_STATES: [AtomState; 8] = [
    state(Element::C, 0, 4),
    state(Element::C, -1, 3),
    state(Element::N, 0, 3),
    state(Element::N, 1, 4),
    state(Element::N, -1, 2),
    state(Element::O, 0, 2),
    state(Element::O, -1, 1),
    state(Element::F, 0, 1),
];

/// The valence of `element` with formal `charge`, or `None` if that state is
/// not allowed.
pub fn valence_of(element: Element, charge: i8) -> Option<u8> {
    ATOM_STATES
        .iter()
        .find(|s| s.element == element && s.charge == charge)
        .map(|s| s.valence)
}

/// The allowed formal charges of `element`, for error messages.
pub fn allowed_charges(element: Element) -> Vec<i8> {
    ATOM_STATES
        .iter()
        .filter(|s| s.element == element)
        .map(|s| s.charge)
        .collect()
}

/// The allowed charges of `element` as an error message writes them: "0 or -1".
pub fn describe_allowed_charges(element: Element) -> String {
    allowed_charges(element)
        .into_iter()
        .map(|c| {
            if c == 0 {
                "0".to_string()
            } else {
                format!("{c:+}")
            }
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The largest valence any state of `element` takes; an upper bound for masks.
pub fn max_valence(element: Element) -> u8 {
    ATOM_STATES
        .iter()
        .filter(|s| s.element == element)
        .map(|s| s.valence)
        .max()
        .expect("every element has a state")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutral_valences_are_the_textbook_ones() {
        assert_eq!(valence_of(Element::C, 0), Some(4));
        assert_eq!(valence_of(Element::N, 0), Some(3));
        assert_eq!(valence_of(Element::O, 0), Some(2));
        assert_eq!(valence_of(Element::F, 0), Some(1));
    }

    #[test]
    fn unlisted_states_are_rejected() {
        assert_eq!(valence_of(Element::F, -1), None);
        assert_eq!(valence_of(Element::O, 1), None);
        assert_eq!(valence_of(Element::C, 1), None);
        assert_eq!(allowed_charges(Element::N), vec![0, 1, -1]);
        assert_eq!(max_valence(Element::N), 4);
    }

    #[test]
    fn every_state_is_closed_shell() {
        // Electrons around the atom: valence electrons minus charge, plus one per
        // bond or hydrogen; a closed shell has an even count.
        for s in ATOM_STATES {
            let valence_electrons = s.element.atomic_number() as i32 - 2;
            let total = valence_electrons - s.charge as i32 + s.valence as i32;
            assert_eq!(total % 2, 0, "{s:?} is open-shell");
            assert!(total <= 8, "{s:?} breaks the octet");
        }
    }

    #[test]
    fn each_state_is_listed_once() {
        for (i, a) in ATOM_STATES.iter().enumerate() {
            for b in &ATOM_STATES[i + 1..] {
                assert!(a.element != b.element || a.charge != b.charge);
            }
        }
    }
}
