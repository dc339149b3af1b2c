//! Starting a run or resuming it from its checkpoint, and saving its
//! progress. Every resumable command (`train`, `train-surrogate`,
//! `tune-novelty`) goes through here, so they keep the same progress record
//! and resume, extend and save alike; each keeps only its own steps, metrics
//! and plots.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::checkpoint;
use crate::fsio::write_atomically;

/// The JSON header of a checkpoint: how far the run got, its settings, the
/// metrics logged so far, and whatever else the command keeps (`state`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress<C, M, S> {
    /// Epochs done (steps for `tune-novelty`). Checkpoints of format 2 and
    /// before named it by the unit.
    #[serde(alias = "epochs_done", alias = "steps_done")]
    pub done: usize,
    pub config: C,
    pub history: Vec<M>,
    #[serde(flatten)]
    pub state: S,
}

/// For a command that keeps nothing beyond its history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NoState {}

/// Where a resumed run picks up: the bytes its model and optimizer load from.
pub struct Saved {
    pub weights: Vec<u8>,
    pub optimizer: Vec<u8>,
}

/// Which command a checkpoint belongs to, and what its `done` counts.
pub struct RunKind {
    /// Tells one command's checkpoints from another's.
    pub magic: &'static [u8; 8],
    pub unit: &'static str,
}

/// A run's settings, and how long it runs (epochs, or steps for
/// `tune-novelty`): the one setting a resumed run takes from its command line.
pub trait RunLength {
    fn length(&mut self) -> &mut usize;
}

/// A run directory and the progress of the run in it.
pub struct Run<C, M, S = NoState> {
    dir: PathBuf,
    kind: &'static RunKind,
    pub progress: Progress<C, M, S>,
}

impl<C, M, S> Run<C, M, S>
where
    C: RunLength + Serialize + DeserializeOwned,
    M: Serialize + DeserializeOwned,
    S: Serialize + DeserializeOwned,
{
    /// Resumes from `dir/checkpoint.bin` when `resume`, else starts the run
    /// `fresh` gives. A resumed run keeps its saved settings but runs to
    /// `length` when that is longer than it was (a cosine schedule then
    /// stretches over the new total from where the run stands); it is never
    /// shortened.
    pub fn open(
        dir: &Path,
        kind: &'static RunKind,
        resume: bool,
        length: usize,
        fresh: impl FnOnce() -> Result<(C, S)>,
    ) -> Result<(Self, Option<Saved>)> {
        std::fs::create_dir_all(dir)?;
        let run = |progress| Run {
            dir: dir.to_path_buf(),
            kind,
            progress,
        };
        if !resume {
            let (config, state) = fresh()?;
            let progress = Progress {
                done: 0,
                config,
                history: Vec::new(),
                state,
            };
            return Ok((run(progress), None));
        }
        let mut checkpoint =
            checkpoint::load::<Progress<C, M, S>>(&dir.join(CHECKPOINT), kind.magic)?;
        let saved_length = checkpoint.header.config.length();
        *saved_length = (*saved_length).max(length);
        eprintln!(
            "resuming {} after {} {}",
            dir.display(),
            kind.unit,
            checkpoint.header.done
        );
        let saved = Saved {
            weights: checkpoint.weights,
            optimizer: checkpoint.optimizer,
        };
        Ok((run(checkpoint.header), Some(saved)))
    }

    /// Records `metrics` as logged after `done` epochs (or steps).
    pub fn log(&mut self, done: usize, metrics: M) {
        self.progress.done = done;
        self.progress.history.push(metrics);
    }

    /// Writes the checkpoint atomically: an interruption leaves the last
    /// complete one behind.
    pub fn save(&self, weights: &[u8], optimizer: &[u8]) -> Result<()> {
        checkpoint::save(
            &self.dir.join(CHECKPOINT),
            self.kind.magic,
            &self.progress,
            weights,
            optimizer,
        )
    }

    /// Writes `name` in the run directory atomically.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        write_atomically(&self.dir.join(name), bytes)
    }

    /// The settings as `config.toml`, for a person to read.
    pub fn write_config(&self) -> Result<()> {
        std::fs::write(
            self.dir.join("config.toml"),
            toml::to_string_pretty(&self.progress.config)?,
        )?;
        Ok(())
    }
}

const CHECKPOINT: &str = "checkpoint.bin";

#[cfg(test)]
mod tests {
    use super::*;

    const KIND: RunKind = RunKind {
        magic: b"MOLGAPTT",
        unit: "epoch",
    };

    /// Settings whose length is the number in them.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Steps(String, usize);

    impl RunLength for Steps {
        fn length(&mut self) -> &mut usize {
            &mut self.1
        }
    }

    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Best {
        best: f64,
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("molgap-run-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        dir
    }

    #[test]
    fn a_saved_run_resumes_with_its_progress_state_and_bytes() {
        let dir = scratch("resume");
        let (mut run, saved) = Run::<Steps, u32, Best>::open(&dir, &KIND, false, 0, || {
            Ok((Steps("settings".into(), 4), Best { best: 1.5 }))
        })
        .unwrap();
        assert!(saved.is_none());
        run.log(1, 10);
        run.log(2, 20);
        run.progress.state.best = 0.5;
        run.save(&[1, 2, 3], &[4, 5]).unwrap();

        let (back, saved) = Run::<Steps, u32, Best>::open(&dir, &KIND, true, 3, || {
            panic!("a resumed run does not start fresh")
        })
        .unwrap();
        assert_eq!(back.progress, run.progress, "a shorter length is ignored");
        let saved = saved.unwrap();
        assert_eq!(
            (saved.weights, saved.optimizer),
            (vec![1, 2, 3], vec![4, 5])
        );

        let (longer, _) =
            Run::<Steps, u32, Best>::open(&dir, &KIND, true, 9, || unreachable!()).unwrap();
        assert_eq!(longer.progress.config, Steps("settings".into(), 9));
        assert_eq!(longer.progress.done, 2);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn format_two_headers_read_with_their_own_name_for_the_count() {
        let dir = scratch("format-two");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, field) in [("epochs", "epochs_done"), ("steps", "steps_done")] {
            let mut bytes = KIND.magic.to_vec();
            bytes.extend(2u32.to_le_bytes());
            bytes.extend(
                format!(r#"{{"{field}":7,"config":["{name}",8],"history":[3],"best":0.25}}"#)
                    .as_bytes(),
            );
            bytes.push(b'\n');
            bytes.extend(1u64.to_le_bytes());
            bytes.extend([9, 8]);
            std::fs::write(dir.join(CHECKPOINT), &bytes).unwrap();
            let (run, saved) =
                Run::<Steps, u32, Best>::open(&dir, &KIND, true, 0, || unreachable!()).unwrap();
            assert_eq!(
                run.progress,
                Progress {
                    done: 7,
                    config: Steps(name.to_string(), 8),
                    history: vec![3],
                    state: Best { best: 0.25 },
                }
            );
            let saved = saved.unwrap();
            assert_eq!((saved.weights, saved.optimizer), (vec![9], vec![8]));
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn resuming_without_a_checkpoint_says_how_to_start() {
        let dir = scratch("missing");
        let error = Run::<Steps, u32>::open(&dir, &KIND, true, 0, || unreachable!())
            .err()
            .unwrap();
        assert!(
            format!("{error:#}").contains("without --resume"),
            "{error:#}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
