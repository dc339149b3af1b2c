//! SD file records: a mol block (the 3D geometry with its bonds, as RDKit
//! writes it) followed by named data items, as RDKit, Open Babel and every
//! viewer read them.

use std::fmt::Write;

/// Why a record cannot be written.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SdfError {
    #[error("the mol block does not end with \"M  END\"")]
    NoMolBlockEnd,
    #[error("property name {0:?} is empty or holds '<', '>' or a line break")]
    BadName(String),
    #[error("property {0:?} has a value with a line break or a line starting with '$$$$'")]
    BadValue(String),
}

/// One SDF record: `molblock` (ending in `M  END`), then each `(name, value)`
/// as a data item, then the `$$$$` separator. Values are single lines.
pub fn sdf_record(molblock: &str, properties: &[(&str, String)]) -> Result<String, SdfError> {
    let block = molblock.trim_end();
    if !block.ends_with("M  END") {
        return Err(SdfError::NoMolBlockEnd);
    }
    let mut out = String::with_capacity(block.len() + 64 * properties.len());
    out.push_str(block);
    out.push('\n');
    for (name, value) in properties {
        if name.is_empty() || name.contains(['<', '>', '\n', '\r']) {
            return Err(SdfError::BadName(name.to_string()));
        }
        if value.contains(['\n', '\r']) || value.starts_with("$$$$") {
            return Err(SdfError::BadValue(name.to_string()));
        }
        // A data item ends at a blank line, so an empty value is written as such.
        let _ = write!(out, ">  <{name}>\n{value}\n\n");
    }
    out.push_str("$$$$\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WATER: &str = "\n     RDKit          3D\n\n  3  2  0  0  0  0  0  0  0  0999 V2000\n    0.0000    0.0000    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0\n    0.9600    0.0000    0.0000 H   0  0  0  0  0  0  0  0  0  0  0  0\n   -0.2400    0.9300    0.0000 H   0  0  0  0  0  0  0  0  0  0  0  0\n  1  2  1  0\n  1  3  1  0\nM  END\n";

    #[test]
    fn a_record_is_the_block_its_items_and_the_separator() {
        let record =
            sdf_record(WATER, &[("SMILES", "O".into()), ("gap_ev", "13.33".into())]).unwrap();
        assert!(record.starts_with(WATER.trim_end()));
        assert!(record.ends_with("M  END\n>  <SMILES>\nO\n\n>  <gap_ev>\n13.33\n\n$$$$\n"));
    }

    #[test]
    fn bad_blocks_names_and_values_are_refused() {
        assert_eq!(sdf_record("3 2", &[]), Err(SdfError::NoMolBlockEnd));
        assert_eq!(
            sdf_record(WATER, &[("a>b", "1".into())]),
            Err(SdfError::BadName("a>b".into()))
        );
        assert_eq!(
            sdf_record(WATER, &[("note", "two\nlines".into())]),
            Err(SdfError::BadValue("note".into()))
        );
    }
}
