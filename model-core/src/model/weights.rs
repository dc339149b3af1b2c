//! Weights files: our header and the model config, then burn's burnpack
//! bytes. They load from bytes (the browser fetches them), and say clearly what
//! is wrong with a corrupt or mismatched file.
//!
//! Layout: 8 magic bytes (`MOLGAPW1` for the graph VAE, `MOLGAPS1` for the gap
//! surrogate), u32 LE config length, config JSON, u32 LE CRC-32 of the
//! burnpack bytes, burnpack bytes.
//!
//! The burnpack records each tensor's dtype, so a file stored at either
//! [`Precision`] loads the same way: every float tensor is cast to f32, the
//! precision the networks run at.

use burn::prelude::*;
use burn::store::{BurnpackStore, FloatCastAdapter, HalfPrecisionAdapter, ModuleSnapshot};
use burn::tensor::{Bytes, DType};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::surrogate::{GapSurrogate, SurrogateConfig};
use super::{GraphVae, ModelConfig};

const VAE_MAGIC: &[u8; 8] = b"MOLGAPW1";
const SURROGATE_MAGIC: &[u8; 8] = b"MOLGAPS1";

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("not a molgap {0} file (wrong magic bytes)")]
    BadMagic(&'static str),
    #[error("the weights file is truncated ({0} bytes)")]
    Truncated(usize),
    #[error("the weights file's model config does not parse: {0}")]
    Config(String),
    #[error("the weights file is corrupt (checksum mismatch)")]
    Checksum,
    #[error("the weights do not fit the model in the file's config: {0}")]
    Mismatch(String),
}

/// How a weights file stores the network's floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// f32, as trained: checkpoints and copies that must give back the same
    /// network bit for bit.
    Full,
    /// f16 for every weight matrix, embedding and norm (burn's
    /// `HalfPrecisionAdapter`): half the bytes, for the files that ship (the
    /// page fetches them); rounding the 128-wide network shipped before
    /// it moved test reconstruction 79.13% → 79.15% and FCD 0.148 → 0.149.
    Half,
}

fn pack<M: ModuleSnapshot>(
    magic: &[u8; 8],
    model: &M,
    config: &impl Serialize,
    precision: Precision,
) -> Vec<u8> {
    let mut store = BurnpackStore::from_bytes(None);
    if precision == Precision::Half {
        store = store.with_to_adapter(HalfPrecisionAdapter::new());
    }
    model
        .save_into(&mut store)
        .expect("in-memory save cannot fail");
    let pack = store.get_bytes().expect("saved bytes are available");
    let config = serde_json::to_vec(config).expect("config serialises");
    let mut out = Vec::with_capacity(16 + config.len() + pack.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&(config.len() as u32).to_le_bytes());
    out.extend_from_slice(&config);
    out.extend_from_slice(&crc32fast::hash(&pack).to_le_bytes());
    out.extend_from_slice(&pack);
    out
}

fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize) -> Result<&'a [u8], WeightsError> {
    let slice = bytes
        .get(*at..*at + n)
        .ok_or(WeightsError::Truncated(bytes.len()))?;
    *at += n;
    Ok(slice)
}

fn unpack<'a, C: DeserializeOwned>(
    bytes: &'a [u8],
    magic: &[u8; 8],
    kind: &'static str,
) -> Result<(C, &'a [u8]), WeightsError> {
    let mut at = 0;
    if take(bytes, &mut at, 8).map_err(|_| WeightsError::BadMagic(kind))? != magic {
        return Err(WeightsError::BadMagic(kind));
    }
    let len = u32::from_le_bytes(take(bytes, &mut at, 4)?.try_into().expect("4 bytes")) as usize;
    let config: C = serde_json::from_slice(take(bytes, &mut at, len)?)
        .map_err(|e| WeightsError::Config(e.to_string()))?;
    let crc = u32::from_le_bytes(take(bytes, &mut at, 4)?.try_into().expect("4 bytes"));
    let pack = &bytes[at..];
    if crc32fast::hash(pack) != crc {
        return Err(WeightsError::Checksum);
    }
    Ok((config, pack))
}

fn apply<M: ModuleSnapshot>(model: &mut M, pack: &[u8]) -> Result<(), WeightsError> {
    let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(pack.to_vec())))
        .with_from_adapter(FloatCastAdapter::to(DType::F32));
    let applied = model
        .load_from(&mut store)
        .map_err(|e| WeightsError::Mismatch(e.to_string()))?;
    if !applied.errors.is_empty() || !applied.missing.is_empty() {
        return Err(WeightsError::Mismatch(format!(
            "{} tensors missing, {} errors (first: {:?})",
            applied.missing.len(),
            applied.errors.len(),
            applied
                .errors
                .first()
                .map(|e| format!("{e:?}"))
                .or(applied.missing.first().map(|m| m.0.clone()))
        )));
    }
    Ok(())
}

pub fn save_weights(model: &GraphVae, config: &ModelConfig, precision: Precision) -> Vec<u8> {
    pack(VAE_MAGIC, model, config, precision)
}

pub fn load_weights(
    bytes: &[u8],
    device: &Device,
) -> Result<(GraphVae, ModelConfig), WeightsError> {
    let (config, pack) = unpack::<ModelConfig>(bytes, VAE_MAGIC, "graph VAE weights")?;
    config
        .prior
        .validate(config.latent)
        .map_err(|e| WeightsError::Config(e.to_string()))?;
    if let Some(critic) = &config.critic {
        critic
            .validate(config.latent)
            .map_err(|e| WeightsError::Config(e.to_string()))?;
    }
    if let Some(exemplars) = &config.exemplars {
        exemplars
            .validate(config.latent)
            .map_err(|e| WeightsError::Config(e.to_string()))?;
    }
    let mut model = GraphVae::new(&config, device);
    apply(&mut model, pack)?;
    Ok((model, config))
}

pub fn save_surrogate(model: &GapSurrogate, config: &SurrogateConfig) -> Vec<u8> {
    pack(SURROGATE_MAGIC, model, config, Precision::Full)
}

pub fn load_surrogate(
    bytes: &[u8],
    device: &Device,
) -> Result<(GapSurrogate, SurrogateConfig), WeightsError> {
    let (config, pack) =
        unpack::<SurrogateConfig>(bytes, SURROGATE_MAGIC, "gap surrogate weights")?;
    let mut model = GapSurrogate::new(&config, device);
    apply(&mut model, pack)?;
    Ok((model, config))
}
