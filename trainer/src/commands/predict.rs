//! `trainer predict`: the surrogate's gap beside QM9's own.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use model_core::chem::parse_smiles;
use training::backend::Backend;
use training::qm9_index::Qm9Index;
use training::{predict, prepare, surrogate};

/// Predict HOMO-LUMO gaps with the surrogate, beside QM9's own gap where QM9
/// holds the molecule and whether its ring systems have QM9 frameworks
/// (tab-separated, one row per input)
#[derive(Args)]
pub struct PredictArgs {
    /// SMILES strings
    smiles: Vec<String>,
    /// Also read SMILES from this file: the first field of each line, so
    /// `SMILES name` lines and sample files read as they are (`-` for
    /// standard input)
    #[arg(long)]
    file: Option<PathBuf>,
    #[arg(long, default_value = surrogate::DEFAULT_SURROGATE)]
    surrogate: PathBuf,
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    #[arg(long, value_enum, default_value = "flex")]
    backend: Backend,
}

impl PredictArgs {
    pub fn run(self) -> Result<ExitCode> {
        let PredictArgs {
            mut smiles,
            file,
            surrogate,
            data_dir,
            backend,
        } = self;
        if let Some(path) = file {
            smiles.extend(super::read_smiles_file(&path)?.into_iter().map(|(_, s)| s));
        }
        if smiles.is_empty() {
            anyhow::bail!("give SMILES as arguments or with --file");
        }
        let device = backend.device();
        let (model, config) = surrogate::load_surrogate_file(&surrogate, &device)?;
        let qm9 =
            Qm9Index::from_dataset(&prepare::load_dataset(&prepare::dataset_path(&data_dir))?);
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
        Ok(ExitCode::SUCCESS)
    }
}
