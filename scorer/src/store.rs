//! The persistent job store: one SQLite file holding jobs and results.
//!
//! A job is written before it is acknowledged, so a restart loses nothing:
//! jobs found `running` at start-up were cut off and are queued again. Results
//! are keyed by (canonical SMILES, level), so a molecule is computed once.
//!
//! One service owns a store at a time: `open` takes an exclusive lock on
//! `<store>.lock` and holds it for the life of the `Store`, so a second
//! instance on the same file stops with a message instead of requeueing the
//! first one's running jobs.

use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};
use scorer_api::{DftResult, Disposition, Job, JobState, Level, QueueCounts, StoredResult};
use serde_json::Value;

use crate::lock;
use crate::validate::ValidMolecule;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    smiles      TEXT NOT NULL,
    canonical   TEXT NOT NULL,
    charge      INTEGER NOT NULL,
    level       TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    cached      INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    worker_pid  INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  REAL NOT NULL,
    started_at  REAL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, id);
CREATE INDEX IF NOT EXISTS jobs_by_molecule ON jobs (canonical, level);
CREATE TABLE IF NOT EXISTS results (
    canonical   TEXT NOT NULL,
    level       TEXT NOT NULL,
    result      TEXT NOT NULL,
    versions    TEXT NOT NULL,
    computed_at REAL NOT NULL,
    PRIMARY KEY (canonical, level)
);
";

/// A state as the `jobs` table spells it (its CHECK constraint admits no other).
fn state_of(name: &str) -> JobState {
    JobState::from_name(name).unwrap_or(JobState::Failed)
}

/// What a worker needs to compute a claimed job.
#[derive(Clone, Debug)]
pub struct ClaimedJob {
    pub id: i64,
    pub canonical: String,
    pub charge: i32,
    pub level: String,
}

#[derive(Debug, thiserror::Error)]
#[error("the queue is full ({queued} jobs queued, room for {capacity}); retry later")]
pub struct QueueFull {
    pub queued: usize,
    pub capacity: usize,
}

pub struct Store {
    db: Mutex<Connection>,
    /// Held (locked) while this store is open; released when it is dropped.
    _instance_lock: std::fs::File,
}

/// Another process holds the store's instance lock.
#[derive(Debug, thiserror::Error)]
#[error(
    "the job store {store} is in use by another scorer ({holder}); stop that one, or give this one its own --db"
)]
pub struct StoreInUse {
    pub store: String,
    pub holder: String,
}

/// Takes the exclusive instance lock beside `path` and writes our pid in it.
fn lock_instance(path: &Path) -> Result<std::fs::File> {
    use std::io::{Read, Seek, Write};
    let lock_path = {
        let mut name = path.as_os_str().to_owned();
        name.push(".lock");
        std::path::PathBuf::from(name)
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .with_context(|| format!("cannot open the lock file {}", lock_path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => "pid unknown".to_string(),
                pid => format!("pid {pid}"),
            };
            return Err(StoreInUse {
                store: path.display().to_string(),
                holder,
            }
            .into());
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", lock_path.display()));
        }
    }
    file.set_len(0)?;
    file.rewind()?;
    writeln!(file, "{}", std::process::id())?;
    Ok(file)
}

/// A level as the store spells it (written from [`Level::name`] only).
fn level_of(name: &str) -> rusqlite::Result<Level> {
    name.parse().map_err(|e: scorer_api::UnknownLevel| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Store {
    /// Opens (or creates) the store, taking its instance lock (an error
    /// [`StoreInUse`] if another process holds it), and queues again any job
    /// that a previous run left `running`. Returns the store and how many jobs
    /// it requeued.
    pub fn open(path: &Path) -> Result<(Store, usize)> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let instance_lock = lock_instance(path)?;
        let db = Connection::open(path)
            .with_context(|| format!("cannot open job store {}", path.display()))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.execute_batch(SCHEMA)
            .with_context(|| format!("{} is not a scorer job store", path.display()))?;
        let requeued = db.execute(
            "UPDATE jobs SET state = 'queued', worker_pid = NULL, started_at = NULL WHERE state = 'running'",
            [],
        )?;
        Ok((
            Store {
                db: Mutex::new(db),
                _instance_lock: instance_lock,
            },
            requeued,
        ))
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (statements
        // are atomic), so a poisoned lock is safe to keep using.
        lock(&self.db)
    }

    /// Takes in a batch all or nothing: either every molecule gets a job, or
    /// (queue full) none does.
    pub fn submit(
        &self,
        molecules: &[ValidMolecule],
        level: Level,
        capacity: usize,
    ) -> Result<std::result::Result<Vec<(Job, Disposition)>, QueueFull>> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let queued: i64 = tx.query_row(
            "SELECT COUNT(*) FROM jobs WHERE state = 'queued'",
            [],
            |r| r.get(0),
        )?;
        let queued = queued as usize;
        // What each molecule becomes, decided before anything is written.
        enum Plan {
            New,
            Cached,
            Existing(i64),
            /// Same molecule as an earlier entry of this batch.
            SameAs(usize),
        }
        let mut plan = Vec::with_capacity(molecules.len());
        let mut first_in_batch = std::collections::HashMap::new();
        for (i, m) in molecules.iter().enumerate() {
            let stored = tx
                .query_row(
                    "SELECT 1 FROM results WHERE canonical = ?1 AND level = ?2",
                    params![m.canonical, level.name()],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            let active: Option<i64> = tx
                .query_row(
                    "SELECT id FROM jobs WHERE canonical = ?1 AND level = ?2 AND state IN ('queued', 'running') ORDER BY id LIMIT 1",
                    params![m.canonical, level.name()],
                    |r| r.get(0),
                )
                .optional()?;
            plan.push(match (stored, active) {
                (true, _) => Plan::Cached,
                (false, Some(id)) => Plan::Existing(id),
                (false, None) => match first_in_batch.get(m.canonical.as_str()) {
                    Some(&first) => Plan::SameAs(first),
                    None => {
                        first_in_batch.insert(m.canonical.as_str(), i);
                        Plan::New
                    }
                },
            });
        }
        let new_jobs = plan.iter().filter(|p| matches!(p, Plan::New)).count();
        if queued + new_jobs > capacity {
            return Ok(Err(QueueFull { queued, capacity }));
        }
        let t = now();
        let mut taken: Vec<(i64, Disposition)> = Vec::with_capacity(plan.len());
        for (m, p) in molecules.iter().zip(&plan) {
            taken.push(match *p {
                Plan::New | Plan::Cached => {
                    let cached = matches!(p, Plan::Cached);
                    tx.execute(
                        "INSERT INTO jobs (smiles, canonical, charge, level, state, cached, created_at, finished_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        params![
                            m.input,
                            m.canonical,
                            m.charge,
                            level.name(),
                            if cached { "done" } else { "queued" },
                            cached,
                            t,
                            cached.then_some(t)
                        ],
                    )?;
                    let d = if cached { Disposition::Cached } else { Disposition::Queued };
                    (tx.last_insert_rowid(), d)
                }
                Plan::Existing(id) => (id, Disposition::Joined),
                Plan::SameAs(first) => (taken[first].0, Disposition::Joined),
            });
        }
        tx.commit()?;
        drop(db);
        let mut out = Vec::with_capacity(taken.len());
        for (id, disposition) in taken {
            out.push((self.job(id)?.expect("job just written"), disposition));
        }
        Ok(Ok(out))
    }

    /// Marks the oldest queued job running and returns it.
    pub fn claim_next(&self) -> Result<Option<ClaimedJob>> {
        let db = self.db();
        Ok(db
            .query_row(
                "UPDATE jobs SET state = 'running', started_at = ?1, attempts = attempts + 1
                 WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1)
                 RETURNING id, canonical, charge, level",
                params![now()],
                |r| {
                    Ok(ClaimedJob {
                        id: r.get(0)?,
                        canonical: r.get(1)?,
                        charge: r.get(2)?,
                        level: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn set_worker_pid(&self, job: i64, pid: u32) -> Result<()> {
        self.db().execute(
            "UPDATE jobs SET worker_pid = ?2 WHERE id = ?1",
            params![job, pid],
        )?;
        Ok(())
    }

    pub fn finish_ok(&self, job: &ClaimedJob, result: &DftResult, versions: &Value) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let t = now();
        tx.execute(
            "INSERT OR REPLACE INTO results (canonical, level, result, versions, computed_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                job.canonical,
                job.level,
                serde_json::to_string(result)?,
                versions.to_string(),
                t
            ],
        )?;
        tx.execute(
            "UPDATE jobs SET state = 'done', finished_at = ?2 WHERE id = ?1",
            params![job.id, t],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn finish_err(&self, job: i64, error: &str) -> Result<()> {
        self.db().execute(
            "UPDATE jobs SET state = 'failed', error = ?2, finished_at = ?3 WHERE id = ?1",
            params![job, error, now()],
        )?;
        Ok(())
    }

    pub fn job(&self, id: i64) -> Result<Option<Job>> {
        let db = self.db();
        Ok(db
            .query_row(
                "SELECT j.id, j.smiles, j.canonical, j.level, j.state, j.cached, j.error, j.worker_pid,
                        j.created_at, j.started_at, j.finished_at, r.result
                 FROM jobs j LEFT JOIN results r
                   ON j.state = 'done' AND r.canonical = j.canonical AND r.level = j.level
                 WHERE j.id = ?1",
                params![id],
                |r| {
                    let result: Option<String> = r.get(11)?;
                    let level: String = r.get(3)?;
                    Ok(Job {
                        id: r.get(0)?,
                        smiles: r.get(1)?,
                        canonical: r.get(2)?,
                        level: level_of(&level)?,
                        state: state_of(&r.get::<_, String>(4)?),
                        cached: r.get(5)?,
                        error: r.get(6)?,
                        worker_pid: r.get(7)?,
                        created_at: r.get(8)?,
                        started_at: r.get(9)?,
                        finished_at: r.get(10)?,
                        result: result.and_then(|s| serde_json::from_str(&s).ok()),
                    })
                },
            )
            .optional()?)
    }

    /// Stored results for a canonical SMILES, at every level or one.
    pub fn results_for(&self, canonical: &str, level: Option<Level>) -> Result<Vec<StoredResult>> {
        let db = self.db();
        let mut stmt = db.prepare(
            "SELECT level, result, versions, computed_at FROM results
             WHERE canonical = ?1 AND (?2 IS NULL OR level = ?2) ORDER BY level",
        )?;
        let rows = stmt.query_map(params![canonical, level.map(Level::name)], |r| {
            let level: String = r.get(0)?;
            let result: String = r.get(1)?;
            let versions: String = r.get(2)?;
            Ok((level, result, versions, r.get::<_, f64>(3)?))
        })?;
        let mut stored = Vec::new();
        for row in rows {
            let (level, result, versions, computed_at) = row?;
            stored.push(StoredResult {
                level: level_of(&level)?,
                result: serde_json::from_str(&result).with_context(|| {
                    format!("a stored {level} result for {canonical} is unreadable")
                })?,
                versions: serde_json::from_str(&versions).unwrap_or(Value::Null),
                computed_at,
            });
        }
        Ok(stored)
    }

    pub fn counts(&self) -> Result<QueueCounts> {
        let db = self.db();
        let mut counts = QueueCounts::default();
        let mut stmt = db.prepare("SELECT state, COUNT(*) FROM jobs GROUP BY state")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (state, n) = row?;
            let n = n as usize;
            match state_of(&state) {
                JobState::Queued => counts.queued = n,
                JobState::Running => counts.running = n,
                JobState::Done => counts.done = n,
                JobState::Failed => counts.failed = n,
            }
        }
        counts.results =
            db.query_row("SELECT COUNT(*) FROM results", [], |r| r.get::<_, i64>(0))? as usize;
        Ok(counts)
    }
}
