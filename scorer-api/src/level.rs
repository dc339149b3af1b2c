//! Levels of theory the scorer computes at, by the names the API uses.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// QM9's own level: B3LYP/6-31G(2df,p).
    Qm9,
    /// The pre-screen: B3LYP/3-21G with density fitting (calibrated in
    /// `results/level_calibration.json`: Spearman 0.98 with `qm9`, about 4x faster).
    Fast,
    /// B3LYP/STO-3G: seconds per molecule; for smoke tests, not for science.
    Tiny,
}

/// A level name the API does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownLevel(pub String);

impl std::fmt::Display for UnknownLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let known: Vec<&str> = Level::ALL.iter().map(|l| l.name()).collect();
        write!(
            f,
            "unknown level {:?}; choose one of {}",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for UnknownLevel {}

impl Level {
    pub const ALL: [Level; 3] = [Level::Qm9, Level::Fast, Level::Tiny];

    pub fn name(self) -> &'static str {
        match self {
            Level::Qm9 => "qm9",
            Level::Fast => "fast",
            Level::Tiny => "tiny",
        }
    }

    /// Functional and basis, as the worker runs them (`scorer/py/dft.py`).
    pub fn method(self) -> &'static str {
        match self {
            Level::Qm9 => "B3LYP(VWN3)/6-31G(2df,p), density fitting",
            Level::Fast => "B3LYP(VWN3)/3-21G, density fitting",
            Level::Tiny => "B3LYP(VWN3)/STO-3G",
        }
    }
}

impl std::str::FromStr for Level {
    type Err = UnknownLevel;

    fn from_str(name: &str) -> Result<Level, UnknownLevel> {
        Level::ALL
            .into_iter()
            .find(|l| l.name() == name)
            .ok_or_else(|| UnknownLevel(name.to_string()))
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_match_serde() {
        for level in Level::ALL {
            assert_eq!(level.name().parse::<Level>(), Ok(level));
            assert_eq!(
                serde_json::to_value(level).unwrap(),
                serde_json::json!(level.name())
            );
        }
        let error = "b3lyp".parse::<Level>().unwrap_err().to_string();
        assert_eq!(
            error,
            "unknown level \"b3lyp\"; choose one of qm9, fast, tiny"
        );
    }
}
