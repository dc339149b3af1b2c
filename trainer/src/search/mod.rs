//! `trainer optimize`: searches for molecules with a large HOMO-LUMO gap.
//!
//! Each round, either SNES search distributions over the VAE's latent space
//! or the decoder fine-tuned as a policy (REINFORCE with a KL penalty) climb
//! the surrogate's predicted gap under the constraints; the best new candidates go
//! to the DFT oracle (the scorer) at a pre-screen level; the surrogate is
//! refitted on what DFT found. At the end the finalists are verified at the
//! `qm9` level, beside QM9's own best molecule under the same constraints.

pub mod constraints;
pub mod nes;
pub mod policy;
pub mod report;
pub mod run;

pub use constraints::{Constraints, parse_elements};
pub use run::{OptimizeOptions, SearchOutcome, SearchSettings, SearchState, Strategy, optimize};
