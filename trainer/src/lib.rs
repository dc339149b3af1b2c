//! The trainer's library: everything the `trainer` binary does, as functions
//! that tests can call.

pub mod bench;
pub mod prepare;
pub mod python;
pub mod wheel;
