//! The versioned JSON API: handlers over `scorer-api`'s types, described
//! by the OpenAPI document `openapi.rs` generates from them.
//!
//! Every error is JSON, `{"error": MESSAGE, "code": CODE}`, with a 4xx status
//! that says whose fault it is (`guard::json_errors` rewrites the few that
//! axum and tower-http produce as text); bad molecules are refused here,
//! before any worker sees them.

pub mod error;
pub mod handlers;
pub mod router;
pub mod state;

pub use error::ApiError;
pub use handlers::MAX_WAIT;
pub use router::{HttpConfig, router};
pub use state::AppState;
