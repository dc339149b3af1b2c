//! The trainer's library: everything the `trainer` binary does, as functions
//! that tests can call.

pub mod backend;
pub mod bench;
pub mod evaluate;
pub mod fsio;
pub mod generate;
pub mod plot;
pub mod prepare;
pub mod python;
pub mod train;
pub mod wheel;
