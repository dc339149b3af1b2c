//! `trainer`: the command-line front end. Each subcommand is a thin wrapper
//! over a function of the `training` or the `search` library.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

mod commands;

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
/// The subcommands; each one's help is its arguments' doc comment.
enum Command {
    Prepare(commands::prepare::PrepareArgs),
    Info(commands::prepare::InfoArgs),
    Canon(commands::canon::CanonArgs),
    Predict(commands::predict::PredictArgs),
    Train(commands::train::TrainArgs),
    TuneNovelty(commands::tune_novelty::TuneNoveltyArgs),
    TrainSurrogate(commands::train_surrogate::TrainSurrogateArgs),
    Optimize(commands::optimize::OptimizeArgs),
    Sample(commands::sample::SampleArgs),
    Encode(commands::latent::EncodeArgs),
    Decode(commands::latent::DecodeArgs),
    Interpolate(commands::latent::InterpolateArgs),
    FitPrior(commands::fit_prior::FitPriorArgs),
    FitCritic(commands::fit_critic::FitCriticArgs),
    FitExemplars(commands::fit_exemplars::FitExemplarsArgs),
    FitDomain(commands::fit_domain::FitDomainArgs),
    EvaluateGap(commands::evaluate_gap::EvaluateGapArgs),
    Evaluate(commands::evaluate::EvaluateArgs),
    ExportMap(commands::export::ExportMapArgs),
    ExportSplit(commands::export::ExportSplitArgs),
    /// Benchmarks that print figures
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
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
        Command::Prepare(args) => args.run(),
        Command::Info(args) => args.run(),
        Command::Canon(args) => args.run(),
        Command::Predict(args) => args.run(),
        Command::Train(args) => args.run(),
        Command::TuneNovelty(args) => args.run(),
        Command::TrainSurrogate(args) => args.run(),
        Command::Optimize(args) => args.run(),
        Command::Sample(args) => args.run(),
        Command::Encode(args) => args.run(),
        Command::Decode(args) => args.run(),
        Command::Interpolate(args) => args.run(),
        Command::FitPrior(args) => args.run(),
        Command::FitCritic(args) => args.run(),
        Command::FitExemplars(args) => args.run(),
        Command::FitDomain(args) => args.run(),
        Command::EvaluateGap(args) => args.run(),
        Command::Evaluate(args) => args.run(),
        Command::ExportMap(args) => args.run(),
        Command::ExportSplit(args) => args.run(),
        Command::Bench(what) => what.run(),
    }
}
