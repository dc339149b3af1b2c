//! What storing the network in half precision would cost and save: writes
//! the network's burnpack bytes as stored today (f32) and in f16 beside
//! `OUT` (`OUT.f32pack`, `OUT.f16pack`; gzip them to compare), and to `OUT`
//! itself the same weights with every weight matrix, embedding and norm
//! rounded to f16 (burn's `HalfPrecisionAdapter`), stored as usual, so that
//! `trainer sample` and `trainer evaluate --weights OUT` measure what the
//! rounding does to the molecules.
//!
//! cargo run --release -p training --example half_precision -- WEIGHTS OUT

use anyhow::{Context, Result, bail};
use burn::prelude::Device;
use burn::store::{BurnpackStore, HalfPrecisionAdapter, ModuleSnapshot};
use burn::tensor::Bytes;
use model_core::model::weights::{load_weights, save_weights};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [weights, out] = args.as_slice() else {
        bail!("usage: half_precision WEIGHTS OUT");
    };
    let device = Device::flex();
    let bytes = std::fs::read(weights).with_context(|| format!("cannot read {weights}"))?;
    let (mut model, config) = load_weights(&bytes, &device)?;

    let pack = |store: &mut BurnpackStore| -> Result<Vec<u8>> {
        model.save_into(store)?;
        Ok(store.get_bytes()?.to_vec())
    };
    let full = pack(&mut BurnpackStore::from_bytes(None))?;
    let half =
        pack(&mut BurnpackStore::from_bytes(None).with_to_adapter(HalfPrecisionAdapter::new()))?;
    println!(
        "network as stored (f32): {} bytes; in f16: {} bytes",
        full.len(),
        half.len()
    );

    for (suffix, data) in [("f32pack", &full), ("f16pack", &half)] {
        let path = format!("{out}.{suffix}");
        std::fs::write(&path, data).with_context(|| format!("cannot write {path}"))?;
    }
    let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(half)))
        .with_from_adapter(HalfPrecisionAdapter::new());
    model.load_from(&mut store)?;
    std::fs::write(out, save_weights(&model, &config))
        .with_context(|| format!("cannot write {out}"))?;
    println!("weights rounded to f16 written to {out}");
    Ok(())
}
