//! What every request passes before it reaches a handler: its size, the name
//! it was sent to (DNS rebinding), the access token, and a JSON body on every
//! error, whichever layer produced it.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api::ApiError;

/// Longest request target (path and query) in bytes; longer gets 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most header fields, and most header bytes (names and values), before 431.
pub const MAX_HEADERS: usize = 64;
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Who may use the service.
#[derive(Clone, Debug, Default)]
pub struct Access {
    /// Clients must send `Authorization: Bearer TOKEN`. Required whenever
    /// the service listens beyond loopback.
    pub token: Option<String>,
    /// Host names (without port) the `Host` header may carry; `None` accepts
    /// any (a token guards the service instead).
    pub hosts: Option<Vec<String>>,
}

/// The names a loopback service answers to.
pub const LOOPBACK_HOSTS: [&str; 4] = ["127.0.0.1", "localhost", "[::1]", "::1"];

/// 414 and 431 with a JSON body, below hyper's own limits (which answer with
/// a bare status).
pub async fn request_shape(request: Request, next: Next) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the request target has {target} bytes; the limit is {MAX_URI_BYTES}"),
        )
        .into_response();
    }
    let headers = request.headers();
    let bytes: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!(
                "{} header fields, {bytes} bytes; the limits are {MAX_HEADERS} fields and {MAX_HEADER_BYTES} bytes",
                headers.len()
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// The host name a request was sent to, without its port.
fn host_name(request: &Request) -> Option<String> {
    let host = match request.headers().get(header::HOST) {
        Some(value) => value.to_str().ok()?.to_string(),
        None => request.uri().authority()?.as_str().to_string(),
    };
    let name = if host.starts_with('[') {
        host.split_inclusive(']')
            .next()
            .unwrap_or(&host)
            .to_string()
    } else {
        host.split(':').next().unwrap_or(&host).to_string()
    };
    Some(name.to_ascii_lowercase())
}

/// Refuses requests addressed to a name the service does not answer to: a
/// web page whose DNS name was rebound to 127.0.0.1 sends its own name.
pub async fn check_host(State(access): State<Access>, request: Request, next: Next) -> Response {
    if let Some(hosts) = &access.hosts {
        let name = host_name(&request);
        if !name.as_ref().is_some_and(|n| hosts.iter().any(|h| h == n)) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "foreign_host",
                format!(
                    "this scorer does not answer to the host {:?}; it answers to {} (add names with --allow-host)",
                    name.unwrap_or_default(),
                    hosts.join(", ")
                ),
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// Compares without an early exit, so the time taken says nothing of the token.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

pub async fn check_token(State(access): State<Access>, request: Request, next: Next) -> Response {
    if let Some(token) = &access.token {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| same_secret(g.as_bytes(), token.as_bytes())) {
            let mut response = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this scorer needs its access token: send Authorization: Bearer TOKEN (clients of molgap read MOLGAP_SCORER_TOKEN)",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    next.run(request).await
}

fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        413 => "body_too_large",
        414 => "uri_too_long",
        415 => "not_json",
        431 => "headers_too_large",
        500 => "internal",
        _ => "error",
    }
}

/// Turns every error response that is not JSON yet (axum's extractor
/// rejections, 405s, timeouts, caught panics) into `{"error", "code"}`,
/// keeping its status and headers.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let mut message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    if status == StatusCode::METHOD_NOT_ALLOWED
        && let Some(allow) = parts
            .headers
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
    {
        message = format!("{message}; this endpoint takes {allow}");
    }
    let body = json!({"error": message, "code": code_for(status)}).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_to(host: &str) -> Request {
        Request::builder()
            .uri("/v1/health")
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap()
    }

    #[test]
    fn host_names_lose_their_port() {
        assert_eq!(
            host_name(&request_to("127.0.0.1:8765")).as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(
            host_name(&request_to("[::1]:8765")).as_deref(),
            Some("[::1]")
        );
        assert_eq!(
            host_name(&request_to("LocalHost")).as_deref(),
            Some("localhost")
        );
        assert_eq!(
            host_name(&request_to("evil.example:8765")).as_deref(),
            Some("evil.example")
        );
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
        assert!(!same_secret(b"", b"a"));
    }
}
