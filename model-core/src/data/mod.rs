//! QM9 records and the prepared binary dataset (bytes in, bytes out).

pub mod dataset;
pub mod qm9;
pub mod split;

pub use dataset::{DatasetError, Qm9Dataset};
pub use qm9::{Geometry, HARTREE_TO_EV, Qm9Record, Qm9Row, RowError};
pub use split::{Split, SplitIndices};
