//! The trainer's library: everything the `trainer` binary does, as functions
//! that tests can call.

pub mod backend;
pub mod bench;
pub mod bench_torch;
pub mod checkpoint;
pub mod decoder_policy;
pub mod evaluate;
pub mod examples;
pub mod exemplars;
pub mod export;
pub mod fsio;
pub mod gap_conditioning;
pub mod generate;
pub mod interpolation;
pub mod novelty_tuning;
pub mod plot;
pub mod predict;
pub mod prepare;
pub mod prior_critic;
pub mod prior_fit;
pub mod python;
pub mod qm9_index;
pub mod realism;
pub mod resumable;
pub mod schedule;
pub mod settings;
pub mod step;
pub mod surrogate;
pub mod train;
pub mod wheel;

#[cfg(test)]
mod test_support;
