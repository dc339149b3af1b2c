//! What a search leaves behind: the ranked table (printed and CSV), a
//! summary, and two plots.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use scorer_api::Level;
use serde::Serialize;

use crate::state::{Scored, SearchState};
use plotters::chart::SeriesLabelPosition;
use training::fsio::{csv_text, rounded, write_atomically};
use training::plot::{self, BLUE, GREEN, GREY, Panel, RED};

/// DFT results, best first: the final level's, then the pre-screen's; failures last.
pub fn ranked(state: &SearchState) -> Vec<&Scored> {
    let mut rows: Vec<&Scored> = state.scored.iter().collect();
    let final_level = &state.settings.final_level;
    rows.sort_by(|a, b| {
        let key = |s: &Scored| (s.level != *final_level, s.calibrated_gap_ev.is_none());
        key(a).cmp(&key(b)).then_with(|| {
            b.calibrated_gap_ev
                .unwrap_or(f64::MIN)
                .total_cmp(&a.calibrated_gap_ev.unwrap_or(f64::MIN))
        })
    });
    rows
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub constraints: String,
    pub dft_calls: usize,
    pub prescreen_calls: usize,
    pub final_calls: usize,
    pub best_smiles: Option<String>,
    pub best_gap_ev: Option<f64>,
    pub top10_mean_gap_ev: Option<f64>,
    pub final_level: Level,
    pub qm9_best_smiles: Option<String>,
    /// QM9's own value (B3LYP/6-31G(2df,p) at its B3LYP geometry).
    pub qm9_best_gap_ev: Option<f64>,
    /// The same molecule through this pipeline (RDKit + MMFF geometry) at the final level.
    pub qm9_best_final_level_gap_ev: Option<f64>,
    pub surrogate_mae_initial_ev: Option<f64>,
    pub surrogate_mae_refit_ev: Option<f64>,
    pub surrogate_mae_prospective_first_round_ev: Option<f64>,
    pub surrogate_mae_prospective_last_round_ev: Option<f64>,
}

pub fn summary(state: &SearchState) -> Summary {
    let final_level = &state.settings.final_level;
    let finals: Vec<&Scored> = ranked(state)
        .into_iter()
        .filter(|s| s.level == *final_level && s.dft_gap_ev.is_some())
        .collect();
    let top: Vec<f64> = finals
        .iter()
        .take(10)
        .filter_map(|s| s.dft_gap_ev)
        .collect();
    let final_calls = state
        .scored
        .iter()
        .filter(|s| s.level == *final_level)
        .count();
    Summary {
        constraints: state.constraints.describe(),
        dft_calls: state.calls(),
        prescreen_calls: state.calls() - final_calls,
        final_calls,
        best_smiles: finals.first().map(|s| s.smiles.clone()),
        best_gap_ev: finals.first().and_then(|s| s.dft_gap_ev),
        top10_mean_gap_ev: (!top.is_empty()).then(|| top.iter().sum::<f64>() / top.len() as f64),
        final_level: *final_level,
        qm9_best_smiles: state.qm9_best.as_ref().map(|b| b.0.clone()),
        qm9_best_gap_ev: state.qm9_best.as_ref().map(|b| b.1),
        qm9_best_final_level_gap_ev: state.qm9_best_final.as_ref().and_then(|s| s.dft_gap_ev),
        surrogate_mae_initial_ev: state.fits.last().and_then(|f| f.mae_initial_ev),
        surrogate_mae_refit_ev: state.fits.last().and_then(|f| f.mae_after_ev),
        surrogate_mae_prospective_first_round_ev: state.fits.iter().find_map(|f| f.mae_before_ev),
        surrogate_mae_prospective_last_round_ev: state
            .fits
            .iter()
            .rev()
            .find_map(|f| f.mae_before_ev),
    }
}

/// The ranked results as CSV; an error message keeps its commas and quotes.
pub fn csv(state: &SearchState) -> String {
    #[derive(serde::Serialize)]
    struct Row<'a> {
        rank: usize,
        smiles: &'a str,
        predicted_gap_ev: f64,
        dft_gap_ev: Option<f64>,
        level: &'a str,
        novel: bool,
        heavy_atoms: usize,
        calibrated_gap_ev: Option<f64>,
        round: usize,
        calls: usize,
        error: &'a str,
    }
    csv_text(ranked(state).iter().enumerate().map(|(i, s)| Row {
        rank: i + 1,
        smiles: &s.smiles,
        predicted_gap_ev: rounded(s.predicted_gap_ev, 4),
        dft_gap_ev: s.dft_gap_ev.map(|g| rounded(g, 4)),
        level: s.level.name(),
        novel: s.novel,
        heavy_atoms: s.heavy_atoms,
        calibrated_gap_ev: s.calibrated_gap_ev.map(|g| rounded(g, 4)),
        round: s.round + 1,
        calls: s.calls,
        error: s.error.as_deref().unwrap_or(""),
    }))
}

/// The ranked table for the terminal: the top `rows` results and the summary.
pub fn table(state: &SearchState, rows: usize) -> String {
    let mut out = String::new();
    let summary = summary(state);
    writeln!(out, "search: {}", summary.constraints).unwrap();
    writeln!(
        out,
        "{:>4}  {:<28} {:>9} {:>9} {:>6} {:>5} {:>5}",
        "rank", "smiles", "predicted", "DFT gap", "level", "novel", "heavy"
    )
    .unwrap();
    for (i, s) in ranked(state).iter().take(rows).enumerate() {
        let dft = s
            .dft_gap_ev
            .map_or_else(|| "failed".to_string(), |g| format!("{g:.3}"));
        writeln!(
            out,
            "{:>4}  {:<28} {:>9.3} {:>9} {:>6} {:>5} {:>5}",
            i + 1,
            s.smiles,
            s.predicted_gap_ev,
            dft,
            s.level,
            if s.novel { "yes" } else { "no" },
            s.heavy_atoms
        )
        .unwrap();
    }
    let ev = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.3} eV"));
    writeln!(
        out,
        "best at the {} level: {} {} | top-10 mean {} | DFT calls {} ({} pre-screen + {} final)",
        summary.final_level,
        summary.best_smiles.as_deref().unwrap_or("none"),
        ev(summary.best_gap_ev),
        ev(summary.top10_mean_gap_ev),
        summary.dft_calls,
        summary.prescreen_calls,
        summary.final_calls
    )
    .unwrap();
    writeln!(
        out,
        "QM9's best under these constraints: {} {} in QM9, {} through this pipeline at the {} level",
        summary.qm9_best_smiles.as_deref().unwrap_or("none"),
        ev(summary.qm9_best_gap_ev),
        ev(summary.qm9_best_final_level_gap_ev),
        summary.final_level
    )
    .unwrap();
    writeln!(
        out,
        "surrogate MAE on the discovered molecules: {} before refitting, {} after",
        ev(summary.surrogate_mae_initial_ev),
        ev(summary.surrogate_mae_refit_ev)
    )
    .unwrap();
    out
}

/// Writes `results.csv`, `summary.json`, `best_gap.png` and `gap_distribution.png` to `dir`.
pub fn write_outputs(dir: &Path, state: &SearchState, qm9_gaps: &[f64]) -> Result<()> {
    write_atomically(&dir.join("results.csv"), csv(state).as_bytes())?;
    write_atomically(
        &dir.join("summary.json"),
        serde_json::to_string_pretty(&summary(state))?.as_bytes(),
    )?;
    best_gap_plot(&dir.join("best_gap.png"), state)?;
    distribution_plot(&dir.join("gap_distribution.png"), state, qm9_gaps)
}

fn best_gap_plot(path: &Path, state: &SearchState) -> Result<()> {
    let (mut best, mut best_final) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    let mut prescreen = Vec::new();
    let mut finals = Vec::new();
    for s in &state.scored {
        let Some(g) = s.calibrated_gap_ev else {
            continue;
        };
        if s.level == state.settings.prescreen_level {
            best = best.max(g);
            prescreen.push((s.calls as f64, best));
        } else {
            best_final = best_final.max(g);
            finals.push((s.calls as f64, best_final));
        }
    }
    let calls = state.calls().max(1) as f64;
    let mut series = vec![("best pre-screen gap (qm9 scale)", BLUE, prescreen)];
    if !finals.is_empty() {
        series.push(("best final-level gap", GREEN, finals));
    }
    if let Some((_, g)) = &state.qm9_best {
        series.push((
            "QM9's best (its own value)",
            RED,
            vec![(0.0, *g), (calls, *g)],
        ));
    }
    if let Some(g) = state.qm9_best_final.as_ref().and_then(|s| s.dft_gap_ev) {
        series.push((
            "QM9's best, this pipeline",
            GREY,
            vec![(0.0, g), (calls, g)],
        ));
    }
    plot::line_panels(
        path,
        &[Panel {
            title: "best DFT gap (eV) against oracle calls",
            x_desc: "DFT calls",
            series,
            legend: SeriesLabelPosition::LowerRight,
        }],
    )
}

/// A frequency polygon (fraction per 0.25 eV bin) of `values`.
fn density(values: &[f64], lo: f64, hi: f64) -> Vec<(f64, f64)> {
    let width = 0.25;
    let bins = ((hi - lo) / width).ceil() as usize;
    let mut counts = vec![0usize; bins];
    for v in values {
        let b = ((v - lo) / width).floor();
        if b >= 0.0 && (b as usize) < bins {
            counts[b as usize] += 1;
        }
    }
    let n = values.len().max(1) as f64;
    counts
        .iter()
        .enumerate()
        .map(|(i, &c)| (lo + (i as f64 + 0.5) * width, c as f64 / n))
        .collect()
}

fn distribution_plot(path: &Path, state: &SearchState, qm9_gaps: &[f64]) -> Result<()> {
    let scored: Vec<f64> = state
        .scored
        .iter()
        .filter(|s| s.level == state.settings.prescreen_level)
        .filter_map(|s| s.calibrated_gap_ev)
        .collect();
    let all = qm9_gaps
        .iter()
        .chain(&state.first_round_predictions)
        .chain(&state.last_round_predictions)
        .chain(&scored);
    let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let (lo, hi) = ((lo - 0.5).floor(), (hi + 0.5).ceil());
    plot::line_panels(
        path,
        &[Panel {
            title: "HOMO-LUMO gap distribution (eV)",
            x_desc: "gap (eV)",
            series: vec![
                (
                    "QM9 under the constraints (DFT)",
                    GREY,
                    density(qm9_gaps, lo, hi),
                ),
                (
                    "search, first round (surrogate)",
                    BLUE,
                    density(&state.first_round_predictions, lo, hi),
                ),
                (
                    "search, last round (surrogate)",
                    GREEN,
                    density(&state.last_round_predictions, lo, hi),
                ),
                (
                    "scored by DFT (pre-screen, qm9 scale)",
                    RED,
                    density(&scored, lo, hi),
                ),
            ],
            legend: SeriesLabelPosition::UpperLeft,
        }],
    )
}
