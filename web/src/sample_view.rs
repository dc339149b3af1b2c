//! The Generate view: sample N molecules with a seed, draw them, copy,
//! download, or send them to the Score view.

use leptos::prelude::*;
use leptos::task::spawn_local;

use std::rc::Rc;

use crate::browser;
use crate::generate::{self, BackendKind, Drawn, Generator};
use crate::score_view::ScoreQueue;
use crate::state::{Model, ModelState};

const FIRST_BATCH: usize = 100;

#[derive(Clone, Debug, PartialEq)]
enum Status {
    Waiting,
    Sampling,
    Failed(String),
    Ready {
        backend: BackendKind,
        count: usize,
        sample_ms: f64,
        draw_ms: f64,
    },
}

/// Where a sampling run publishes: its status and the drawn molecules.
#[derive(Clone, Copy)]
struct Outputs {
    status: RwSignal<Status>,
    molecules: RwSignal<Vec<Drawn>>,
}

/// Samples `n` molecules with `seed` and publishes them with their timings.
async fn run_sampling(
    generator: Rc<Generator>,
    backend: BackendKind,
    (n, seed): (usize, u64),
    temperature: f32,
    target_gap: Option<f64>,
    Outputs { status, molecules }: Outputs,
) {
    status.set(Status::Sampling);
    browser::next_frame().await;
    let start = browser::now_ms();
    let (samples, ran_on) = match generator
        .sample(backend, n, seed, temperature, target_gap)
        .await
    {
        Ok(done) => done,
        Err(e) => {
            status.set(Status::Failed(e));
            return;
        }
    };
    let sampled = browser::now_ms();
    let drawn: Vec<Drawn> = samples.iter().map(generate::draw_sample).collect();
    let done = browser::now_ms();
    molecules.set(drawn);
    status.set(Status::Ready {
        backend: ran_on,
        count: n,
        sample_ms: sampled - start,
        draw_ms: done - sampled,
    });
    browser::set_title(&format!("molgap: {n} molecules"));
}

#[component]
pub fn GenerateView() -> impl IntoView {
    let model = Model::from_context();
    let status = RwSignal::new(Status::Waiting);
    let molecules = RwSignal::new(Vec::<Drawn>::new());
    let outputs = Outputs { status, molecules };
    let count = RwSignal::new(FIRST_BATCH);
    let seed = RwSignal::new(0u64);
    let temperature = RwSignal::new(1.0f32);
    // Empty: sample the prior; a number: molecules near that gap.
    let target_gap = RwSignal::new(None::<f64>);
    // Chosen when the weights are in: `?backend=cpu|webgpu`, else the model's preference.
    let backend = RwSignal::new(BackendKind::Cpu);
    let has_webgpu = move || model.generator().is_some_and(|g| g.has_webgpu());

    // The first batch, as soon as the weights are in.
    spawn_local(async move {
        let Some(g) = model.ready().await else {
            return;
        };
        let chosen = match browser::query_param("backend").as_deref() {
            Some("cpu") => BackendKind::Cpu,
            Some("webgpu") if g.has_webgpu() => BackendKind::WebGpu,
            _ => g.preferred_backend(),
        };
        backend.set(chosen);
        run_sampling(g, chosen, (FIRST_BATCH, 0), 1.0, None, outputs).await;
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(g) = model.generator_untracked() else {
            return;
        };
        spawn_local(run_sampling(
            g,
            backend.get(),
            (count.get(), seed.get()),
            temperature.get(),
            target_gap.get(),
            outputs,
        ));
    };
    // Sampling needs loaded weights and no sampling under way.
    let busy =
        move || model.state() != ModelState::Ready || matches!(status.get(), Status::Sampling);
    let state = move || match (model.state(), status.get()) {
        (ModelState::Failed(_), _) => "failed",
        (_, Status::Sampling) | (ModelState::Loading, _) | (_, Status::Waiting) => "sampling",
        (_, Status::Failed(_)) => "failed",
        (_, Status::Ready { .. }) => "ready",
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
                        backend.set(if event_target_value(&ev) == "cpu" { BackendKind::Cpu } else { BackendKind::WebGpu });
                    }>
                        <option value="webgpu" selected=move || backend.get() == BackendKind::WebGpu
                            disabled=move || !has_webgpu()>"WebGPU"</option>
                        <option value="cpu" selected=move || backend.get() == BackendKind::Cpu>"CPU (wasm)"</option>
                    </select>
                </label>
                <button type="submit" id="sample" disabled=busy>"Sample"</button>
                <button type="button" class="secondary" id="download-csv"
                    disabled=move || molecules.with(Vec::is_empty)
                    on:click=move |_| {
                        let text = molecules.with(|m| generate::csv(m));
                        let _ = browser::download("molgap-samples.csv", "text/csv", &text);
                    }>"Download CSV"</button>
                <button type="button" class="secondary" id="download-smi"
                    disabled=move || molecules.with(Vec::is_empty)
                    on:click=move |_| {
                        let text = molecules.with(|m| m.iter().map(|d| format!("{}\n", d.smiles)).collect::<String>());
                        let _ = browser::download("molgap-samples.smi", "chemical/x-daylight-smiles", &text);
                    }>"Download SMILES"</button>
            </form>
            <p class="status" role="status" aria-live="polite" id="status">
                {move || match (model.state(), status.get()) {
                    (ModelState::Failed(message), _) => view! { <span class="error">{message}</span> }.into_any(),
                    (ModelState::Loading, _) => view! { <span>"Loading the model weights…"</span> }.into_any(),
                    (_, Status::Waiting | Status::Sampling) => view! { <span>"Sampling…"</span> }.into_any(),
                    (_, Status::Failed(message)) => view! { <span class="error">{message}</span> }.into_any(),
                    (_, Status::Ready { backend, count, sample_ms, draw_ms }) => {
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
                }}
            </p>
            <section class="grid" aria-label="sampled molecules">
                <For each=move || molecules.get().into_iter().enumerate() key=|(i, d)| (*i, d.smiles.clone()) let((_, d))>
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
            </div>
            <div class="actions">
                <button type="button" aria-label=copy_label on:click=move |_| browser::copy_to_clipboard(&smiles)>"copy"</button>
                <button type="button" class="score" aria-label=score_label
                    on:click=move |_| queue.add(for_queue.clone())>"score"</button>
            </div>
        </article>
    }
}
