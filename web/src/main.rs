//! molgap in the browser: the graph VAE from `model-core`, compiled to wasm,
//! samples molecules with the shipped weights (WebGPU or CPU), draws them,
//! explores the latent space, and sends molecules to the DFT scorer.

mod app;
mod browser;
mod explore;
mod generate;
mod sample_view;
mod score_view;
mod scorer;
mod state;

fn main() {
    leptos::mount::mount_to_body(app::App);
}
