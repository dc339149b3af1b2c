//! Checkpoint files: a magic tag, the format version (u32 LE), a JSON header
//! line (progress, config, history), then the weights and optimizer bytes.
//! Written atomically, so an interrupted run always leaves the last complete
//! checkpoint behind.
//!
//! Format 1 had no version field (the JSON header followed the magic at
//! once); it is read as before. A newer format than this build knows is
//! refused with what to do, never guessed at.

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

/// The layout this build writes.
/// Format 3 names the progress count `done` in every command's header
/// (`crate::resumable::Progress`); format 2 named it by its unit.
pub const FORMAT_VERSION: u32 = 3;

pub fn save<H: Serialize>(
    path: &Path,
    magic: &[u8; 8],
    header: &H,
    weights: &[u8],
    optimizer: &[u8],
) -> Result<()> {
    let mut bytes = magic.to_vec();
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend(serde_json::to_vec(header)?);
    bytes.push(b'\n');
    bytes.extend_from_slice(&(weights.len() as u64).to_le_bytes());
    bytes.extend_from_slice(weights);
    bytes.extend_from_slice(optimizer);
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
    // Format 1 put the JSON header right after the magic; a version field
    // never starts with '{' (0x7b) below version 123.
    let (version, header_start) = match bytes.get(8) {
        Some(b'{') => (1, 8),
        _ => {
            let field = bytes.get(8..12).with_context(corrupt)?;
            (u32::from_le_bytes(field.try_into()?), 12)
        }
    };
    if version > FORMAT_VERSION || version == 0 {
        bail!(
            "{} is a checkpoint of format {version}, written by a newer molgap; this build reads formats 1 to {FORMAT_VERSION}: update molgap, or start the run again without --resume",
            path.display()
        );
    }
    let newline = bytes
        .iter()
        .position(|&b| b == b'\n')
        .with_context(corrupt)?;
    let header: H = serde_json::from_slice(bytes.get(header_start..newline).with_context(corrupt)?)
        .with_context(corrupt)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: &[u8; 8] = b"MOLGAPTT";

    /// Headers are JSON objects (each command's progress record).
    type Header = std::collections::BTreeMap<String, u32>;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("molgap-checkpoint-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("checkpoint.bin")
    }

    fn sample() -> Checkpoint<Header> {
        Checkpoint {
            header: Header::from([("epochs".to_string(), 3)]),
            weights: vec![9; 5],
            optimizer: vec![7; 3],
        }
    }

    #[test]
    fn round_trip_writes_the_version() {
        let path = scratch("round-trip");
        let written = sample();
        save(
            &path,
            MAGIC,
            &written.header,
            &written.weights,
            &written.optimizer,
        )
        .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes[8..12], FORMAT_VERSION.to_le_bytes());
        let back = load::<Header>(&path, MAGIC).unwrap();
        assert_eq!(
            (back.header, back.weights, back.optimizer),
            (sample().header, vec![9; 5], vec![7; 3])
        );
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
    }

    #[test]
    fn format_one_still_reads_and_a_newer_format_is_refused() {
        let path = scratch("formats");
        // Format 1: the header straight after the magic.
        let mut old = MAGIC.to_vec();
        old.extend(b"{\"epochs\":3}\n");
        old.extend(5u64.to_le_bytes());
        old.extend([9; 5]);
        old.extend([7; 3]);
        std::fs::write(&path, &old).unwrap();
        let back = load::<Header>(&path, MAGIC).unwrap();
        assert_eq!((back.header, back.weights), (sample().header, vec![9; 5]));

        let mut newer = MAGIC.to_vec();
        newer.extend((FORMAT_VERSION + 1).to_le_bytes());
        newer.extend(&old[8..]);
        std::fs::write(&path, &newer).unwrap();
        let error = format!("{:#}", load::<Header>(&path, MAGIC).err().unwrap());
        assert!(
            error.contains("newer molgap") && error.contains("without --resume"),
            "{error}"
        );
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
    }
}
