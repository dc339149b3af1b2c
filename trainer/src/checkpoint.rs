//! Checkpoint files: a magic tag, a JSON header line (progress, config,
//! history), then the weights and optimizer bytes. Written atomically, so an
//! interrupted run always leaves the last complete checkpoint behind.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::fsio::write_atomically;

pub struct Checkpoint<H> {
    pub header: H,
    pub weights: Vec<u8>,
    pub optimizer: Vec<u8>,
}

pub fn save<H: Serialize>(path: &Path, magic: &[u8; 8], checkpoint: &Checkpoint<H>) -> Result<()> {
    let mut bytes = magic.to_vec();
    bytes.extend(serde_json::to_vec(&checkpoint.header)?);
    bytes.push(b'\n');
    bytes.extend_from_slice(&(checkpoint.weights.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&checkpoint.weights);
    bytes.extend_from_slice(&checkpoint.optimizer);
    write_atomically(path, &bytes)
}

pub fn load<H: DeserializeOwned>(path: &Path, magic: &[u8; 8]) -> Result<Checkpoint<H>> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "no checkpoint at {}; run without --resume to start a run",
            path.display()
        )
    })?;
    let corrupt = || {
        format!(
            "{} is not a readable checkpoint; delete it or start another run",
            path.display()
        )
    };
    if !bytes.starts_with(magic) {
        bail!(corrupt());
    }
    let newline = bytes
        .iter()
        .position(|&b| b == b'\n')
        .with_context(corrupt)?;
    let header: H = serde_json::from_slice(&bytes[8..newline]).with_context(corrupt)?;
    let rest = &bytes[newline + 1..];
    let len = u64::from_le_bytes(rest.get(..8).with_context(corrupt)?.try_into()?) as usize;
    let weights = rest.get(8..8 + len).with_context(corrupt)?.to_vec();
    let optimizer = rest[8 + len..].to_vec();
    Ok(Checkpoint {
        header,
        weights,
        optimizer,
    })
}
