//! The OpenAPI document, generated from `scorer-api`'s types and the
//! handlers' annotations. `scorer openapi` prints it; the copy committed as
//! `scorer/openapi.json` is checked against it by a test.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "molgap scorer",
        version = "1",
        description = "Verifies HOMO-LUMO gaps with PySCF DFT. Molecules are checked before they are \
queued; results are stored by (canonical SMILES, level) and never computed twice. Every error is \
JSON {\"error\": message, \"code\": code}. Bound to loopback, the service answers only requests \
addressed to a loopback name (403 foreign_host otherwise); bound to any other address it requires \
a bearer token on every request (401 unauthorized otherwise). Each client address may create a set \
number of job rows per minute (429 rate_limited, with Retry-After).",
        license(name = "MIT OR Apache-2.0"),
    ),
    servers((url = "http://127.0.0.1:8765")),
    paths(
        crate::api::handlers::submit,
        crate::api::handlers::job,
        crate::api::handlers::geometry,
        crate::api::handlers::molecule,
        crate::api::handlers::health,
    ),
    modifiers(&BearerToken),
)]
struct ApiDoc;

/// The bearer scheme, required when the service listens beyond loopback.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("required when the service listens beyond loopback"))
                    .build(),
            ),
        );
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as committed: pretty JSON with a final newline.
pub fn document_text() -> String {
    let mut text = document()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed document is what the types generate: change a type and
    /// this fails until `scorer openapi > scorer/openapi.json` is re-run.
    #[test]
    fn committed_document_matches_the_types() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == document_text(),
            "scorer/openapi.json is not what scorer-api's types generate; run \
             `cargo run -p scorer -- openapi > scorer/openapi.json` and review the difference"
        );
    }

    /// Every schema a path names is in the document, and the job states and
    /// levels are the types' own.
    #[test]
    fn document_names_the_types() {
        let doc = serde_json::to_value(document()).unwrap();
        let schemas = &doc["components"]["schemas"];
        for name in [
            "Job",
            "DftResult",
            "Submitted",
            "SubmitRequest",
            "Health",
            "ErrorBody",
            "MoleculeResults",
        ] {
            assert!(schemas[name].is_object(), "{name} missing");
        }
        let states: Vec<&str> = scorer_api::JobState::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(schemas["JobState"]["enum"], serde_json::json!(states));
        let levels: Vec<&str> = scorer_api::Level::ALL.iter().map(|l| l.name()).collect();
        assert_eq!(schemas["Level"]["enum"], serde_json::json!(levels));
        assert!(doc["paths"]["/v1/jobs"]["post"].is_object());
    }
}
