//! The heavy-atom elements the project models.

use serde::{Deserialize, Serialize};

/// A heavy (non-hydrogen) element. QM9 has exactly these four.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum Element {
    C = 6,
    N = 7,
    O = 8,
    F = 9,
}

impl Element {
    pub const ALL: [Element; 4] = [Element::C, Element::N, Element::O, Element::F];

    pub fn symbol(self) -> &'static str {
        match self {
            Element::C => "C",
            Element::N => "N",
            Element::O => "O",
            Element::F => "F",
        }
    }

    pub fn atomic_number(self) -> u8 {
        self as u8
    }

    pub fn from_symbol(symbol: &str) -> Option<Element> {
        Element::ALL.into_iter().find(|e| e.symbol() == symbol)
    }

    pub fn from_atomic_number(z: u8) -> Option<Element> {
        Element::ALL.into_iter().find(|e| e.atomic_number() == z)
    }

    /// Position in [`Element::ALL`], for one-hot features and tables.
    pub fn index(self) -> usize {
        self as usize - Element::C as usize
    }
}

impl std::fmt::Display for Element {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.symbol())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_and_numbers_round_trip() {
        for (i, e) in Element::ALL.into_iter().enumerate() {
            assert_eq!(Element::from_symbol(e.symbol()), Some(e));
            assert_eq!(Element::from_atomic_number(e.atomic_number()), Some(e));
            assert_eq!(e.index(), i);
        }
        assert_eq!(Element::from_symbol("Cl"), None);
        assert_eq!(Element::from_symbol("c"), None);
        assert_eq!(Element::from_atomic_number(1), None);
    }
}
