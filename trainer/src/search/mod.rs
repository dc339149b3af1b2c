//! `trainer optimize`: searches for molecules with a large HOMO-LUMO gap.
//!
//! Each round, SNES search distributions over the VAE's latent space climb the
//! surrogate's predicted gap under the constraints; the best new candidates go
//! to the DFT oracle (the scorer) at a pre-screen level; the surrogate is
//! refitted on what DFT found. At the end the finalists are verified at the
//! `qm9` level, beside QM9's own best molecule under the same constraints.

pub mod constraints;
pub mod nes;
pub mod report;
pub mod run;

pub use constraints::{Constraints, parse_elements};
pub use run::{OptimizeOptions, SearchOutcome, SearchSettings, SearchState, optimize};
