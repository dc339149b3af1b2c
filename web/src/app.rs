//! The page: load the shipped weights, sample, draw, download.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::browser;
use crate::generate::{self, Drawn, Generator};

/// Where trunk puts the shipped weights (copied from `public/`).
const WEIGHTS_URL: &str = "weights.bin";
const FIRST_BATCH: usize = 100;

thread_local! {
    // The model lives outside the reactive graph: it is neither Send nor cheap to clone.
    static GENERATOR: RefCell<Option<Rc<Generator>>> = const { RefCell::new(None) };
}

fn generator() -> Option<Rc<Generator>> {
    GENERATOR.with(|g| g.borrow().clone())
}

#[derive(Clone, Debug, PartialEq)]
enum Status {
    Loading,
    Failed(String),
    Sampling,
    Ready {
        backend: &'static str,
        count: usize,
        sample_ms: f64,
        draw_ms: f64,
    },
}

/// Samples `n` molecules with `seed` and publishes them with their timings.
async fn run_sampling(
    n: usize,
    seed: u64,
    temperature: f32,
    status: WriteSignal<Status>,
    molecules: WriteSignal<Vec<Drawn>>,
) {
    let Some(generator) = generator() else {
        return;
    };
    status.set(Status::Sampling);
    browser::next_frame().await;
    let start = browser::now_ms();
    let samples = generator.sample(n, seed, temperature);
    let sampled = browser::now_ms();
    let drawn: Vec<Drawn> = samples.iter().map(generate::draw).collect();
    let done = browser::now_ms();
    molecules.set(drawn);
    status.set(Status::Ready {
        backend: generator.backend(),
        count: n,
        sample_ms: sampled - start,
        draw_ms: done - sampled,
    });
    browser::set_title(&format!("molgap: {n} molecules"));
}

#[component]
pub fn App() -> impl IntoView {
    let (status, set_status) = signal(Status::Loading);
    let (molecules, set_molecules) = signal(Vec::<Drawn>::new());
    let (count, set_count) = signal(FIRST_BATCH);
    let (seed, set_seed) = signal(0u64);
    let (temperature, set_temperature) = signal(1.0f32);

    spawn_local(async move {
        let loaded = browser::fetch_bytes(WEIGHTS_URL)
            .await
            .and_then(|bytes| Generator::from_bytes(&bytes));
        match loaded {
            Ok(g) => {
                GENERATOR.with(|slot| *slot.borrow_mut() = Some(Rc::new(g)));
                run_sampling(FIRST_BATCH, 0, 1.0, set_status, set_molecules).await;
            }
            Err(e) => {
                browser::set_title("molgap: weights failed to load");
                set_status.set(Status::Failed(format!(
                    "The model weights could not be loaded ({e}). Check that {WEIGHTS_URL} is served next to this page (trunk copies it from public/)."
                )));
            }
        }
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (n, s, t) = (count.get(), seed.get(), temperature.get());
        spawn_local(run_sampling(n, s, t, set_status, set_molecules));
    };
    // Sampling needs loaded weights and no sampling under way.
    let busy = move || !matches!(status.get(), Status::Ready { .. });

    view! {
        <header>
            <h1>"molgap"</h1>
            <p>"A graph VAE trained on QM9, sampling new molecules in your browser. Every molecule is valid by construction."</p>
        </header>
        <main data-state=move || match status.get() {
            Status::Loading => "loading",
            Status::Failed(_) => "failed",
            Status::Sampling => "sampling",
            Status::Ready { .. } => "ready",
        }>
            <form class="controls" on:submit=on_submit aria-label="sampling settings">
                <label>"molecules"
                    <input type="number" min="1" max="10000" prop:value=move || count.get().to_string()
                        on:input=move |ev| {
                            if let Ok(v) = event_target_value(&ev).parse::<usize>() {
                                set_count.set(v.clamp(1, 10_000));
                            }
                        } />
                </label>
                <label>"seed"
                    <input type="number" min="0" prop:value=move || seed.get().to_string()
                        on:input=move |ev| {
                            if let Ok(v) = event_target_value(&ev).parse::<u64>() {
                                set_seed.set(v);
                            }
                        } />
                </label>
                <label>"temperature"
                    <input type="number" min="0.1" max="3" step="0.1" prop:value=move || temperature.get().to_string()
                        on:input=move |ev| {
                            if let Ok(v) = event_target_value(&ev).parse::<f32>() {
                                set_temperature.set(v.clamp(0.1, 3.0));
                            }
                        } />
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
                {move || match status.get() {
                    Status::Loading => view! { <span>"Loading the model weights…"</span> }.into_any(),
                    Status::Sampling => view! { <span>"Sampling…"</span> }.into_any(),
                    Status::Failed(message) => view! { <span class="error">{message}</span> }.into_any(),
                    Status::Ready { backend, count, sample_ms, draw_ms } => {
                        let rate = count as f64 / (sample_ms / 1000.0).max(1e-9);
                        view! {
                            <span>
                                {format!("{count} molecules sampled in {sample_ms:.0} ms ({rate:.0} molecules/s) on ")}
                                <strong id="backend">{backend}</strong>
                                {format!("; drawn in {draw_ms:.0} ms.")}
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
        </main>
    }
}

#[component]
fn MoleculeCard(molecule: Drawn) -> impl IntoView {
    let smiles = molecule.smiles.clone();
    let label = format!("copy SMILES {}", molecule.smiles);
    view! {
        <article class="molecule" data-smiles=molecule.smiles.clone()>
            <div class="drawing" role="img" aria-label=format!("structure of {}", molecule.smiles) inner_html=molecule.svg />
            <code>{molecule.smiles.clone()}</code>
            <div class="facts">
                <span title="gap predicted from the latent (eV)">{format!("gap {:.2} eV", molecule.predicted_gap_ev)}</span>
                <span>{format!("{} heavy", molecule.heavy_atoms)}</span>
                <button type="button" aria-label=label on:click=move |_| browser::copy_to_clipboard(&smiles)>"copy"</button>
            </div>
        </article>
    }
}
