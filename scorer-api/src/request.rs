//! What a client sends.

use serde::{Deserialize, Serialize};

use crate::Level;

/// `POST /v1/jobs`: one molecule or a list, taken all or nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    pub smiles: Smiles,
    /// `qm9` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
}

/// One SMILES or a list of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Smiles {
    One(String),
    Many(Vec<String>),
}

impl Smiles {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Smiles::One(s) => vec![s],
            Smiles::Many(list) => list,
        }
    }
}
