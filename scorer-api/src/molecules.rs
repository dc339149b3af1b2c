//! Stored results, looked up by molecule.

use serde::{Deserialize, Serialize};

use crate::{DftResult, Level};

/// `GET /v1/molecules`: the results stored for a molecule, however it was spelled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MoleculeResults {
    /// As asked.
    pub smiles: String,
    pub canonical: String,
    /// The structural rules the molecule breaks (empty for most).
    pub warnings: Vec<String>,
    /// One per level computed so far.
    pub results: Vec<StoredResult>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredResult {
    pub level: Level,
    pub result: DftResult,
    /// What computed it: `scorer` (version) and `worker` (`pyscf`, `rdkit`,
    /// `python`, `engine`; on a Dask cluster also `node`, `address`, `host`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub versions: serde_json::Value,
    /// Seconds since the Unix epoch.
    pub computed_at: f64,
}
