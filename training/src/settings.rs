//! Settings in layers: the defaults in code, then a TOML file, then
//! command-line flags. One rule merges them (a later layer's keys replace
//! an earlier one's, table by table) and one deserialisation checks the
//! result, so a flag is just another layer shaped like the file.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use toml::Table;

/// `T`'s defaults, with the TOML `file` (any subset of `T`'s keys) over
/// them and `flags` (serialised like `T`, unset flags skipped) over both.
/// `what` names `T` in the message for a file that does not fit it.
pub fn layered<T>(file: Option<&Path>, flags: &impl Serialize, what: &str) -> Result<T>
where
    T: Default + Serialize + DeserializeOwned,
{
    let mut merged = Table::try_from(T::default()).context("the defaults as TOML")?;
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        // Parsed as `T` first, so that a typo is reported with its line.
        toml::from_str::<T>(&text)
            .with_context(|| format!("{} is not a valid {what}", path.display()))?;
        merge(&mut merged, toml::from_str(&text)?);
    }
    merge(
        &mut merged,
        Table::try_from(flags).context("the flags as TOML")?,
    );
    T::deserialize(toml::Value::Table(merged))
        .with_context(|| format!("the flags do not make a valid {what}"))
}

fn merge(base: &mut Table, over: Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(over_inner)) => {
                merge(inner, over_inner)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_layers_replace_keys_table_by_table() {
        let mut base: Table = toml::from_str("a = 1\n[t]\nx = 1\ny = 2\n").unwrap();
        merge(&mut base, toml::from_str("b = 3\n[t]\ny = 5\n").unwrap());
        let expected: Table = toml::from_str("a = 1\nb = 3\n[t]\nx = 1\ny = 5\n").unwrap();
        assert_eq!(base, expected);
    }
}
