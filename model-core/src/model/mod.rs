//! The graph VAE: decoding order, masked construction, teacher-forcing
//! targets, and the burn modules that learn them.

pub mod batch;
pub mod carried_exemplars;
pub mod config;
pub mod construction;
pub mod critic;
pub mod decoder;
pub mod decoding;
pub mod dropout;
pub mod encoder;
pub mod fused_gru;
pub mod inputs;
pub mod latent_path;
mod linalg;
pub mod mixture;
pub mod order;
pub mod packed_mixture;
pub mod pca;
pub mod posterior;
pub mod prior;
#[cfg(feature = "refine")]
pub mod refine;
pub mod sample;
pub mod surrogate;
pub mod target;
pub mod tensor_read;
pub mod vae;
pub mod weights;

pub use config::ModelConfig;
pub use vae::GraphVae;
