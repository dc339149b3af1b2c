//! `trainer`: the command-line front end. Each subcommand is a thin wrapper
//! over a function of the `trainer` library.

use model_core::model::sample::Target;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use trainer::prior_fit::PriorFitConfig;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use model_core::chem::{
    SmilesOptions, StereoPolicy, canonical_smiles, parse_smiles, parse_smiles_with,
};
use trainer::backend::Backend;
use trainer::decoder_policy::PolicySettings;
use trainer::novelty_tuning::{NoveltyTuneConfig, NoveltyTuneOptions};
use trainer::search::{Constraints, OptimizeOptions, SearchSettings, Strategy, parse_elements};
use trainer::surrogate::{SurrogateOptions, SurrogateTrainConfig};
use trainer::train::{TrainConfig, TrainOptions};
use trainer::{
    bench, evaluate, generate, novelty_tuning, oracle, predict, prepare, python, search, surrogate,
    train, wheel,
};

#[derive(Parser)]
#[command(
    name = "trainer",
    version,
    about = "Prepare QM9, train the graph VAE, sample and optimise molecules",
    after_help = "Start with `trainer prepare`; every other command reads what it writes."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch QM9 (the qm9pack 1.0.3 wheel from PyPI), check every molecule, split it
    /// 80/10/10 with a fixed seed and write DATA_DIR/qm9.bin
    Prepare {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Use this wheel instead of downloading one (its sha256 is checked)
        #[arg(long)]
        wheel: Option<PathBuf>,
        /// Seed of the train/valid/test split
        #[arg(long, default_value_t = prepare::DEFAULT_SPLIT_SEED)]
        seed: u64,
        /// Python with pip, for the download [default: .venv/bin/python, else python3]
        #[arg(long)]
        python: Option<PathBuf>,
    },
    /// Print what a prepared dataset holds
    Info {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
    },
    /// Check SMILES and print their canonical form, or the reason each is rejected
    Canon {
        /// SMILES strings to check
        #[arg(required = true)]
        smiles: Vec<String>,
        /// Drop stereo marks (@, /, \) instead of rejecting them
        #[arg(long)]
        ignore_stereo: bool,
    },
    /// Predict HOMO-LUMO gaps with the surrogate, beside QM9's own gap where QM9
    /// holds the molecule and whether its ring systems have QM9 frameworks
    /// (tab-separated, one row per input)
    Predict {
        /// SMILES strings
        smiles: Vec<String>,
        /// Also read SMILES from this file, one per line (`-` for standard input)
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long, default_value = surrogate::DEFAULT_SURROGATE)]
        surrogate: PathBuf,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, value_enum, default_value = "flex")]
        backend: Backend,
    },
    /// Train the graph VAE on the QM9 training split (checkpoints each epoch)
    Train {
        /// TOML file with training settings (see trainer/default.toml); flags override it
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Directory for checkpoint.bin, weights.bin, metrics.csv, curves.png, config.toml
        #[arg(long, default_value = "runs/default")]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "flex")]
        backend: Backend,
        /// Continue the run in --out from its last checkpoint
        #[arg(long)]
        resume: bool,
        #[arg(long)]
        epochs: Option<usize>,
        #[arg(long)]
        batch_size: Option<usize>,
        #[arg(long)]
        learning_rate: Option<f64>,
        /// Train on at most this many molecules (0 = the whole training split)
        #[arg(long)]
        max_train: Option<usize>,
        #[arg(long)]
        hidden: Option<usize>,
        #[arg(long)]
        latent: Option<usize>,
        #[arg(long)]
        seed: Option<u64>,
        /// Gaussians in the prior fitted after the last epoch (0 keeps N(0, I))
        #[arg(long)]
        prior_components: Option<usize>,
    },
    /// Fine-tune trained weights so fewer samples are QM9 training molecules
    /// (REINFORCE on the decoder, with a KL penalty to the trained decoder)
    TuneNovelty {
        /// The trained weights to start from
        #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
        weights: PathBuf,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Directory for checkpoint.bin, weights.bin, metrics.csv, curves.png
        #[arg(long, default_value = "runs/novelty")]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "flex")]
        backend: Backend,
        /// Continue the run in --out from its last checkpoint
        #[arg(long)]
        resume: bool,
        #[arg(long, default_value_t = NoveltyTuneConfig::default().steps)]
        steps: usize,
        /// Molecules sampled per step
        #[arg(long, default_value_t = NoveltyTuneConfig::default().batch_size)]
        batch_size: usize,
        /// Weight of the KL penalty to the trained decoder, per nat (the reward is 0 or 1)
        #[arg(long, default_value_t = NoveltyTuneConfig::default().policy.kl_weight)]
        kl_weight: f64,
        #[arg(long, default_value_t = NoveltyTuneConfig::default().policy.learning_rate)]
        learning_rate: f64,
        #[arg(long, default_value_t = NoveltyTuneConfig::default().seed)]
        seed: u64,
        /// Evaluate, log and checkpoint every this many steps
        #[arg(long, default_value_t = NoveltyTuneConfig::default().eval_every)]
        eval_every: usize,
        /// Samples per evaluation (a fixed seed, so points are comparable)
        #[arg(long, default_value_t = NoveltyTuneConfig::default().eval_samples)]
        eval_samples: usize,
        /// Also reward novel molecules with ring systems QM9 has no framework for
        #[arg(long)]
        allow_new_ring_systems: bool,
        /// A sample repeating one of the last this many earns nothing
        #[arg(long, default_value_t = NoveltyTuneConfig::default().repeat_window)]
        repeat_window: usize,
    },
    /// Train the 2D-graph gap surrogate the search uses (keeps the best weights by validation MAE)
    TrainSurrogate {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Directory for surrogate.bin, checkpoint.bin, metrics.csv, curves.png, summary.json
        #[arg(long, default_value = "runs/surrogate")]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "flex")]
        backend: Backend,
        /// Continue the run in --out from its last checkpoint
        #[arg(long)]
        resume: bool,
        #[arg(long, default_value_t = SurrogateTrainConfig::default().epochs)]
        epochs: usize,
        #[arg(long, default_value_t = SurrogateTrainConfig::default().batch_size)]
        batch_size: usize,
        #[arg(long, default_value_t = SurrogateTrainConfig::default().learning_rate)]
        learning_rate: f64,
        /// Train on at most this many molecules (0 = the whole training split)
        #[arg(long, default_value_t = 0)]
        max_train: usize,
        /// Validate on at most this many molecules (0 = the whole validation split)
        #[arg(long, default_value_t = 0)]
        max_valid: usize,
        #[arg(long, default_value_t = SurrogateTrainConfig::default().model.hidden)]
        hidden: usize,
        #[arg(long, default_value_t = SurrogateTrainConfig::default().model.layers)]
        layers: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Search for molecules with a large HOMO-LUMO gap (graph edits, latent SNES or the decoder
    /// as a policy, on the surrogate's reward), verified by DFT
    /// through a running scorer (resumable: state in OUT_DIR/search.json)
    #[command(
        after_help = "Start a scorer first (`cargo run --release -p scorer -- serve`), or use scripts/run.sh, which does."
    )]
    Optimize {
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
        #[command(flatten)]
        search: SearchArgs,
        #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
        weights: PathBuf,
        #[arg(long, default_value = surrogate::DEFAULT_SURROGATE)]
        surrogate: PathBuf,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, value_enum, default_value = "flex")]
        backend: Backend,
    },
    /// Sample molecules from the prior with trained weights
    Sample {
        /// How many molecules
        #[arg(long, default_value_t = 1000)]
        n: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output file [default: standard output]
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "smiles")]
        format: generate::Format,
        #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
        weights: PathBuf,
        #[arg(long, value_enum, default_value = "flex")]
        backend: Backend,
        /// Softmax temperature; below 1 samples more typical molecules
        #[arg(long, default_value_t = 1.0)]
        temperature: f32,
        #[arg(long, default_value_t = 2048)]
        batch: usize,
        /// Sample molecules whose HOMO-LUMO gap should be near this (eV):
        /// z is drawn from the prior conditioned on the gap, and the surrogate
        /// keeps the candidates nearest the target
        #[arg(long)]
        gap: Option<f64>,
        /// With --gap: candidates drawn per molecule kept (1: no surrogate)
        #[arg(long, default_value_t = 8)]
        oversample: usize,
        /// With --gap: the surrogate that ranks candidates
        #[arg(long, default_value = "public/surrogate.bin")]
        surrogate: PathBuf,
    },
    /// Print the mean latent of a molecule as JSON
    Encode {
        smiles: String,
        #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
        weights: PathBuf,
    },
    /// Decode a latent (a JSON array, as `encode` prints) greedily into a molecule
    Decode {
        latent: String,
        #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
        weights: PathBuf,
    },
    /// Decode the straight line between two molecules' latents
    Interpolate {
        from: String,
        to: String,
        #[arg(long, default_value_t = 8)]
        steps: usize,
        #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
        weights: PathBuf,
    },
    /// Fit the learned prior (a Gaussian mixture over z and the gap) to trained
    /// weights; `trainer train` does this after its last epoch
    FitPrior {
        #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
        weights: PathBuf,
        /// Where to write the weights with the fitted prior
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, default_value_t = PriorFitConfig::default().components)]
        components: usize,
        #[arg(long, default_value_t = PriorFitConfig::default().points)]
        points: usize,
        #[arg(long, default_value_t = PriorFitConfig::default().seed)]
        seed: u64,
    },
    /// Gap-conditional sampling against QM9's own gaps: for each target, the
    /// mean |QM9 gap - target| over the distinct samples QM9 holds, beside
    /// unconditional samples; lists novel samples for DFT
    EvaluateGap {
        #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
        weights: PathBuf,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Target gaps (eV), comma-separated
        #[arg(long, value_delimiter = ',', default_value = "3,4,5,6,7,8,9,10")]
        targets: Vec<f64>,
        /// Samples per target
        #[arg(long, default_value_t = 200)]
        n: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Novel samples to list per target (for DFT)
        #[arg(long, default_value_t = 5)]
        novel: usize,
        /// Candidates drawn per molecule kept (1: no surrogate guidance)
        #[arg(long, default_value_t = 8)]
        oversample: usize,
        #[arg(long, default_value = "public/surrogate.bin")]
        surrogate: PathBuf,
        /// Write the rows as JSON here
        #[arg(long)]
        json: Option<PathBuf>,
        /// Score the listed novel samples by DFT with the scorer at this URL
        #[arg(long)]
        scorer: Option<String>,
        /// Scorer level for the novel samples (mapped to the qm9 scale)
        #[arg(long, default_value = "fast")]
        level: scorer_api::Level,
    },
    /// Validity, uniqueness, novelty, reconstruction and distribution match
    Evaluate {
        #[arg(long, default_value_t = 10_000)]
        n: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
        weights: PathBuf,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Write the full report as JSON here
        #[arg(long)]
        json: Option<PathBuf>,
        /// Sampling temperature
        #[arg(long, default_value_t = 1.0)]
        temperature: f32,
        #[arg(long, value_enum, default_value = "flex")]
        backend: Backend,
        /// Embed this many samples, and as many QM9 test molecules, in 3D with
        /// RDKit (ETKDGv3); 0 skips the embedding
        #[arg(long, default_value_t = 2000)]
        embed: usize,
        /// Python with RDKit [default: .venv/bin/python, else python3]
        #[arg(long)]
        python: Option<PathBuf>,
    },
    /// Write the browser app's QM9 map sample (test-split SMILES and gaps) as CSV
    ExportMap {
        /// How many test-split molecules
        #[arg(long, default_value_t = trainer::export::MAP_MOLECULES)]
        n: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value = "public/qm9_map.csv")]
        out: PathBuf,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
    },
    /// Write one QM9 split's canonical SMILES, one per line (a reference set
    /// for FCD: `python extras/fcd_score.py samples.smi test.smi`)
    ExportSplit {
        #[arg(long, value_enum, default_value = "test")]
        split: SplitArg,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
    },
    /// Benchmarks that print figures
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Training (graphs/s) and sampling (molecules/s) throughput per CPU backend, and peak memory
    Model {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Weights to sample with [default: public/weights.bin if present]
        #[arg(long)]
        weights: Option<PathBuf>,
        #[arg(long, default_value_t = 10_000)]
        samples: usize,
        /// Only this backend [default: each in turn, each in a fresh process of
        /// its own, so that its peak memory is its own]
        #[arg(long)]
        backend: Option<Backend>,
        /// Print the row only (how the parent runs each backend)
        #[arg(long, hide = true)]
        row_only: bool,
    },
    /// Parse and canonicalise all of QM9, beside RDKit on the same input
    Smiles {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Python with RDKit [default: .venv/bin/python, else python3]
        #[arg(long)]
        python: Option<PathBuf>,
    },
}

/// `print!` that ends the process quietly when stdout is closed (for example
/// `trainer sample | head`), instead of panicking on the broken pipe.
/// A QM9 split, as the command line names it.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum SplitArg {
    Train,
    Valid,
    Test,
}

impl SplitArg {
    fn split(self) -> model_core::data::Split {
        match self {
            SplitArg::Train => model_core::data::Split::Train,
            SplitArg::Valid => model_core::data::Split::Valid,
            SplitArg::Test => model_core::data::Split::Test,
        }
    }
}

macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            return Err(e.into());
        }
    }};
}

macro_rules! outln {
    ($($arg:tt)*) => {{
        out!($($arg)*);
        out!("\n");
    }};
}

/// What `trainer optimize` searches for and how hard.
#[derive(clap::Args)]
struct SearchArgs {
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
            ..SearchSettings::default()
        };
        Ok((constraints, settings))
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Prepare {
            data_dir,
            wheel,
            seed,
            python,
        } => {
            let report = prepare::prepare(&prepare::PrepareOptions {
                data_dir,
                wheel,
                seed,
                python: python::resolve(python.as_deref()),
                progress: std::io::stderr().is_terminal(),
            })?;
            out!("{report}");
        }
        Command::Train {
            config,
            data_dir,
            out,
            backend,
            resume,
            epochs,
            batch_size,
            learning_rate,
            max_train,
            hidden,
            latent,
            seed,
            prior_components,
        } => {
            let mut settings = match &config {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    toml::from_str::<TrainConfig>(&text).with_context(|| {
                        format!("{} is not a valid training config", path.display())
                    })?
                }
                None => TrainConfig::default(),
            };
            if let Some(v) = epochs {
                settings.epochs = v;
            }
            if let Some(v) = batch_size {
                settings.batch_size = v;
            }
            if let Some(v) = learning_rate {
                settings.learning_rate = v;
            }
            if let Some(v) = max_train {
                settings.max_train = v;
            }
            if let Some(v) = hidden {
                settings.model.hidden = v;
            }
            if let Some(v) = latent {
                settings.model.latent = v;
            }
            if let Some(v) = seed {
                settings.seed = v;
            }
            if let Some(v) = prior_components {
                settings.prior.components = v;
            }
            let history = train::train(TrainOptions {
                config: settings,
                dataset: prepare::dataset_path(&data_dir),
                run_dir: out.clone(),
                backend,
                resume,
                progress: std::io::stderr().is_terminal(),
            })?;
            if let Some(last) = history.last() {
                outln!(
                    "trained {} epochs; valid reconstruction {:.4} nats/molecule; weights in {}",
                    last.epoch,
                    last.valid.reconstruction,
                    out.join("weights.bin").display()
                );
            }
        }
        Command::TuneNovelty {
            weights,
            data_dir,
            out,
            backend,
            resume,
            steps,
            batch_size,
            kl_weight,
            learning_rate,
            seed,
            eval_every,
            eval_samples,
            allow_new_ring_systems,
            repeat_window,
        } => {
            let history = novelty_tuning::tune_novelty(NoveltyTuneOptions {
                config: NoveltyTuneConfig {
                    steps,
                    batch_size,
                    policy: PolicySettings {
                        kl_weight,
                        learning_rate,
                    },
                    seed,
                    eval_every,
                    eval_samples,
                    known_ring_systems: !allow_new_ring_systems,
                    repeat_window,
                },
                weights,
                dataset: prepare::dataset_path(&data_dir),
                run_dir: out.clone(),
                backend,
                resume,
                progress: std::io::stderr().is_terminal(),
            })?;
            if let Some(last) = history.last() {
                outln!(
                    "after step {}: {}, KL {:.3} nats; weights in {} (check them with `trainer evaluate --weights`)",
                    last.step,
                    last.samples,
                    last.kl_nats,
                    out.join("weights.bin").display()
                );
            }
        }
        Command::TrainSurrogate {
            data_dir,
            out,
            backend,
            resume,
            epochs,
            batch_size,
            learning_rate,
            max_train,
            max_valid,
            hidden,
            layers,
            seed,
        } => {
            let mut config = SurrogateTrainConfig {
                epochs,
                batch_size,
                learning_rate,
                max_train,
                max_valid,
                seed,
                ..SurrogateTrainConfig::default()
            };
            config.model.hidden = hidden;
            config.model.layers = layers;
            let report = surrogate::train_surrogate(SurrogateOptions {
                config,
                dataset: prepare::dataset_path(&data_dir),
                run_dir: out.clone(),
                backend,
                resume,
                progress: std::io::stderr().is_terminal(),
            })?;
            outln!(
                "best epoch {}: valid MAE {:.4} eV; test MAE {:.4} eV on {} molecules; weights in {}",
                report.best_epoch,
                report.valid_mae_ev,
                report.test_mae_ev,
                report.test_molecules,
                out.join("surrogate.bin").display()
            );
        }
        Command::Optimize {
            out_dir,
            out,
            resume,
            scorer,
            search,
            weights,
            surrogate,
            data_dir,
            backend,
        } => {
            let (constraints, settings) = search.into_parts()?;
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
                trainer::fsio::write_atomically(
                    &path,
                    search::report::csv(&outcome.state).as_bytes(),
                )?;
            }
            out!("{}", search::report::table(&outcome.state, 15));
            outln!(
                "results: {}/results.csv, summary.json, verified.sdf, best_gap.png, gap_distribution.png",
                out_dir.display()
            );
        }
        Command::ExportMap {
            n,
            seed,
            out,
            data_dir,
        } => {
            let dataset = prepare::load_dataset(&prepare::dataset_path(&data_dir))?;
            let csv = trainer::export::map_sample_csv(&dataset, n, seed);
            trainer::fsio::write_atomically(&out, csv.as_bytes())?;
            outln!(
                "{} molecules written to {}",
                csv.lines().count() - 1,
                out.display()
            );
        }
        Command::ExportSplit {
            split,
            out,
            data_dir,
        } => {
            let dataset = prepare::load_dataset(&prepare::dataset_path(&data_dir))?;
            let split = split.split();
            let text: String = dataset
                .split_records(split)
                .map(|r| format!("{}\n", r.canonical))
                .collect();
            trainer::fsio::write_atomically(&out, text.as_bytes())?;
            outln!(
                "{} {} molecules written to {}",
                text.lines().count(),
                split.name(),
                out.display()
            );
        }
        Command::Info { data_dir } => {
            let path = prepare::dataset_path(&data_dir);
            let dataset = prepare::load_dataset(&path)?;
            outln!(
                "{}: {} molecules from wheel sha256 {}",
                path.display(),
                dataset.records.len(),
                dataset.source_sha256
            );
            for split in model_core::data::Split::ALL {
                outln!(
                    "  {:<6} {:>7}",
                    split.name(),
                    dataset.split.get(split).len()
                );
            }
            outln!("  split seed {}", dataset.split.seed);
        }
        Command::Canon {
            smiles,
            ignore_stereo,
        } => {
            let options = SmilesOptions {
                stereo: if ignore_stereo {
                    StereoPolicy::Ignore
                } else {
                    StereoPolicy::Reject
                },
                ..Default::default()
            };
            let mut failed = 0;
            for s in &smiles {
                match parse_smiles_with(s, &options) {
                    Ok(m) => outln!("{s}\t{}\t{}", canonical_smiles(&m), m.formula()),
                    Err(e) => {
                        failed += 1;
                        outln!("{s}\terror: {e}");
                    }
                }
            }
            if failed > 0 {
                return Ok(ExitCode::from(2));
            }
        }
        Command::Predict {
            mut smiles,
            file,
            surrogate,
            data_dir,
            backend,
        } => {
            if let Some(path) = file {
                let text = if path.as_os_str() == "-" {
                    std::io::read_to_string(std::io::stdin())?
                } else {
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?
                };
                smiles.extend(
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(String::from),
                );
            }
            if smiles.is_empty() {
                anyhow::bail!("give SMILES as arguments or with --file");
            }
            let device = backend.device();
            let (model, config) = surrogate::load_surrogate_file(&surrogate, &device)?;
            let qm9 = predict::Qm9Lookup::from_dataset(&prepare::load_dataset(
                &prepare::dataset_path(&data_dir),
            )?);
            let parsed: Vec<_> = smiles.iter().map(|s| parse_smiles(s)).collect();
            let molecules: Vec<_> = parsed
                .iter()
                .filter_map(|p| p.as_ref().ok())
                .cloned()
                .collect();
            let mut predictions =
                predict::predict(&molecules, &model, &config, &qm9, &device).into_iter();
            outln!("input\tcanonical\tpredicted_gap_ev\tqm9_gap_ev\ton_qm9_frameworks");
            let mut failed = 0;
            for (input, parsed) in smiles.iter().zip(&parsed) {
                match parsed {
                    Ok(_) => {
                        let p = predictions.next().expect("one prediction per molecule");
                        outln!(
                            "{input}\t{}\t{:.3}\t{}\t{}",
                            p.canonical,
                            p.predicted_gap_ev,
                            p.qm9_gap_ev.map_or("-".to_string(), |g| format!("{g:.3}")),
                            if p.on_qm9_frameworks { "yes" } else { "no" }
                        );
                    }
                    Err(e) => {
                        failed += 1;
                        outln!("{input}\terror: {e}");
                    }
                }
            }
            if failed > 0 {
                return Ok(ExitCode::from(2));
            }
        }
        Command::Sample {
            n,
            seed,
            out,
            format,
            weights,
            backend,
            temperature,
            batch,
            gap,
            oversample,
            surrogate,
        } => {
            let device = backend.device();
            let (model, config) = generate::load_model(&weights, &device)?;
            let started = std::time::Instant::now();
            let samples = match gap {
                None => generate::sample_parallel(
                    &model,
                    &config,
                    n,
                    seed,
                    batch,
                    temperature,
                    Target::Prior,
                    &device,
                )?,
                Some(gap) => {
                    let guide = generate::Guide::load(&surrogate, oversample, &device)?;
                    generate::sample_near_gap(
                        &model,
                        &config,
                        guide.as_ref(),
                        n,
                        seed,
                        batch,
                        temperature,
                        gap,
                        &device,
                    )
                    .with_context(|| format!("cannot sample with {}", weights.display()))?
                }
            };
            let lines = generate::sample_lines(samples, format);
            let seconds = started.elapsed().as_secs_f64();
            let text = lines.join("\n") + "\n";
            match out {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!(
                        "{n} molecules in {seconds:.2} s ({:.0}/s) written to {}",
                        n as f64 / seconds,
                        path.display()
                    );
                }
                None => out!("{text}"),
            }
        }
        Command::Encode { smiles, weights } => {
            let device = Backend::Flex.device();
            let (model, _) = generate::load_model(&weights, &device)?;
            outln!(
                "{}",
                serde_json::to_string(&generate::encode(&model, &smiles, &device)?)?
            );
        }
        Command::Decode { latent, weights } => {
            let device = Backend::Flex.device();
            let (model, config) = generate::load_model(&weights, &device)?;
            let z: Vec<f32> = serde_json::from_str(&latent)
                .context("the latent must be a JSON array of numbers")?;
            let (m, gap) = generate::decode(&model, &config, &z, &device)?;
            outln!(
                "{}\tpredicted gap {gap:.2} eV",
                model_core::chem::canonical_smiles(&m)
            );
        }
        Command::Interpolate {
            from,
            to,
            steps,
            weights,
        } => {
            let device = Backend::Flex.device();
            let (model, config) = generate::load_model(&weights, &device)?;
            for (t, m, gap) in generate::interpolate(&model, &config, &from, &to, steps, &device)? {
                outln!(
                    "{t:.2}\t{}\tpredicted gap {gap:.2} eV",
                    model_core::chem::canonical_smiles(&m)
                );
            }
        }
        Command::FitPrior {
            weights,
            out,
            data_dir,
            components,
            points,
            seed,
        } => {
            let device = Backend::Flex.device();
            let (model, mut config) = generate::load_model(&weights, &device)?;
            let dataset =
                trainer::prepare::load_dataset(&trainer::prepare::dataset_path(&data_dir))?;
            let fit = PriorFitConfig {
                components,
                points,
                seed,
                ..PriorFitConfig::default()
            };
            let started = std::time::Instant::now();
            let (prior, summary) =
                trainer::prior_fit::fit_prior(&model, &config, &dataset, 0, &fit, &device)?;
            config.prior = prior;
            trainer::fsio::write_atomically(
                &out,
                &model_core::model::weights::save_weights(&model, &config),
            )?;
            eprintln!(
                "prior: {components} Gaussians, {} EM rounds, mean log-likelihood {:.2}, {:.0} s; weights written to {}",
                summary.iterations,
                summary.mean_log_likelihood,
                started.elapsed().as_secs_f64(),
                out.display()
            );
        }
        Command::EvaluateGap {
            weights,
            data_dir,
            targets,
            n,
            seed,
            novel,
            json,
            oversample,
            surrogate,
            scorer,
            level,
        } => {
            let device = Backend::Flex.device();
            let (model, config) = generate::load_model(&weights, &device)?;
            let scorer = scorer.as_deref().map(oracle::Scorer::connect).transpose()?;
            let guide = generate::Guide::load(&surrogate, oversample, &device)?;
            let dataset = prepare::load_dataset(&prepare::dataset_path(&data_dir))?;
            let qm9 = predict::Qm9Lookup::from_dataset(&dataset);
            let mut report = trainer::gap_conditioning::evaluate_gap_conditioning(
                &model,
                &config,
                guide.as_ref(),
                &qm9,
                &targets,
                n,
                seed,
                novel,
                &device,
            )?;
            if let Some(scorer) = &scorer {
                trainer::gap_conditioning::score_novel(&mut report.rows, scorer, level)?;
            }
            outln!("target eV  distinct  in QM9  MAE vs QM9 gap  unconditional MAE  novel DFT MAE");
            let ev = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
            for r in &report.rows {
                outln!(
                    "{:>9.2}  {:>8}  {:>6}  {:>14}  {:>17}  {:>13}",
                    r.target_ev,
                    r.distinct,
                    r.in_qm9,
                    ev(r.mae_qm9_ev),
                    ev(r.unconditional_mae_qm9_ev),
                    ev(r.mae_dft_ev)
                );
            }
            outln!(
                "mean over targets: conditional {} eV, unconditional {} eV, novel by DFT {} eV",
                ev(report.mean_mae(|r| r.mae_qm9_ev)),
                ev(report.mean_mae(|r| r.unconditional_mae_qm9_ev)),
                ev(report.mean_mae(|r| r.mae_dft_ev))
            );
            if let Some(path) = json {
                trainer::fsio::write_atomically(
                    &path,
                    serde_json::to_string_pretty(&report.rows)?.as_bytes(),
                )?;
            }
        }
        Command::Evaluate {
            n,
            seed,
            weights,
            data_dir,
            json,
            temperature,
            backend,
            embed,
            python,
        } => {
            let device = backend.device();
            let (model, config) = generate::load_model(&weights, &device)?;
            let dataset = prepare::load_dataset(&prepare::dataset_path(&data_dir))?;
            let options = evaluate::EvaluateOptions {
                samples: n,
                seed,
                temperature,
                embed,
                python: python::resolve(python.as_deref()),
            };
            let report = evaluate::evaluate(&model, &config, &dataset, &options, &device)?;
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&report)?)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            out!("{report}");
        }
        Command::Bench {
            what:
                BenchCommand::Model {
                    data_dir,
                    weights,
                    samples,
                    backend,
                    row_only,
                },
        } => {
            let weights = weights.or_else(|| {
                let shipped = PathBuf::from(generate::DEFAULT_WEIGHTS);
                shipped.exists().then_some(shipped)
            });
            if !row_only {
                outln!(
                    "graph VAE throughput ({}), training batch {}, sampling batch 2048",
                    weights
                        .as_ref()
                        .map_or("untrained default model".to_string(), |w| w
                            .display()
                            .to_string()),
                    train::TrainConfig::default().batch_size
                );
                outln!(
                    "  {:<9} {:>16} {:>18} {:>12} {:>14}",
                    "backend",
                    "train graphs/s",
                    "sample molecules/s",
                    "mean atoms",
                    "peak RSS MiB"
                );
            }
            match backend {
                Some(backend) => {
                    let dataset = prepare::load_dataset(&prepare::dataset_path(&data_dir))?;
                    let row = bench::bench_model(backend, weights.as_deref(), &dataset, samples)?;
                    outln!(
                        "  {:<9} {:>16.0} {:>18.0} {:>12.2} {:>14}",
                        row.backend,
                        row.train_graphs_per_second,
                        row.sample_molecules_per_second,
                        row.mean_heavy_atoms,
                        row.peak_memory_mib
                            .map_or("?".to_string(), |m| format!("{m:.0}"))
                    );
                }
                // One process per backend: the peak resident memory a process
                // reports is its high-water mark since start, so in one
                // process later rows would include earlier ones.
                None => {
                    for backend in Backend::all() {
                        let mut child = std::process::Command::new(std::env::current_exe()?);
                        child
                            .args(["bench", "model", "--row-only", "--data-dir"])
                            .arg(&data_dir)
                            .args(["--samples", &samples.to_string()])
                            .args(["--backend", backend.name()]);
                        if let Some(w) = &weights {
                            child.arg("--weights").arg(w);
                        }
                        let output = child.stderr(std::process::Stdio::inherit()).output()?;
                        if !output.status.success() {
                            anyhow::bail!(
                                "the {} benchmark failed ({})",
                                backend.name(),
                                output.status
                            );
                        }
                        out!("{}", String::from_utf8_lossy(&output.stdout));
                    }
                }
            }
        }
        Command::Bench {
            what: BenchCommand::Smiles { data_dir, python },
        } => {
            let python = python::resolve(python.as_deref());
            let wheel = wheel::ensure_wheel(&prepare::wheel_cache_dir(&data_dir), &python)?;
            let smiles = wheel::read_smiles(&wheel)?;
            out!("{}", bench::bench_smiles(&smiles, &python)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
