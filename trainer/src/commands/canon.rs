//! `trainer canon`: check SMILES and print their canonical form.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use model_core::chem::{
    Molecule, SmilesOptions, StereoPolicy, canonical_smiles, parse_smiles_with,
};

/// Check SMILES and print their canonical form, formula and the structural
/// rules each breaks ("-" for none), or the reason it is rejected
#[derive(Args)]
pub struct CanonArgs {
    /// SMILES strings to check
    #[arg(required_unless_present = "file")]
    smiles: Vec<String>,
    /// Also check the first field of each line of this file ("-": standard input)
    #[arg(long, value_name = "FILE")]
    file: Option<std::path::PathBuf>,
    /// Drop stereo marks (@, /, \) instead of rejecting them
    #[arg(long)]
    ignore_stereo: bool,
}

impl CanonArgs {
    pub fn run(self) -> Result<ExitCode> {
        let CanonArgs {
            mut smiles,
            file,
            ignore_stereo,
        } = self;
        if let Some(path) = file {
            smiles.extend(super::read_smiles_file(&path)?.into_iter().map(|(_, s)| s));
        }
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
                Ok(m) => outln!(
                    "{s}\t{}\t{}\t{}",
                    canonical_smiles(&m),
                    m.formula(),
                    broken_rules(&m)
                ),
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

/// The ids of the structural rules `m` breaks, comma-separated, or "-".
fn broken_rules(m: &Molecule) -> String {
    let mut ids: Vec<&str> = m
        .structural_violations()
        .iter()
        .map(|v| v.rule.id())
        .collect();
    ids.dedup();
    if ids.is_empty() {
        "-".to_string()
    } else {
        ids.join(",")
    }
}
