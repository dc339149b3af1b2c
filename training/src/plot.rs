//! PNG plots, drawn with plotters and an embedded DejaVu font so they render
//! the same on a machine with no fonts installed.

use std::path::Path;
use std::sync::Once;

use anyhow::{Result, anyhow};
use plotters::prelude::*;
use plotters::style::FontStyle;

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

/// One line: (label, colour, points).
pub type Series<'a> = (&'a str, RGBColor, Vec<(f64, f64)>);

/// A panel of lines: title, x-axis name and its lines.
pub struct Panel<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub series: Vec<Series<'a>>,
    /// Where the legend goes: a corner the lines leave free.
    pub legend: SeriesLabelPosition,
}

pub const BLUE: RGBColor = RGBColor(31, 119, 180);
pub const RED: RGBColor = RGBColor(214, 39, 40);
pub const GREEN: RGBColor = RGBColor(44, 160, 44);
pub const GREY: RGBColor = RGBColor(127, 127, 127);

fn panel(area: &DrawingArea<BitMapBackend, plotters::coord::Shift>, panel: &Panel) -> Result<()> {
    let (title, series) = (panel.title, &panel.series);
    let points = series.iter().flat_map(|s| s.2.iter());
    let (x_min, x_max, y_min, y_max) = points.fold(
        (0.0f64, 1.0f64, f64::MAX, f64::MIN),
        |(x_lo, x_hi, lo, hi), &(px, py)| (x_lo.min(px), x_hi.max(px), lo.min(py), hi.max(py)),
    );
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
        .build_cartesian_2d(x_min..x_max, (y_min - pad)..(y_max + pad))
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc(panel.x_desc)
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    for (label, colour, data) in series.iter() {
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
        .position(panel.legend.clone())
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// One line's points from a history of records: (x, y) of each.
pub fn points<T>(history: &[T], x: impl Fn(&T) -> f64, y: impl Fn(&T) -> f64) -> Vec<(f64, f64)> {
    history.iter().map(|m| (x(m), y(m))).collect()
}

/// Panels side by side in one PNG, 500 pixels wide each.
pub fn line_panels(path: &Path, panels: &[Panel]) -> Result<()> {
    register_font();
    let root = BitMapBackend::new(path, (500 * panels.len() as u32, 450)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    for (area, p) in root.split_evenly((1, panels.len())).iter().zip(panels) {
        panel(area, p)?;
    }
    root.present()
        .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(())
}
