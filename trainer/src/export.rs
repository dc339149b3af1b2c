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
    let mut out = String::from("smiles,gap_ev\n");
    for record in test {
        out.push_str(&format!("{},{:.3}\n", record.canonical, record.gap_ev()));
    }
    out
}
