//! The scorer's HTTP API (v1) as serde types, the one description of it.
//!
//! The scorer serves these, the search's client and the browser app read
//! them, and with the `openapi` feature they derive the schemas of the
//! OpenAPI document the scorer generates (`scorer openapi`, committed as
//! `scorer/openapi.json` and checked by a test).

mod error;
mod health;
mod job;
mod level;
mod molecules;
mod request;

pub use error::{ErrorBody, InvalidMolecule};
pub use health::{Health, LevelInfo, Limits, QueueCounts};
pub use job::{DftResult, Disposition, Job, JobState, Submitted, SubmittedJob};
pub use level::{Level, UnknownLevel};
pub use molecules::{MoleculeResults, StoredResult};
pub use request::{Smiles, SubmitRequest};

/// The API's version, the prefix of every path.
pub const API_VERSION: &str = "v1";
/// Most molecules one request may carry by default.
pub const DEFAULT_MAX_PER_REQUEST: usize = 100;
/// Longest a client may ask `GET /v1/jobs/{id}?wait=` to hold the request, in seconds.
pub const MAX_WAIT_S: u64 = 60;
