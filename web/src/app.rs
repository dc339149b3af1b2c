//! The page: composes the three views, which share the model and the scoring
//! queue through context (`state.rs`, `score_view.rs`):
//! Generate (sample and draw), Explore (latent paths and a map of QM9),
//! Score (DFT through the scorer service).

use leptos::prelude::*;

use crate::explore::ExploreView;
use crate::sample_view::GenerateView;
use crate::score_view::{ScoreQueue, ScoreView};
use crate::state::{Model, ModelState};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum View {
    Generate,
    Explore,
    Score,
}

impl View {
    const ALL: [View; 3] = [View::Generate, View::Explore, View::Score];

    fn id(self) -> &'static str {
        match self {
            View::Generate => "generate",
            View::Explore => "explore",
            View::Score => "score",
        }
    }

    fn title(self) -> &'static str {
        match self {
            View::Generate => "Generate",
            View::Explore => "Explore",
            View::Score => "Score",
        }
    }
}

#[component]
pub fn App() -> impl IntoView {
    let model = Model::load();
    let view = RwSignal::new(View::Generate);
    let queue = ScoreQueue::new();
    provide_context(model);
    provide_context(queue);

    let tab = move |v: View| {
        let count = queue;
        view! {
            <button type="button" role="tab" id=format!("tab-{}", v.id())
                aria-controls=format!("view-{}", v.id())
                aria-selected=move || (view.get() == v).to_string()
                class:active=move || view.get() == v
                on:click=move |_| view.set(v)>
                {v.title()}
                {(v == View::Score).then(|| view! {
                    <span class="badge" aria-label="molecules in the scoring list">
                        {move || { let n = count.len(); if n > 0 { format!(" {n}") } else { String::new() } }}
                    </span>
                })}
            </button>
        }
    };

    view! {
        <header>
            <h1>"molgap"</h1>
            <p>"A graph VAE trained on QM9, sampling new molecules in your browser. Every molecule is valid by construction and keeps to the structural rules QM9 obeys (no strained rings, no unstable groups GDB-17 left out)."</p>
            <nav role="tablist" aria-label="views">
                {View::ALL.into_iter().map(tab).collect_view()}
            </nav>
        </header>
        <main data-state=move || match model.state() {
            ModelState::Loading => "loading",
            ModelState::Failed(_) => "failed",
            ModelState::Ready => "loaded",
        }>
            <section role="tabpanel" id="view-generate" aria-labelledby="tab-generate"
                hidden=move || view.get() != View::Generate>
                <GenerateView />
            </section>
            <section role="tabpanel" id="view-explore" aria-labelledby="tab-explore"
                hidden=move || view.get() != View::Explore>
                <ExploreView active=Signal::derive(move || view.get() == View::Explore) />
            </section>
            <section role="tabpanel" id="view-score" aria-labelledby="tab-score"
                hidden=move || view.get() != View::Score>
                <ScoreView />
            </section>
        </main>
    }
}
