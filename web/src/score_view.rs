//! The Score view: molecules sent to the DFT scorer, each job's state as it
//! changes, DFT HOMO, LUMO and gap beside the model's prediction, and a 3D
//! view of the geometry the scorer computed on.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;

use crate::browser;
use crate::generate::Drawn;
use crate::scorer::{self, Job, JobState, Level, ScorerClient};
use crate::state::Model;

#[wasm_bindgen(module = "/src/viewer3d.js")]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn show_xyz(element: &web_sys::HtmlElement, xyz: &str) -> Result<JsValue, JsValue>;
}

/// Levels of theory the scorer offers, fastest first.
const LEVELS: [(Level, &str); 3] = [
    (Level::Tiny, "B3LYP/STO-3G (seconds)"),
    (Level::Fast, "B3LYP/3-21G (pre-screen)"),
    (Level::Qm9, "B3LYP/6-31G(2df,p), as QM9 (about a minute)"),
];

#[derive(Clone, Debug, PartialEq)]
pub enum EntryState {
    Sending,
    Job(Box<Job>),
    /// The scorer could not be reached or refused; the message says what to do.
    Error(String),
}

/// One molecule in the list; its state is a signal of its own, so a state
/// change re-renders the parts of its row that show it, not the row.
#[derive(Clone, Debug)]
pub struct Entry {
    pub key: usize,
    pub molecule: Drawn,
    pub level: Level,
    pub state: RwSignal<EntryState>,
}

/// The molecules sent for scoring, and where and how to score them.
#[derive(Clone, Copy)]
pub struct ScoreQueue {
    entries: RwSignal<Vec<Entry>>,
    next_key: RwSignal<usize>,
    pub url: RwSignal<String>,
    pub level: RwSignal<Level>,
    /// Submits an entry (by key) and follows its job to the end; each
    /// dispatch runs on its own, so several jobs are followed at once.
    follow: Action<usize, ()>,
}

impl ScoreQueue {
    pub fn new() -> ScoreQueue {
        let url = browser::query_param("scorer").unwrap_or_else(|| scorer::DEFAULT_URL.into());
        let entries = RwSignal::new(Vec::new());
        let url = RwSignal::new(url);
        ScoreQueue {
            entries,
            next_key: RwSignal::new(0),
            url,
            level: RwSignal::new(Level::Tiny),
            follow: Action::new_local(move |key: &usize| follow(entries, url, *key)),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.with(Vec::len)
    }

    /// Adds `molecule` to the list and sends it to the scorer.
    pub fn add(&self, molecule: Drawn) {
        let key = self.next_key.get_untracked();
        self.next_key.set(key + 1);
        self.entries.update(|e| {
            e.push(Entry {
                key,
                molecule,
                level: self.level.get_untracked(),
                state: RwSignal::new(EntryState::Sending),
            })
        });
        self.follow.dispatch(key);
    }

    /// Sends entry `key` again (after the scorer could not be reached).
    pub fn retry(&self, key: usize) {
        self.follow.dispatch(key);
    }
}

/// Submits entry `key` to the scorer at `url` and follows its job until it
/// is done or failed, showing each state in the entry's own signal.
async fn follow(entries: RwSignal<Vec<Entry>>, url: RwSignal<String>, key: usize) {
    let Some(entry) = entries.with_untracked(|e| e.iter().find(|e| e.key == key).cloned()) else {
        return;
    };
    let show = |state| entry.state.set(state);
    show(EntryState::Sending);
    let client = ScorerClient::new(&url.get_untracked());
    let mut job = match client.submit(&entry.molecule.smiles, entry.level).await {
        Ok(job) => job,
        Err(message) => return show(EntryState::Error(message)),
    };
    loop {
        show(EntryState::Job(Box::new(job.clone())));
        if job.state.is_final() {
            return;
        }
        job = match client.poll(job.id).await {
            Ok(next) => next,
            Err(message) => return show(EntryState::Error(message)),
        };
    }
}

#[component]
pub fn ScoreView() -> impl IntoView {
    let queue = expect_context::<ScoreQueue>();
    let model = Model::from_context();
    let typed = RwSignal::new(String::new());
    let typed_error = RwSignal::new(None::<String>);

    let check = Action::new_local(|url: &String| {
        let client = ScorerClient::new(url);
        async move {
            client.health().await.map(|h| {
                // Workers report their versions once they have started.
                let pyscf = h
                    .worker_versions
                    .get("pyscf")
                    .and_then(|v| v.as_str())
                    .map(|v| format!(", PySCF {v}"))
                    .unwrap_or_default();
                format!("The scorer answers: {} PySCF workers{pyscf}.", h.workers)
            })
        }
    });
    let health = move || {
        if check.pending().get() {
            Some(Ok("Checking…".to_string()))
        } else {
            check.value().get()
        }
    };
    let add_typed = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(g) = model.generator_untracked() else {
            typed_error.set(Some("The model is still loading.".into()));
            return;
        };
        match g.read(&typed.get_untracked()) {
            Ok(drawn) => {
                typed_error.set(None);
                typed.set(String::new());
                queue.add(drawn);
            }
            Err(e) => typed_error.set(Some(format!("Not sent: {e}"))),
        }
    };

    view! {
        <div id="score">
            <form class="controls" aria-label="scorer settings" on:submit=move |ev| { ev.prevent_default(); check.dispatch(queue.url.get_untracked()); }>
                <label class="wide">"scorer URL"
                    <input type="url" id="scorer-url" prop:value=move || queue.url.get()
                        on:input=move |ev| queue.url.set(event_target_value(&ev)) />
                </label>
                <label>"level"
                    <select id="scorer-level" on:change=move |ev| {
                        if let Ok(level) = event_target_value(&ev).parse() {
                            queue.level.set(level);
                        }
                    }>
                        {LEVELS.into_iter().map(|(id, text)| view! {
                            <option value=id.name() selected=move || queue.level.get() == id>{format!("{id}: {text}")}</option>
                        }).collect_view()}
                    </select>
                </label>
                <button type="submit" class="secondary" id="check-scorer">"Check scorer"</button>
            </form>
            <p class="status" role="status" aria-live="polite" id="scorer-health">
                {move || match health() {
                    None => "Send molecules here with a card's “score” button, or type a SMILES below. The scorer runs on your machine: `cargo run --release -p scorer -- serve`.".to_string().into_any(),
                    Some(Ok(text)) => text.into_any(),
                    Some(Err(e)) => view! { <span class="error">{e}</span> }.into_any(),
                }}
            </p>
            <form class="controls" aria-label="score a SMILES" on:submit=add_typed>
                <label class="wide">"SMILES"
                    <input type="text" id="score-smiles" placeholder="e.g. FC(F)(F)CC(F)(F)F" prop:value=move || typed.get()
                        on:input=move |ev| typed.set(event_target_value(&ev)) />
                </label>
                <button type="submit" id="score-typed">"Score"</button>
            </form>
            {move || typed_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <div class="jobs" aria-label="scoring jobs">
                <For each=move || queue.entries.get() key=|e| e.key let(entry)>
                    <JobRow entry=entry />
                </For>
            </div>
        </div>
    }
}

#[component]
fn JobRow(entry: Entry) -> impl IntoView {
    let queue = expect_context::<ScoreQueue>();
    let viewer = NodeRef::<html::Div>::new();
    let viewer_error = RwSignal::new(None::<String>);
    let opened = RwSignal::new(false);
    let key = entry.key;
    let state = entry.state;
    let predicted = entry.molecule.predicted_gap_ev;
    let label = move || {
        state.with(|s| match s {
            EntryState::Sending => "sending",
            EntryState::Job(job) => job.state.name(),
            EntryState::Error(_) => "unreachable",
        })
    };
    let result = Memo::new(move |_| {
        state.with(|s| match s {
            EntryState::Job(job) => job.result.clone(),
            _ => None,
        })
    });
    let show_3d = move |_| {
        let Some(xyz) = result.with_untracked(|r| r.as_ref().map(|r| r.xyz.clone())) else {
            return;
        };
        let Some(element) = viewer.get_untracked() else {
            return;
        };
        opened.set(true);
        spawn_local(async move {
            // The viewer sizes itself from its element, which must be shown first.
            browser::next_frame().await;
            let element: &web_sys::HtmlElement = &element;
            if let Err(e) = show_xyz(element, &xyz).await {
                viewer_error.set(Some(format!("{e:?}")));
            }
        });
    };
    view! {
        <article class="job" data-state=label data-smiles=entry.molecule.smiles.clone()>
            <div class="drawing" role="img" aria-label=format!("structure of {}", entry.molecule.smiles)
                inner_html=entry.molecule.svg.clone() />
            <div class="job-facts">
                <code>{entry.molecule.smiles.clone()}</code>
                <p><span class=move || format!("pill {}", label())>{label}</span>{format!(" at level {}", entry.level)}</p>
                <table>
                    <tr><th scope="row">"predicted gap"</th><td>{format!("{predicted:.2} eV")}</td></tr>
                    {move || result.get().map(|r| view! {
                        <tr><th scope="row">"DFT HOMO"</th><td class="homo">{format!("{:.3} eV", r.homo_ev)}</td></tr>
                        <tr><th scope="row">"DFT LUMO"</th><td class="lumo">{format!("{:.3} eV", r.lumo_ev)}</td></tr>
                        <tr><th scope="row">"DFT gap"</th><td class="dft-gap"><strong>{format!("{:.3} eV", r.gap_ev)}</strong>
                            {format!(" ({:+.2} eV from the prediction)", r.gap_ev - predicted)}</td></tr>
                        <tr><th scope="row">"method"</th><td>{format!("{}/{}, {} geometry, {:.1} s{}", r.method, r.basis, r.geometry, r.wall_s,
                            if r.converged { "" } else { ", SCF not converged" })}</td></tr>
                    })}
                </table>
                {move || match state.get() {
                    EntryState::Error(message) => Some(view! {
                        <p class="error">{message}</p>
                        <button type="button" class="secondary retry" on:click=move |_| queue.retry(key)>"Retry"</button>
                    }.into_any()),
                    EntryState::Job(job) if job.state == JobState::Failed => Some(view! {
                        <p class="error">{format!("The calculation failed: {}", job.error.unwrap_or_default())}</p>
                    }.into_any()),
                    _ => None,
                }}
                {move || result.with(Option::is_some).then(|| view! {
                    <button type="button" class="secondary show-3d" on:click=show_3d>"3D view"</button>
                })}
                {move || viewer_error.get().map(|e| view! { <p class="error">{e}</p> })}
            </div>
            <div class="viewer3d" node_ref=viewer aria-label="3D geometry used by the scorer"
                style:display=move || if opened.get() { "block" } else { "none" }></div>
        </article>
    }
}
