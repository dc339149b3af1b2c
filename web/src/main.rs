//! molgap in the browser: the graph VAE from `model-core`, compiled to wasm,
//! samples molecules with the shipped weights and draws them.

mod app;
mod browser;
mod generate;

fn main() {
    leptos::mount::mount_to_body(app::App);
}
