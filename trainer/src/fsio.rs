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

#[cfg(test)]
mod tests {
    use super::*;

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
