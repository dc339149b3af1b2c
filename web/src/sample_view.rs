//! The Generate view: sample N molecules with a seed, draw them, copy,
//! download, or send them to the Score view.

use leptos::prelude::*;

use crate::browser;
use crate::generate::{self, BackendKind, Drawn};
use crate::score_view::ScoreQueue;
use crate::state::{Model, ModelState};

const FIRST_BATCH: usize = 100;

/// What the form asks for when it is submitted.
#[derive(Clone, Debug, PartialEq)]
struct SampleRequest {
    /// `None`: `?backend=cpu|webgpu`, else the model's preference.
    backend: Option<BackendKind>,
    count: usize,
    seed: u64,
    temperature: f32,
    /// `None`: the prior; a gap in eV: molecules near it.
    target_gap: Option<f64>,
}

/// A finished sampling run: the molecules, where it ran and how long it took.
#[derive(Clone, Debug, PartialEq)]
struct Batch {
    molecules: Vec<Drawn>,
    backend: BackendKind,
    sample_ms: f64,
    draw_ms: f64,
}

/// Waits for the weights, then samples and draws what `request` asks for.
async fn sample_and_draw(model: Model, request: SampleRequest) -> Result<Batch, String> {
    let Some(generator) = model.ready().await else {
        return Err("the model weights did not load".into());
    };
    let backend =
        request
            .backend
            .unwrap_or_else(|| match browser::query_param("backend").as_deref() {
                Some("cpu") => BackendKind::Cpu,
                Some("webgpu") if generator.has_webgpu() => BackendKind::WebGpu,
                _ => generator.preferred_backend(),
            });
    // Let the page show that sampling started before the first batch blocks it.
    browser::next_frame().await;
    let start = browser::now_ms();
    let (samples, ran_on) = generator
        .sample(
            backend,
            request.count,
            request.seed,
            request.temperature,
            request.target_gap,
        )
        .await?;
    let sampled = browser::now_ms();
    let molecules: Vec<Drawn> = samples.iter().map(|s| generator.draw_sample(s)).collect();
    let done = browser::now_ms();
    browser::set_title(&format!("molgap: {} molecules", molecules.len()));
    Ok(Batch {
        molecules,
        backend: ran_on,
        sample_ms: sampled - start,
        draw_ms: done - sampled,
    })
}

/// The molecules on screen: the last batch's (none before the first, or
/// after a failed run).
fn shown_molecules(last: &Option<Result<Batch, String>>) -> &[Drawn] {
    match last {
        Some(Ok(batch)) => &batch.molecules,
        _ => &[],
    }
}

#[component]
pub fn GenerateView() -> impl IntoView {
    let model = Model::from_context();
    let count = RwSignal::new(FIRST_BATCH);
    let seed = RwSignal::new(0u64);
    let temperature = RwSignal::new(1.0f32);
    // Empty: sample the prior; a number: molecules near that gap.
    let target_gap = RwSignal::new(None::<f64>);
    // The backend menu; `None` until the first run picks one.
    let backend = RwSignal::new(None::<BackendKind>);
    let has_webgpu = move || model.generator().is_some_and(|g| g.has_webgpu());

    // Sampling is an action: its value is the last batch (kept on screen
    // while the next one runs), `pending` says a run is under way.
    let sampling =
        Action::new_local(move |request: &SampleRequest| sample_and_draw(model, request.clone()));
    let last = sampling.value();
    // The first batch is asked for at once; it waits for the weights.
    sampling.dispatch_local(SampleRequest {
        backend: None,
        count: FIRST_BATCH,
        seed: 0,
        temperature: 1.0,
        target_gap: None,
    });
    // The menu shows where the last run ran until the user picks one.
    let shown_backend = move || {
        backend
            .get()
            .or_else(|| last.with(|v| v.as_ref().and_then(|r| r.as_ref().ok()).map(|b| b.backend)))
    };

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        sampling.dispatch_local(SampleRequest {
            backend: shown_backend(),
            count: count.get(),
            seed: seed.get(),
            temperature: temperature.get(),
            target_gap: target_gap.get(),
        });
    };
    let no_molecules = move || last.with(|v| shown_molecules(v).is_empty());
    // Sampling needs loaded weights and no sampling under way.
    let busy = move || model.state() != ModelState::Ready || sampling.pending().get();
    let state = move || match model.state() {
        ModelState::Failed(_) => "failed",
        _ if sampling.pending().get() => "sampling",
        _ => last.with(|v| match v {
            None => "sampling",
            Some(Err(_)) => "failed",
            Some(Ok(_)) => "ready",
        }),
    };

    view! {
        <div id="generate" data-state=state>
            <form class="controls" on:submit=on_submit aria-label="sampling settings">
                <label>"molecules"
                    <input type="number" min="1" max="10000" prop:value=move || count.get().to_string()
                        on:input=move |ev| {
                            if let Ok(v) = event_target_value(&ev).parse::<usize>() {
                                count.set(v.clamp(1, 10_000));
                            }
                        } />
                </label>
                <label>"seed"
                    <input type="number" min="0" prop:value=move || seed.get().to_string()
                        on:input=move |ev| {
                            if let Ok(v) = event_target_value(&ev).parse::<u64>() {
                                seed.set(v);
                            }
                        } />
                </label>
                <label>"temperature"
                    <input type="number" min="0.1" max="3" step="0.1" prop:value=move || temperature.get().to_string()
                        on:input=move |ev| {
                            if let Ok(v) = event_target_value(&ev).parse::<f32>() {
                                temperature.set(v.clamp(0.1, 3.0));
                            }
                        } />
                </label>
                <label title="Leave empty to sample the prior; a gap in eV samples from the prior conditioned on it, keeping the candidates the gap head puts nearest">"target gap (eV)"
                    <input type="number" id="target-gap" min="2" max="12" step="0.1" placeholder="any"
                        prop:value=move || target_gap.get().map(|g| g.to_string()).unwrap_or_default()
                        on:input=move |ev| {
                            let text = event_target_value(&ev);
                            target_gap.set(if text.trim().is_empty() {
                                None
                            } else {
                                text.parse::<f64>().ok().map(|g| g.clamp(2.0, 12.0))
                            });
                        } />
                </label>
                <label>"backend"
                    <select id="backend-choice" on:change=move |ev| {
                        backend.set(Some(if event_target_value(&ev) == "cpu" { BackendKind::Cpu } else { BackendKind::WebGpu }));
                    }>
                        <option value="webgpu" selected=move || shown_backend() == Some(BackendKind::WebGpu)
                            disabled=move || !has_webgpu()>"WebGPU"</option>
                        <option value="cpu" selected=move || shown_backend() == Some(BackendKind::Cpu)>"CPU (wasm)"</option>
                    </select>
                </label>
                <button type="submit" id="sample" disabled=busy>"Sample"</button>
                <button type="button" class="secondary" id="download-csv"
                    disabled=no_molecules
                    on:click=move |_| {
                        let text = last.with(|v| generate::csv(shown_molecules(v)));
                        let _ = browser::download("molgap-samples.csv", "text/csv", &text);
                    }>"Download CSV"</button>
                <button type="button" class="secondary" id="download-smi"
                    disabled=no_molecules
                    on:click=move |_| {
                        let text = last.with(|v| shown_molecules(v).iter().map(|d| format!("{}\n", d.smiles)).collect::<String>());
                        let _ = browser::download("molgap-samples.smi", "chemical/x-daylight-smiles", &text);
                    }>"Download SMILES"</button>
            </form>
            <p class="status" role="status" aria-live="polite" id="status">
                {move || match model.state() {
                    ModelState::Failed(message) => view! { <span class="error">{message}</span> }.into_any(),
                    ModelState::Loading => view! { <span>"Loading the model weights…"</span> }.into_any(),
                    ModelState::Ready if sampling.pending().get() => view! { <span>"Sampling…"</span> }.into_any(),
                    ModelState::Ready => last.with(|v| match v {
                        None => view! { <span>"Sampling…"</span> }.into_any(),
                        Some(Err(message)) => view! { <span class="error">{message.clone()}</span> }.into_any(),
                        Some(Ok(batch)) => {
                            let Batch { backend, sample_ms, draw_ms, .. } = *batch;
                            let count = batch.molecules.len();
                            let rate = count as f64 / (sample_ms / 1000.0).max(1e-9);
                            let fallback = model.generator()
                                .filter(|_| backend == BackendKind::Cpu)
                                .and_then(|g| g.webgpu_note().map(|w| format!(" WebGPU is not used: {w}.")))
                                .unwrap_or_default();
                            view! {
                                <span>
                                    {format!("{count} molecules sampled in {sample_ms:.0} ms ({rate:.0} molecules/s) on ")}
                                    <strong id="backend">{backend.label()}</strong>
                                    {format!("; drawn in {draw_ms:.0} ms.{fallback}")}
                                </span>
                            }.into_any()
                        }
                    }),
                }}
            </p>
            <section class="grid" aria-label="sampled molecules">
                <For each=move || last.with(|v| shown_molecules(v).to_vec()).into_iter().enumerate() key=|(i, d)| (*i, d.smiles.clone()) let((_, d))>
                    <MoleculeCard molecule=d />
                </For>
            </section>
        </div>
    }
}

/// A drawn molecule with its facts and actions.
#[component]
pub fn MoleculeCard(molecule: Drawn) -> impl IntoView {
    let queue = expect_context::<ScoreQueue>();
    let smiles = molecule.smiles.clone();
    let copy_label = format!("copy SMILES {}", molecule.smiles);
    let score_label = format!("score {} with DFT", molecule.smiles);
    let for_queue = molecule.clone();
    view! {
        <article class="molecule" data-smiles=molecule.smiles.clone()>
            <div class="drawing" role="img" aria-label=format!("structure of {}", molecule.smiles) inner_html=molecule.svg />
            <code>{molecule.smiles.clone()}</code>
            <div class="facts">
                <span title="gap predicted from the latent (eV)">{format!("gap {:.2} eV", molecule.predicted_gap_ev)}</span>
                <span>{format!("{} heavy", molecule.heavy_atoms)}</span>
                {molecule.new_ring_system.then(|| view! {
                    <span class="new-ring-system" title="a ring system none of QM9's molecules has: the predicted gap is extrapolation">"new ring system"</span>
                })}
            </div>
            <div class="actions">
                <button type="button" aria-label=copy_label on:click=move |_| browser::copy_to_clipboard(&smiles)>"copy"</button>
                <button type="button" class="score" aria-label=score_label
                    on:click=move |_| queue.add(for_queue.clone())>"score"</button>
            </div>
        </article>
    }
}
