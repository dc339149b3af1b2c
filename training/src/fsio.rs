//! Writing files so that a reader never sees half of one.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};

/// Writes `bytes` to a temporary file beside `path`, then renames it over
/// `path`. The temporary name is unique to this process and call, so
/// concurrent writers of the same file cannot truncate each other's work.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(
        ".{name}.{}.{}.partial",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot move into {}", path.display()))?;
    Ok(())
}

/// `rows` as CSV text, the header taken from the row type's field names:
/// the `csv` crate quotes what needs quoting (commas and quotes in error
/// messages, say). Numbers print in their shortest exact form, so callers
/// round what they want short (`rounded`).
pub fn csv_text<T: serde::Serialize>(rows: impl IntoIterator<Item = T>) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer
            .serialize(row)
            .expect("plain rows serialize to memory");
    }
    String::from_utf8(writer.into_inner().expect("writing to memory"))
        .expect("the csv writer writes UTF-8 given UTF-8")
}

/// `x` rounded to `digits` decimals, for tables people read.
pub fn rounded(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_text_quotes_commas_and_quotes_and_leaves_none_empty() {
        #[derive(serde::Serialize)]
        struct Row<'a> {
            smiles: &'a str,
            gap_ev: Option<f64>,
            error: &'a str,
        }
        let text = csv_text([
            Row {
                smiles: "CC",
                gap_ev: Some(rounded(7.123_456, 4)),
                error: "",
            },
            Row {
                smiles: "C1",
                gap_ev: None,
                error: "RDKit cannot parse 'C1', \"unclosed ring\"",
            },
        ]);
        assert_eq!(
            text,
            "smiles,gap_ev,error\nCC,7.1235,\nC1,,\"RDKit cannot parse 'C1', \"\"unclosed ring\"\"\"\n"
        );
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let last = reader.records().last().unwrap().unwrap();
        assert_eq!(&last[2], "RDKit cannot parse 'C1', \"unclosed ring\"");
    }

    #[test]
    fn concurrent_writers_leave_one_whole_file() {
        let dir = std::env::temp_dir().join(format!("molgap-fsio-{}", std::process::id()));
        let path = dir.join("out.bin");
        let payload = vec![7u8; 4 << 20];
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| write_atomically(&path, &payload).unwrap());
            }
        });
        assert_eq!(std::fs::read(&path).unwrap(), payload);
        std::fs::remove_dir_all(dir).ok();
    }
}
