//! The page's shared state, provided as context by `app.rs` and read by the
//! views: the model, loaded once as a local resource (it is neither `Send`
//! nor cheap to clone, so it stays out of the synchronous reactive graph),
//! and what it is doing.

use std::rc::Rc;

use leptos::prelude::*;

use crate::browser;
use crate::generate::Generator;

/// Where trunk puts the shipped weights (copied from `public/`).
const WEIGHTS_URL: &str = "weights.bin";

/// Whether the weights are loaded, and if not, why.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelState {
    Loading,
    Failed(String),
    Ready,
}

/// The shipped model: fetched and loaded once, when the page starts.
#[derive(Clone, Copy)]
pub struct Model(LocalResource<Result<Rc<Generator>, String>>);

impl Model {
    pub fn load() -> Model {
        Model(LocalResource::new(|| async {
            let loaded = match browser::fetch_bytes(WEIGHTS_URL).await {
                Ok(bytes) => Generator::load(&bytes).await.map(Rc::new),
                Err(e) => Err(e),
            };
            loaded.map_err(|e| {
                browser::set_title("molgap: weights failed to load");
                format!(
                    "The model weights could not be loaded ({e}). Check that {WEIGHTS_URL} is served next to this page (trunk copies it from public/)."
                )
            })
        }))
    }

    /// The model from the context `App` provides.
    pub fn from_context() -> Model {
        expect_context::<Model>()
    }

    /// Loading, failed or ready (tracked).
    pub fn state(&self) -> ModelState {
        match self.0.get() {
            None => ModelState::Loading,
            Some(Ok(_)) => ModelState::Ready,
            Some(Err(message)) => ModelState::Failed(message),
        }
    }

    /// The loaded model, once the weights are in (tracked).
    pub fn generator(&self) -> Option<Rc<Generator>> {
        self.0.get().and_then(Result::ok)
    }

    /// Waits for the weights: the model, or `None` if they failed to load.
    pub async fn ready(self) -> Option<Rc<Generator>> {
        self.0.await.ok()
    }

    /// The loaded model, for event handlers and tasks (untracked).
    pub fn generator_untracked(&self) -> Option<Rc<Generator>> {
        self.0.get_untracked().and_then(Result::ok)
    }
}
