//! `trainer optimize`: the gap search, with DFT in the loop.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use search::{Constraints, OptimizeOptions, SearchSettings, Strategy, parse_elements};
use training::backend::Backend;
use training::{generate, prepare, surrogate};

/// Search for molecules with a large HOMO-LUMO gap (graph edits, latent SNES or the decoder
/// as a policy, on the surrogate's reward), verified by DFT
/// through a running scorer (resumable: state in OUT_DIR/search.json)
#[derive(Args)]
#[command(
    after_help = "Start a scorer first (`cargo run --release -p scorer -- serve`), or use scripts/run.sh, which does."
)]
pub struct OptimizeArgs {
    /// Directory for search.json, results.csv, summary.json, verified.sdf, best_gap.png, gap_distribution.png
    #[arg(long, default_value = "runs/search")]
    out_dir: PathBuf,
    /// Also write the ranked results CSV here
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the search in --out-dir where it stopped
    #[arg(long)]
    resume: bool,
    /// Scorer base URL
    #[arg(long, default_value = "http://127.0.0.1:8765")]
    scorer: String,
    // What to search for and how hard (named so as not to shadow the `search` crate).
    #[command(flatten)]
    wanted: SearchArgs,
    #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
    weights: PathBuf,
    #[arg(long, default_value = surrogate::DEFAULT_SURROGATE)]
    surrogate: PathBuf,
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    #[arg(long, value_enum, default_value = "flex")]
    backend: Backend,
}

impl OptimizeArgs {
    pub fn run(self) -> Result<ExitCode> {
        let OptimizeArgs {
            out_dir,
            out,
            resume,
            scorer,
            wanted,
            weights,
            surrogate,
            data_dir,
            backend,
        } = self;
        let (constraints, settings) = wanted.into_parts()?;
        let outcome = search::optimize(&OptimizeOptions {
            out_dir: out_dir.clone(),
            weights,
            surrogate,
            dataset: prepare::dataset_path(&data_dir),
            backend,
            scorer_url: scorer,
            constraints,
            settings,
            resume,
            progress: std::io::stderr().is_terminal(),
        })?;
        if let Some(path) = out {
            training::fsio::write_atomically(
                &path,
                search::report::csv(&outcome.state).as_bytes(),
            )?;
        }
        out!("{}", search::report::table(&outcome.state, 15));
        outln!(
            "results: {}/results.csv, summary.json, verified.sdf, best_gap.png, gap_distribution.png",
            out_dir.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}

/// What `trainer optimize` searches for and how hard.
#[derive(clap::Args)]
pub struct SearchArgs {
    /// Allowed elements, e.g. CNOF or CNO
    #[arg(long, default_value = "CNOF")]
    elements: String,
    /// Exact heavy-atom count (0: any size)
    #[arg(long, default_value_t = 9)]
    heavy_atoms: usize,
    /// Allow charged atoms (zwitterions)
    #[arg(long)]
    allow_charged: bool,
    /// Allow molecules that are in QM9 as candidates
    #[arg(long)]
    allow_known: bool,
    /// Allow ring systems whose framework no QM9 molecule has (new cages are
    /// mostly too strained for RDKit to embed, so their DFT jobs fail)
    #[arg(long)]
    allow_new_ring_systems: bool,
    /// graph: evolve molecules by valence-checked graph edits (reaches beyond what the VAE learned);
    /// latent: SNES over z; decoder: fine-tune the decoder as a policy (REINFORCE + KL)
    #[arg(long, value_enum, default_value = "graph")]
    strategy: Strategy,
    /// Oracle rounds at the pre-screen level
    #[arg(long, default_value_t = SearchSettings::default().rounds)]
    rounds: usize,
    /// Molecules pre-screened per round
    #[arg(long, default_value_t = SearchSettings::default().per_round)]
    per_round: usize,
    /// Best pre-screened molecules verified at the final level
    #[arg(long, default_value_t = SearchSettings::default().finalists)]
    finalists: usize,
    /// Search updates per round (SNES steps, REINFORCE steps, or graph generations)
    #[arg(long, default_value_t = SearchSettings::default().generations)]
    generations: usize,
    /// Search distributions (decoder: population x samples molecules per step;
    /// graph: population x 8 molecules kept, population x samples offspring per generation)
    #[arg(long, default_value_t = SearchSettings::default().population)]
    population: usize,
    /// Latents per distribution and generation
    #[arg(long, default_value_t = SearchSettings::default().samples)]
    samples: usize,
    #[arg(long, default_value = "fast")]
    prescreen_level: scorer_api::Level,
    #[arg(long, default_value = "qm9")]
    final_level: scorer_api::Level,
    /// Surrogate refit steps per round (0: no active learning)
    #[arg(long, default_value_t = SearchSettings::default().refit_steps)]
    refit_steps: usize,
    /// Decoder strategy: the best molecules DFT has verified so far, replayed
    /// in every policy update so the policy keeps hold of its finds (0: none)
    #[arg(long, default_value_t = SearchSettings::default().replay)]
    replay: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

impl SearchArgs {
    fn into_parts(self) -> Result<(Constraints, SearchSettings)> {
        let constraints = Constraints {
            heavy_atoms: (self.heavy_atoms > 0).then_some(self.heavy_atoms),
            elements: parse_elements(&self.elements)?,
            neutral: !self.allow_charged,
            novel: !self.allow_known,
            known_ring_systems: !self.allow_new_ring_systems,
        };
        let settings = SearchSettings {
            strategy: self.strategy,
            rounds: self.rounds,
            per_round: self.per_round,
            finalists: self.finalists,
            generations: self.generations,
            population: self.population,
            samples: self.samples,
            prescreen_level: self.prescreen_level,
            final_level: self.final_level,
            refit_steps: self.refit_steps,
            seed: self.seed,
            replay: self.replay,
            ..SearchSettings::default()
        };
        Ok((constraints, settings))
    }
}
