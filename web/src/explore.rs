//! The Explore view: the decoded path between two molecules through the
//! latent space, and a map of QM9 molecules (the two leading principal
//! components of their latents) coloured by their gap.

use leptos::prelude::*;

use crate::browser;
use crate::generate::Drawn;
use crate::sample_view::MoleculeCard;
use crate::state::{Model, ModelState};
use model_core::chem::{Molecule, parse_smiles};
use model_core::model::latent_path::{PathOptions, StepSource, latent_path};
use model_core::model::pca::latent_map;

/// A small QM9 sample (test split) with its DFT gaps, shipped in `public/`.
const MAP_URL: &str = "qm9_map.csv";
const DEFAULT_FROM: &str = "CC(C)(C)C#N";
const DEFAULT_TO: &str = "OC1=CC=CN=C1";
const MAP_WIDTH: f64 = 640.0;
const MAP_HEIGHT: f64 = 400.0;

/// One molecule on the path: where, how it got there, what it is.
#[derive(Clone, Debug, PartialEq)]
struct PathPoint {
    t: f64,
    source: StepSource,
    /// Edits from the step before (0 for the first; above 1, a lower bound).
    edits: usize,
    molecule: Drawn,
}

/// The latent path between two molecules' mean latents, refined and bridged
/// so that neighbours are one edit apart where the model allows
/// (`model_core::model::latent_path`, as `trainer interpolate` makes it).
fn interpolate(model: Model, from: &str, to: &str, steps: usize) -> Result<Vec<PathPoint>, String> {
    let g = model
        .generator_untracked()
        .ok_or("the model is still loading")?;
    let parse = |s: &str, which: &str| {
        parse_smiles(s.trim()).map_err(|e| format!("the {which} molecule: {e}"))
    };
    let (a, b) = (parse(from, "first")?, parse(to, "second")?);
    let z = g.encode(&[&a, &b]);
    let (za, zb) = z.split_at(g.latent_size());
    let options = PathOptions::refined(steps, g.max_atoms());
    let path = latent_path(za, zb, options, |z| g.decode(z), |ms| g.encode(ms));
    let molecules: Vec<&Molecule> = path.iter().map(|s| &s.molecule).collect();
    let gaps = g.predict_gaps(&g.encode(&molecules));
    Ok(path
        .iter()
        .zip(gaps)
        .map(|(step, gap)| PathPoint {
            t: step.t,
            source: step.source,
            edits: step.edits,
            molecule: g.draw(&step.molecule, gap),
        })
        .collect())
}

/// What the strip says above each step.
fn step_label(p: &PathPoint) -> String {
    let how = match (p.source, p.edits) {
        (_, 0) => "start".to_string(),
        (StepSource::Bridged, _) => "edit".to_string(),
        (StepSource::Decoded, 1) => "decoded, one edit".to_string(),
        (StepSource::Decoded, n) => format!("decoded, {n}+ edits"),
    };
    format!("t = {:.2} · {how}", p.t)
}

/// A QM9 molecule placed on the latent map.
#[derive(Clone, Debug, PartialEq)]
struct MapPoint {
    x: f64,
    y: f64,
    qm9_gap_ev: f64,
    molecule: Drawn,
}

/// The QM9 sample placed on the plane of its latents' two leading
/// principal components.
#[derive(Clone, Debug, PartialEq)]
struct LatentMap {
    /// Left to right, so arrow keys walk the map in reading order.
    points: Vec<MapPoint>,
    /// Share of the latents' variance along each axis.
    explained: [f64; 2],
    /// The smallest and largest QM9 gap, for the colour scale.
    gap_range: (f64, f64),
}

/// Parses `smiles,gap_ev` lines (with a header).
fn parse_map_csv(text: &str) -> Result<Vec<(Molecule, f64)>, String> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let (smiles, gap) = line
                .split_once(',')
                .ok_or_else(|| format!("{MAP_URL} line {}: expected smiles,gap_ev", i + 2))?;
            let molecule =
                parse_smiles(smiles).map_err(|e| format!("{MAP_URL} line {}: {e}", i + 2))?;
            let gap = gap
                .trim()
                .parse::<f64>()
                .map_err(|e| format!("{MAP_URL} line {}: {e}", i + 2))?;
            Ok((molecule, gap))
        })
        .collect()
}

/// Fetches the QM9 sample, encodes it and lays it out (once the weights are in).
async fn load_map(model: Model) -> Result<LatentMap, String> {
    let g = model
        .ready()
        .await
        .ok_or("the model weights did not load")?;
    // Let "Encoding…" show before encoding blocks the page.
    browser::next_frame().await;
    let bytes = browser::fetch_bytes(MAP_URL).await?;
    let text = String::from_utf8(bytes).map_err(|e| e.to_string())?;
    let rows = parse_map_csv(&text)?;
    let molecules: Vec<&Molecule> = rows.iter().map(|(m, _)| m).collect();
    let z = g.encode(&molecules);
    let map = latent_map(&z, g.latent_size());
    let predicted = g.predict_gaps(&z);
    let (xs, ys): (Vec<f64>, Vec<f64>) = map.points.iter().map(|p| (p[0], p[1])).unzip();
    let scale = |v: &[f64], size: f64, flip: bool| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let span = (hi - lo).max(1e-9);
        v.iter()
            .map(|x| {
                let u = (x - lo) / span;
                12.0 + (if flip { 1.0 - u } else { u }) * (size - 24.0)
            })
            .collect::<Vec<f64>>()
    };
    let (xs, ys) = (scale(&xs, MAP_WIDTH, false), scale(&ys, MAP_HEIGHT, true));
    let gaps: Vec<f64> = rows.iter().map(|(_, g)| *g).collect();
    let lo = gaps.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = gaps.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut points: Vec<MapPoint> = rows
        .iter()
        .enumerate()
        .map(|(i, (m, gap))| MapPoint {
            x: xs[i],
            y: ys[i],
            qm9_gap_ev: *gap,
            molecule: g.draw(m, predicted[i]),
        })
        .collect();
    points.sort_by(|a, b| a.x.total_cmp(&b.x));
    Ok(LatentMap {
        points,
        explained: map.explained,
        gap_range: (lo, hi),
    })
}

/// A colour from dark blue (small gap) to yellow (large gap), as viridis runs.
fn gap_colour(gap: f64, (lo, hi): (f64, f64)) -> String {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let u = ((gap - lo) / (hi - lo).max(1e-9)).clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (u.floor() as usize).min(STOPS.len() - 2);
    let f = u - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(a.0, b.0),
        mix(a.1, b.1),
        mix(a.2, b.2)
    )
}

#[component]
pub fn ExploreView(active: Signal<bool>) -> impl IntoView {
    let model = Model::from_context();
    let from = RwSignal::new(DEFAULT_FROM.to_string());
    let to = RwSignal::new(DEFAULT_TO.to_string());
    let steps = RwSignal::new(8usize);
    let path = RwSignal::new(Ok::<Vec<PathPoint>, String>(Vec::new()));
    let selected = RwSignal::new(None::<usize>);

    // The map is made the first time the view is shown: `shown` turns true
    // then and stays so, and the resource loads once it does.
    let shown = Memo::new(move |was: Option<&bool>| was.copied().unwrap_or(false) || active.get());
    let map = LocalResource::new(move || {
        let wanted = shown.get();
        async move {
            if wanted {
                Some(load_map(model).await)
            } else {
                None
            }
        }
    });

    let on_interpolate = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        path.set(interpolate(
            model,
            &from.get_untracked(),
            &to.get_untracked(),
            steps.get_untracked(),
        ));
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let n = map.with_untracked(|m| match m {
            Some(Some(Ok(map))) => map.points.len(),
            _ => 0,
        });
        if n == 0 {
            return;
        }
        let step: isize = match ev.key().as_str() {
            "ArrowRight" | "ArrowDown" => 1,
            "ArrowLeft" | "ArrowUp" => -1,
            _ => return,
        };
        ev.prevent_default();
        let next = selected
            .get_untracked()
            .map_or(0, |i| (i as isize + step).rem_euclid(n as isize) as usize);
        selected.set(Some(next));
    };

    view! {
        <div id="explore">
            <h2>"Latent path between two molecules"</h2>
            <form class="controls" aria-label="interpolation" on:submit=on_interpolate>
                <label class="wide">"from"
                    <input type="text" id="interp-from" prop:value=move || from.get()
                        on:input=move |ev| from.set(event_target_value(&ev)) />
                </label>
                <label class="wide">"to"
                    <input type="text" id="interp-to" prop:value=move || to.get()
                        on:input=move |ev| to.set(event_target_value(&ev)) />
                </label>
                <label>"steps"
                    <input type="number" min="3" max="20" prop:value=move || steps.get().to_string()
                        on:input=move |ev| {
                            if let Ok(v) = event_target_value(&ev).parse::<usize>() {
                                steps.set(v.clamp(3, 20));
                            }
                        } />
                </label>
                <button type="submit" id="interpolate" disabled=move || model.state() != ModelState::Ready>"Interpolate"</button>
            </form>
            <p class="hint">"The greedy decodings of latents on the straight line between the two molecules' mean latents, split further where neighbours differ by more than one edit; a jump the decoder leaves is bridged by single edits, found by always going on from the molecule whose latent lies nearest the far side (marked edit)."</p>
            {move || match path.get() {
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                Ok(points) if points.is_empty() => ().into_any(),
                Ok(points) => {
                    let one_edit = points.iter().filter(|p| p.edits == 1).count();
                    let bridged = points.iter().filter(|p| p.source == StepSource::Bridged).count();
                    view! {
                        <p class="status" id="path-summary">{format!(
                            "{} molecules; {one_edit} of {} steps are one edit; {bridged} bridged by edits",
                            points.len(), points.len() - 1)}</p>
                        <div class="strip" aria-label="decoded path">
                            {points.into_iter().map(|p| {
                                let jump = p.edits > 1;
                                let source = match p.source {
                                    StepSource::Decoded => "decoded",
                                    StepSource::Bridged => "edit",
                                };
                                view! {
                                    <div class="step" class:jump=jump
                                        data-edits=p.edits.to_string() data-source=source>
                                        <span class="t">{step_label(&p)}</span>
                                        <MoleculeCard molecule=p.molecule />
                                    </div>
                                }
                            }).collect_view()}
                        </div>
                    }.into_any()
                }
            }}

            <h2>"Map of QM9 in the latent space"</h2>
            {move || match map.get().flatten() {
                None => view! { <p class="status" id="map-status">"Encoding QM9 molecules…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" id="map-status">{format!("The map could not be made: {e}")}</p> }.into_any(),
                Some(Ok(LatentMap { points, explained, gap_range })) => {
                    let count = points.len();
                    let detail = points.clone();
                    view! {
                        <p class="status" id="map-status">{format!(
                            "{count} QM9 test molecules, placed by the two leading principal components of their latents ({:.0}% and {:.0}% of the variance), coloured by their DFT gap from {:.1} eV (dark) to {:.1} eV (yellow). Click a point, or focus the map and use the arrow keys.",
                            explained[0] * 100.0, explained[1] * 100.0, gap_range.0, gap_range.1)}</p>
                        <div class="map-and-detail">
                            <svg class="map" viewBox=format!("0 0 {MAP_WIDTH} {MAP_HEIGHT}") tabindex="0" role="group"
                                aria-label="latent map of QM9 molecules" on:keydown=on_key>
                                {points.iter().enumerate().map(|(i, p)| view! {
                                    <circle cx=format!("{:.1}", p.x) cy=format!("{:.1}", p.y)
                                        r=move || if selected.get() == Some(i) { "7" } else { "3.2" }
                                        class:picked=move || selected.get() == Some(i)
                                        fill=gap_colour(p.qm9_gap_ev, gap_range)
                                        data-index=i.to_string()
                                        on:click=move |_| selected.set(Some(i)) />
                                }).collect_view()}
                            </svg>
                            <div class="map-detail" aria-live="polite">
                                {move || selected.get().and_then(|i| detail.get(i).cloned()).map(|p| view! {
                                    <p id="map-picked">{format!("QM9 DFT gap {:.2} eV", p.qm9_gap_ev)}</p>
                                    <MoleculeCard molecule=p.molecule />
                                })}
                            </div>
                        </div>
                    }.into_any()
                }
            }}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_rows_parse_and_bad_rows_say_where() {
        let rows = parse_map_csv("smiles,gap_ev\nCCO,8.1\nC#N,9.5\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].1, 9.5);
        let err = parse_map_csv("smiles,gap_ev\nCCO,8.1\nC1CC,7\n").unwrap_err();
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn colours_run_from_dark_to_yellow() {
        assert_eq!(gap_colour(2.0, (2.0, 10.0)), "#440154");
        assert_eq!(gap_colour(10.0, (2.0, 10.0)), "#fde725");
        assert_eq!(gap_colour(50.0, (2.0, 10.0)), "#fde725");
    }
}
