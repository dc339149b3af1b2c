//! The search's verified molecules as an SD file: for each molecule verified
//! at the final level, best first, the 3D geometry the scorer's DFT ran on
//! (fetched from the scorer's store) with the search's figures as data items.

use std::path::Path;

use anyhow::Result;
use model_core::chem::sdf_record;
use scorer_api::{DftResult, Level};

use crate::report::ranked;
use crate::state::SearchState;
use training::fsio::write_atomically;

/// What was written: records, and molecules left out (with the reason).
#[derive(Debug, Default)]
pub struct SdfWritten {
    pub records: usize,
    pub skipped: Vec<(String, String)>,
}

/// Writes the SD file to `path`. `stored` gives the scorer's stored result
/// for a canonical SMILES at a level (`None` when it has none).
pub fn write_verified_sdf(
    path: &Path,
    state: &SearchState,
    stored: impl Fn(&str, Level) -> Result<Option<DftResult>>,
) -> Result<SdfWritten> {
    let level = state.settings.final_level;
    let mut out = String::new();
    let mut written = SdfWritten::default();
    for scored in ranked(state) {
        let (Some(gap), true) = (scored.dft_gap_ev, scored.level == level) else {
            continue;
        };
        let Some(result) = stored(&scored.smiles, level)? else {
            written.skipped.push((
                scored.smiles.clone(),
                "the scorer has no stored result".into(),
            ));
            continue;
        };
        let Some(molblock) = result.molblock.as_deref() else {
            written.skipped.push((
                scored.smiles.clone(),
                "stored before the scorer kept geometries with bonds; re-score it".into(),
            ));
            continue;
        };
        let properties = [
            ("SMILES", scored.smiles.clone()),
            ("level", level.name().to_string()),
            ("method", format!("{} {}", result.method, result.basis)),
            ("dft_homo_ev", format!("{:.6}", result.homo_ev)),
            ("dft_lumo_ev", format!("{:.6}", result.lumo_ev)),
            ("dft_gap_ev", format!("{gap:.6}")),
            (
                "gap_ev_qm9_scale",
                scored
                    .calibrated_gap_ev
                    .map_or(String::new(), |g| format!("{g:.6}")),
            ),
            (
                "predicted_gap_ev",
                format!("{:.6}", scored.predicted_gap_ev),
            ),
            ("novel", scored.novel.to_string()),
            ("round", scored.round.to_string()),
            ("geometry", result.geometry.clone()),
        ];
        out.push_str(&sdf_record(molblock, &properties)?);
        written.records += 1;
    }
    write_atomically(path, out.as_bytes())?;
    Ok(written)
}
