//! The body of every refusal.

use serde::{Deserialize, Serialize};

/// Every error the API answers: a message for people and a code for programs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// What went wrong and what to do.
    pub error: String,
    /// Stable, machine-readable: e.g. `invalid_molecule`, `queue_full`, `rate_limited`.
    pub code: String,
    /// With `invalid_molecule` for a list: each invalid molecule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<InvalidMolecule>>,
}

/// One molecule of a submitted list that was refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvalidMolecule {
    /// Its place in the submitted list.
    pub index: usize,
    pub smiles: String,
    pub error: String,
}
