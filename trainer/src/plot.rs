//! PNG plots, drawn with plotters and an embedded DejaVu font so they render
//! the same on a machine with no fonts installed.

use std::path::Path;
use std::sync::Once;

use anyhow::{Result, anyhow};
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::train::EpochMetrics;

fn register_font() {
    static FONT: Once = Once::new();
    FONT.call_once(|| {
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

/// One panel of lines: (label, colour, points).
type Series<'a> = (&'a str, RGBColor, Vec<(f64, f64)>);

fn panel(
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    title: &str,
    series: &[Series],
) -> Result<()> {
    let points = series.iter().flat_map(|s| s.2.iter());
    let (x_max, y_min, y_max) = points
        .fold((1.0f64, f64::MAX, f64::MIN), |(x, lo, hi), &(px, py)| {
            (x.max(px), lo.min(py), hi.max(py))
        });
    let (y_min, y_max) = if y_min > y_max {
        (0.0, 1.0)
    } else {
        (y_min, y_max)
    };
    let pad = ((y_max - y_min) * 0.08).max(1e-6);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, (y_min - pad)..(y_max + pad))
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    for (label, colour, data) in series {
        let colour = *colour;
        chart
            .draw_series(LineSeries::new(
                data.iter().copied(),
                colour.stroke_width(2),
            ))
            .map_err(|e| anyhow!("{e}"))?
            .label(*label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// Reconstruction, KL and gap losses per epoch, train against validation.
pub fn training_curves(path: &Path, history: &[EpochMetrics]) -> Result<()> {
    register_font();
    let root = BitMapBackend::new(path, (1500, 450)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let panels = root.split_evenly((1, 3));
    let line = |f: fn(&EpochMetrics) -> f64| {
        history
            .iter()
            .map(|m| (m.epoch as f64, f(m)))
            .collect::<Vec<_>>()
    };
    let train = RGBColor(31, 119, 180);
    let valid = RGBColor(214, 39, 40);
    panel(
        &panels[0],
        "reconstruction (nats/molecule)",
        &[
            ("train", train, line(|m| m.train.reconstruction)),
            ("valid", valid, line(|m| m.valid.reconstruction)),
        ],
    )?;
    panel(
        &panels[1],
        "KL (nats/molecule)",
        &[
            ("train", train, line(|m| m.train.kl)),
            ("valid", valid, line(|m| m.valid.kl)),
        ],
    )?;
    panel(
        &panels[2],
        "gap head (standardised MSE)",
        &[
            ("train", train, line(|m| m.train.gap)),
            ("valid", valid, line(|m| m.valid.gap)),
        ],
    )?;
    root.present()
        .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(())
}
