//! What the handlers share.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::limit::NewJobLimiter;
use crate::store::Store;
use crate::validate::Limits;
use crate::workers::Signals;

pub struct AppState {
    pub store: Arc<Store>,
    pub signals: Arc<Signals>,
    pub limits: Limits,
    pub queue_capacity: usize,
    pub workers: usize,
    pub job_timeout: Duration,
    pub worker_versions: Arc<Mutex<Value>>,
    pub new_jobs: NewJobLimiter,
}
