//! What storing the network in half precision saves: writes `WEIGHTS` again
//! beside `OUT` at full precision (`OUT.f32`) and to `OUT` at half precision
//! (`Precision::Half`, how `trainer` writes the weights it ships; gzip both
//! to compare), so that `trainer sample` and `trainer evaluate --weights OUT`
//! measure what the rounding does to the molecules.
//!
//! cargo run --release -p training --example half_precision -- WEIGHTS OUT

use anyhow::{Context, Result, bail};
use burn::prelude::Device;
use model_core::model::weights::{Precision, load_weights, save_weights};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [weights, out] = args.as_slice() else {
        bail!("usage: half_precision WEIGHTS OUT");
    };
    let device = Device::flex();
    let bytes = std::fs::read(weights).with_context(|| format!("cannot read {weights}"))?;
    let (model, config) = load_weights(&bytes, &device)?;
    for (path, precision) in [
        (format!("{out}.f32"), Precision::Full),
        (out.clone(), Precision::Half),
    ] {
        let data = save_weights(&model, &config, precision);
        std::fs::write(&path, &data).with_context(|| format!("cannot write {path}"))?;
        println!("{precision:?}: {} bytes in {path}", data.len());
    }
    Ok(())
}
