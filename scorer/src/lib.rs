//! The scorer: an HTTP service that computes HOMO-LUMO gaps with PySCF DFT.
//!
//! Rust takes requests, checks molecules with `model-core`'s chemistry rules,
//! keeps jobs and results in SQLite and drives a pool of Python worker
//! processes that do the quantum chemistry.

pub mod api;
pub mod guard;
pub mod level;
pub mod limit;
pub mod serve;
pub mod store;
pub mod validate;
pub mod workers;
