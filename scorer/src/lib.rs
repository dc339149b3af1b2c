//! The scorer: an HTTP service that computes HOMO-LUMO gaps with PySCF DFT.
//!
//! Rust takes requests, checks molecules with `model-core`'s chemistry rules,
//! keeps jobs and results in SQLite and drives a pool of Python worker
//! processes that do the quantum chemistry, on this machine or as tasks on a
//! Dask cluster.

pub mod api;
pub mod cluster;
pub mod guard;
pub mod limit;
pub mod openapi;
pub mod python;
pub mod serve;
pub mod store;
pub mod validate;
pub mod workers;

/// Locks a mutex, taking the data even if a panicking thread poisoned it (the
/// guarded maps and version records stay usable).
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
