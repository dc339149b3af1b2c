//! One module per subcommand (or per few that share a subject): each holds
//! its arguments and a `run` that calls the `training` or `search` library.

/// `print!` that ends the process quietly when stdout is closed (for example
/// `trainer sample | head`), instead of panicking on the broken pipe.
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

/// The first whitespace-separated field of each non-empty line of a SMILES
/// file (`-`: standard input), with its line number (from 1).
pub(crate) fn read_smiles_file(path: &std::path::Path) -> anyhow::Result<Vec<(usize, String)>> {
    use anyhow::Context as _;
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading SMILES from standard input")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    Ok(text
        .lines()
        .enumerate()
        .filter_map(|(i, line)| Some((i + 1, line.split_whitespace().next()?.to_string())))
        .collect())
}

pub mod bench;
pub mod canon;
pub mod evaluate;
pub mod evaluate_gap;
pub mod export;
pub mod fit_critic;
pub mod fit_domain;
pub mod fit_exemplars;
pub mod fit_prior;
pub mod latent;
pub mod optimize;
pub mod predict;
pub mod prepare;
pub mod prior;
pub mod refit;
pub mod sample;
pub mod train;
pub mod train_surrogate;
pub mod tune_novelty;
