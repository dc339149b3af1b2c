//! The gap search (`trainer optimize`): looks for molecules with a large
//! HOMO-LUMO gap, with DFT in the loop.
//!
//! Each round, one of three strategies climbs the surrogate's predicted gap
//! under the constraints: a population evolved by valence-checked graph edits
//! (the default: it reaches molecules the VAE never learned, such as
//! perfluorinated ethers), SNES search distributions over the VAE's latent
//! space, or the decoder fine-tuned as a policy (REINFORCE with a KL penalty).
//! The best new candidates go to the DFT oracle (the scorer) at a pre-screen
//! level; the surrogate is refitted on what DFT found. At the end the
//! finalists are verified at the `qm9` level, beside QM9's own best molecule
//! under the same constraints.

pub mod assess;
pub mod conditional;
pub mod constraints;
pub mod graph;
pub mod nes;
pub mod oracle;
pub mod report;
pub mod rounds;
pub mod run;
pub mod sdf;
pub mod state;

pub use constraints::{Constraints, parse_elements};
pub use run::{OptimizeOptions, SearchOutcome, optimize};
pub use state::{SearchSettings, SearchState, Strategy};
