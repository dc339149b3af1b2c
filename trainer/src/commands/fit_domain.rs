//! `trainer fit-domain`: the ring frameworks of the data the model learnt,
//! put in the weights for gap-conditioned sampling to trust.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::refit::RefitArgs;

/// Put the generic ring frameworks of QM9's molecules (every split) in the
/// weights: gap-conditioned sampling, the page's too, then ranks candidates
/// with a ring system outside them after every candidate inside, since the
/// gap head's and the surrogate's predictions there are extrapolation. A few
/// hundred frameworks, some kB. About 3 s
#[derive(Args)]
pub struct FitDomainArgs {
    #[command(flatten)]
    refit: RefitArgs,
}

impl FitDomainArgs {
    pub fn run(self) -> Result<ExitCode> {
        let mut refit = self.refit.load()?;
        let frameworks = refit.dataset.ring_frameworks();
        let count = frameworks.len();
        refit.config.ring_frameworks = Some(frameworks);
        let out = refit.write()?;
        eprintln!(
            "{count} ring frameworks: weights written to {}",
            out.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}
