//! Levels of theory the scorer computes at, by the names the API uses.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

impl Level {
    pub const ALL: [Level; 3] = [Level::Qm9, Level::Fast, Level::Tiny];

    pub fn name(self) -> &'static str {
        match self {
            Level::Qm9 => "qm9",
            Level::Fast => "fast",
            Level::Tiny => "tiny",
        }
    }

    pub fn from_name(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.name() == name)
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

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
