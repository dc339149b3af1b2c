//! `trainer canon`: check SMILES and print their canonical form.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use model_core::chem::{SmilesOptions, StereoPolicy, canonical_smiles, parse_smiles_with};

/// Check SMILES and print their canonical form, or the reason each is rejected
#[derive(Args)]
pub struct CanonArgs {
    /// SMILES strings to check
    #[arg(required = true)]
    smiles: Vec<String>,
    /// Drop stereo marks (@, /, \) instead of rejecting them
    #[arg(long)]
    ignore_stereo: bool,
}

impl CanonArgs {
    pub fn run(self) -> Result<ExitCode> {
        let CanonArgs {
            smiles,
            ignore_stereo,
        } = self;
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
        Ok(ExitCode::SUCCESS)
    }
}
