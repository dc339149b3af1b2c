//! Shared core of the project, built natively and for `wasm32-unknown-unknown`.
//!
//! It does no I/O beyond bytes in and bytes out, so the trainer, the scorer and
//! the browser app all use the same chemistry rules and data formats.

pub mod chem;
pub mod data;
pub mod model;
pub mod rng;
