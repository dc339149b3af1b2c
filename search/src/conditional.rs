//! The DFT check of gap-conditional generation (`trainer evaluate-gap
//! --scorer`): the novel samples of each target, scored by the scorer.

use anyhow::Result;
use scorer_api::Level;
use training::gap_conditioning::{TargetRow, mean};

use crate::oracle::{LevelMap, Outcome, Scorer};

/// Scores every row's novel samples with DFT at `level` and fills in their
/// gaps (mapped to the `qm9` level's scale) and each row's MAE.
pub fn score_novel(rows: &mut [TargetRow], scorer: &Scorer, level: Level) -> Result<()> {
    let map = LevelMap::for_level(level);
    let smiles: Vec<String> = rows.iter().flat_map(|r| r.novel.clone()).collect();
    let outcomes = scorer.score_all(&smiles, level, |i, outcome| {
        eprintln!("DFT {}/{}: {} {outcome:?}", i + 1, smiles.len(), smiles[i]);
    })?;
    let mut outcomes = outcomes.into_iter();
    for row in rows {
        row.novel_dft_gap_ev = (0..row.novel.len())
            .map(|_| match outcomes.next() {
                Some(Outcome::Done {
                    gap_ev,
                    converged: true,
                }) => Some(map.apply(gap_ev)),
                _ => None,
            })
            .collect();
        let errors: Vec<f64> = row
            .novel_dft_gap_ev
            .iter()
            .flatten()
            .map(|g| (g - row.target_ev).abs())
            .collect();
        row.mae_dft_ev = mean(&errors);
    }
    Ok(())
}
