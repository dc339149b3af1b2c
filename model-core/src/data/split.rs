//! The fixed, seeded train/validation/test split (80/10/10).

use serde::{Deserialize, Serialize};

use crate::rng::SeededRng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    Train,
    Valid,
    Test,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Train, Split::Valid, Split::Test];

    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
        }
    }
}

/// Record positions (into the dataset's record list) of each split, sorted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitIndices {
    pub seed: u64,
    pub train: Vec<u32>,
    pub valid: Vec<u32>,
    pub test: Vec<u32>,
}

impl SplitIndices {
    /// Shuffles `0..n` with `seed`, then cuts 80% / 10% / the rest.
    pub fn new(n: usize, seed: u64) -> SplitIndices {
        let mut order: Vec<u32> = (0..n as u32).collect();
        SeededRng::new(seed).shuffle(&mut order);
        let n_train = n * 8 / 10;
        let n_valid = n / 10;
        let cut = |range: std::ops::Range<usize>| {
            let mut part = order[range].to_vec();
            part.sort_unstable();
            part
        };
        SplitIndices {
            seed,
            train: cut(0..n_train),
            valid: cut(n_train..n_train + n_valid),
            test: cut(n_train + n_valid..n),
        }
    }

    pub fn get(&self, split: Split) -> &[u32] {
        match split {
            Split::Train => &self.train,
            Split::Valid => &self.valid,
            Split::Test => &self.test,
        }
    }

    pub fn total(&self) -> usize {
        self.train.len() + self.valid.len() + self.test.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_a_seeded_partition() {
        let s = SplitIndices::new(1000, 42);
        assert_eq!(
            (s.train.len(), s.valid.len(), s.test.len()),
            (800, 100, 100)
        );
        let mut all: Vec<u32> = Split::ALL.iter().flat_map(|&p| s.get(p).to_vec()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        assert_eq!(s, SplitIndices::new(1000, 42));
        assert_ne!(s.test, SplitIndices::new(1000, 43).test);
    }
}
