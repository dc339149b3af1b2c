//! The prepared QM9 dataset and its binary file format.
//!
//! Layout: 8-byte magic, u32 format version (LE), u32 CRC-32 of the payload
//! (LE), then the payload in postcard encoding. The header lets a truncated,
//! corrupt or outdated file fail with a message instead of garbage.

use serde::{Deserialize, Serialize};

use super::{Qm9Record, Split, SplitIndices};
use crate::chem::frameworks::RingFrameworks;

const MAGIC: &[u8; 8] = b"MOLGAPQ9";
const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 16;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Qm9Dataset {
    /// sha256 of the source wheel, so results name the exact data they used.
    pub source_sha256: String,
    pub records: Vec<Qm9Record>,
    pub split: SplitIndices,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DatasetError {
    #[error("not a prepared QM9 dataset (wrong magic bytes); run `trainer prepare`")]
    BadMagic,
    #[error(
        "dataset format version {found}, but this build reads version {expected}; run `trainer prepare` again"
    )]
    Version { found: u32, expected: u32 },
    #[error("dataset file is truncated ({len} bytes); run `trainer prepare` again")]
    Truncated { len: usize },
    #[error("dataset file is corrupt (checksum mismatch); run `trainer prepare` again")]
    Checksum,
    #[error("dataset file does not decode ({0}); run `trainer prepare` again")]
    Decode(String),
}

impl Qm9Dataset {
    pub fn new(source_sha256: String, records: Vec<Qm9Record>, seed: u64) -> Qm9Dataset {
        let split = SplitIndices::new(records.len(), seed);
        Qm9Dataset {
            source_sha256,
            records,
            split,
        }
    }

    /// The records of one split, in record order.
    pub fn split_records(&self, split: Split) -> impl Iterator<Item = &Qm9Record> {
        self.split
            .get(split)
            .iter()
            .map(|&i| &self.records[i as usize])
    }

    /// The ring frameworks of every molecule, all splits: the ring systems a
    /// model trained on QM9 has seen.
    pub fn ring_frameworks(&self) -> RingFrameworks {
        RingFrameworks::of_molecules(self.records.iter().map(|r| &r.molecule))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let payload = postcard::to_stdvec(self).expect("in-memory serialization cannot fail");
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Qm9Dataset, DatasetError> {
        if bytes.len() < HEADER_LEN {
            return Err(if bytes.starts_with(&MAGIC[..bytes.len().min(8)]) {
                DatasetError::Truncated { len: bytes.len() }
            } else {
                DatasetError::BadMagic
            });
        }
        if &bytes[..8] != MAGIC {
            return Err(DatasetError::BadMagic);
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if version != FORMAT_VERSION {
            return Err(DatasetError::Version {
                found: version,
                expected: FORMAT_VERSION,
            });
        }
        let crc = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes"));
        let payload = &bytes[HEADER_LEN..];
        if crc32fast::hash(payload) != crc {
            return Err(DatasetError::Checksum);
        }
        let dataset: Qm9Dataset =
            postcard::from_bytes(payload).map_err(|e| DatasetError::Decode(e.to_string()))?;
        if dataset.split.total() != dataset.records.len()
            || Split::ALL.iter().any(|&s| {
                dataset
                    .split
                    .get(s)
                    .iter()
                    .any(|&i| i as usize >= dataset.records.len())
            })
        {
            return Err(DatasetError::Decode(
                "split does not match the records".into(),
            ));
        }
        Ok(dataset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Qm9Row;

    fn tiny() -> Qm9Dataset {
        let row = Qm9Row {
            index: "2",
            smiles: "N",
            n_atoms: "4",
            stoichiometry: "[3,0,1,0,0]",
            elements: "['N','H','H','H']",
            xyz: "[[0,0,0],[1,0,0],[0,1,0],[0,0,1]]",
            homo: "-0.257",
            lumo: "0.0829",
            gap: "0.3399",
        };
        let record = row.to_record().unwrap();
        Qm9Dataset::new("abc".into(), vec![record; 20], 3)
    }

    #[test]
    fn round_trips_through_bytes() {
        let d = tiny();
        let back = Qm9Dataset::from_bytes(&d.to_bytes()).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.split_records(Split::Train).count(), 16);
    }

    #[test]
    fn damaged_files_give_clear_errors() {
        let bytes = tiny().to_bytes();
        assert_eq!(
            Qm9Dataset::from_bytes(b"hello world, not data"),
            Err(DatasetError::BadMagic)
        );
        assert_eq!(
            Qm9Dataset::from_bytes(&bytes[..10]),
            Err(DatasetError::Truncated { len: 10 })
        );
        let mut flipped = bytes.clone();
        let last = flipped.len() - 5;
        flipped[last] ^= 0xFF;
        assert_eq!(
            Qm9Dataset::from_bytes(&flipped),
            Err(DatasetError::Checksum)
        );
        let mut old = bytes.clone();
        old[8] = 0;
        assert!(matches!(
            Qm9Dataset::from_bytes(&old),
            Err(DatasetError::Version { found: 0, .. })
        ));
        assert!(matches!(
            Qm9Dataset::from_bytes(&bytes[..bytes.len() - 3]),
            Err(DatasetError::Checksum)
        ));
    }
}
