//! The routes, the layers every request passes (limits, Host, CORS, the
//! token, JSON errors), and the built app served beside the API.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use super::error::ApiError;
use super::handlers::{geometry, health, job, molecule, submit};
use super::state::AppState;
use crate::guard::{self, Access};

/// Longest any request may take (a full long-poll and some).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);
/// Longest a client may take to send its body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Web origins allowed by CORS; `*` allows any.
    pub allowed_origins: Vec<String>,
    pub max_body_bytes: usize,
    pub access: Access,
    /// The built browser app (trunk's `dist/`), served at `/` beside the API,
    /// so the page and the API share one origin and need no CORS.
    pub app_dir: Option<std::path::PathBuf>,
}

async fn no_endpoint() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see /v1/health and the README",
    )
}

/// What answers outside the API's routes: the app's files when there is an
/// app, else (and for files it lacks) a JSON 404.
fn static_files(app_dir: Option<&std::path::Path>) -> axum::routing::MethodRouter {
    match app_dir {
        Some(dir) => axum::routing::get_service(
            ServeDir::new(dir)
                .append_index_html_on_directories(true)
                .not_found_service(axum::routing::any(no_endpoint)),
        ),
        None => axum::routing::any(no_endpoint),
    }
}

/// The CORS origins, checked: `*` alone means any origin; anything else must
/// be `scheme://host[:port]`.
fn allowed_origins(origins: &[String]) -> Result<AllowOrigin> {
    if origins.iter().any(|o| o == "*") {
        return Ok(AllowOrigin::any());
    }
    let mut values = Vec::with_capacity(origins.len());
    for origin in origins {
        let uri: axum::http::Uri = origin
            .parse()
            .map_err(|_| anyhow::anyhow!("--allow-origin {origin:?} is not an origin"))?;
        let bare = uri.path_and_query().is_none_or(|p| p.as_str() == "/");
        if uri.scheme().is_none() || uri.authority().is_none() || !bare {
            bail!(
                "--allow-origin {origin:?} is not an origin; write it as scheme://host[:port], e.g. http://127.0.0.1:8080"
            );
        }
        values.push(HeaderValue::from_str(origin.trim_end_matches('/'))?);
    }
    Ok(AllowOrigin::list(values))
}

pub fn router(state: Arc<AppState>, http: &HttpConfig) -> Result<Router> {
    let cors = CorsLayer::new()
        .allow_origin(allowed_origins(&http.allowed_origins)?)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION]);
    let access = http.access.clone();
    Ok(Router::new()
        .route("/v1/jobs", post(submit))
        .route("/v1/jobs/{id}", get(job))
        .route("/v1/jobs/{id}/geometry", get(geometry))
        .route("/v1/molecules", get(molecule))
        .route("/v1/health", get(health))
        .route("/v1/openapi.json", get(openapi))
        .fallback_service(static_files(http.app_dir.as_deref()))
        .layer(DefaultBodyLimit::max(http.max_body_bytes))
        // Outermost last: errors become JSON, panics 500s, then the time
        // limits, the request's shape, its Host, CORS, and the token.
        .layer(middleware::from_fn_with_state(
            access.clone(),
            guard::check_token,
        ))
        .layer(cors)
        .layer(middleware::from_fn_with_state(access, guard::check_host))
        .layer(middleware::from_fn(guard::request_shape))
        .layer(RequestBodyTimeoutLayer::new(BODY_TIMEOUT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn(guard::json_errors))
        .with_state(state))
}

/// This API's OpenAPI document.
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}
