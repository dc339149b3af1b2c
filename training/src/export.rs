//! Small data files the browser app ships beside the weights.

use model_core::data::{Qm9Dataset, Split};
use model_core::rng::SeededRng;

/// Default size of the app's QM9 map: enough to show structure, small to download.
pub const MAP_MOLECULES: usize = 1500;

/// `n` molecules of QM9's test split, picked with `seed`, as `smiles,gap_ev`
/// lines (canonical SMILES, QM9's B3LYP gap in eV) under a header.
pub fn map_sample_csv(dataset: &Qm9Dataset, n: usize, seed: u64) -> String {
    let mut test: Vec<_> = dataset.split_records(Split::Test).collect();
    SeededRng::new(seed).shuffle(&mut test);
    test.truncate(n);
    #[derive(serde::Serialize)]
    struct Row<'a> {
        smiles: &'a str,
        gap_ev: f64,
    }
    crate::fsio::csv_text(test.iter().map(|record| Row {
        smiles: &record.canonical,
        gap_ev: crate::fsio::rounded(record.gap_ev(), 3),
    }))
}
