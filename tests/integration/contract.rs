use std::path::Path;

use incident_tracker::api::contract;
use incident_tracker::artifacts;

/// The committed `openapi.yaml` and `generated/openapi-3.0.json` are exactly
/// what the API trait generates: a changed endpoint, type or doc comment
/// fails here until `openapi --write` is run and committed.
#[test]
fn committed_contract_matches_the_code() {
    let generated = contract::artifacts().unwrap();
    if let Err(stale) = artifacts::check_all(Path::new(env!("CARGO_MANIFEST_DIR")), &generated, "openapi --write") {
        panic!("{stale:#}");
    }
}

#[test]
fn openapi_yaml_is_3_1_and_documents_the_error_format() {
    let yaml = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.yaml")).unwrap();
    let document: serde_json::Value = serde_yaml::from_str(&yaml).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let error = &document["components"]["schemas"]["Error"];
    for field in ["code", "message", "traceId", "details"] {
        assert!(error["required"].as_array().unwrap().contains(&field.into()), "Error lacks {field}: {error}");
    }
    for scheme in ["sessionCookie", "csrfToken", "apiKey"] {
        assert!(document["components"]["securitySchemes"][scheme].is_object(), "no {scheme} scheme");
    }
}
