//! The search's verified molecules as an SD file: for each molecule verified
//! at the final level, best first, the 3D geometry the scorer's DFT ran on
//! (fetched from the scorer's store) with the search's figures as data items.

use std::path::Path;

use anyhow::Result;
use model_core::chem::sdf_record;
use serde_json::Value;

use super::report::ranked;
use super::run::SearchState;
use crate::fsio::write_atomically;

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
    stored: impl Fn(&str, &str) -> Result<Option<Value>>,
) -> Result<SdfWritten> {
    let level = &state.settings.final_level;
    let mut out = String::new();
    let mut written = SdfWritten::default();
    for scored in ranked(state) {
        let (Some(gap), true) = (scored.dft_gap_ev, &scored.level == level) else {
            continue;
        };
        let Some(result) = stored(&scored.smiles, level)? else {
            written.skipped.push((
                scored.smiles.clone(),
                "the scorer has no stored result".into(),
            ));
            continue;
        };
        let Some(molblock) = result["molblock"].as_str() else {
            written.skipped.push((
                scored.smiles.clone(),
                "stored before the scorer kept geometries with bonds; re-score it".into(),
            ));
            continue;
        };
        let number = |key: &str| {
            result[key]
                .as_f64()
                .map_or(String::new(), |v| format!("{v:.6}"))
        };
        let properties = [
            ("SMILES", scored.smiles.clone()),
            ("level", level.clone()),
            (
                "method",
                format!(
                    "{} {}",
                    result["method"].as_str().unwrap_or(""),
                    result["basis"].as_str().unwrap_or("")
                ),
            ),
            ("dft_homo_ev", number("homo_ev")),
            ("dft_lumo_ev", number("lumo_ev")),
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
            (
                "geometry",
                result["geometry"].as_str().unwrap_or("").to_string(),
            ),
        ];
        out.push_str(&sdf_record(molblock, &properties)?);
        written.records += 1;
    }
    write_atomically(path, out.as_bytes())?;
    Ok(written)
}
