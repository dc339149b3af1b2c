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

pub mod bench;
pub mod canon;
pub mod evaluate;
pub mod evaluate_gap;
pub mod export;
pub mod fit_prior;
pub mod latent;
pub mod optimize;
pub mod predict;
pub mod prepare;
pub mod sample;
pub mod train;
pub mod train_surrogate;
pub mod tune_novelty;
