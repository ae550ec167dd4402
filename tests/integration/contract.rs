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
    let document: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let error = &document["components"]["schemas"]["Error"];
    for field in ["code", "message", "traceId", "details"] {
        assert!(error["required"].as_array().unwrap().contains(&field.into()), "Error lacks {field}: {error}");
    }
    for scheme in ["sessionCookie", "csrfToken", "apiKey"] {
        assert!(document["components"]["securitySchemes"][scheme].is_object(), "no {scheme} scheme");
    }
}

/// The client crate SDK consumers depend on pulls in nothing of the
/// server's: every package it reaches in `Cargo.lock`, build tools
/// included.
#[test]
fn the_client_crate_depends_on_none_of_the_servers_crates() {
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock")).unwrap();
    let mut dependencies = std::collections::HashMap::<String, Vec<String>>::new();
    for package in lock.split("[[package]]").skip(1) {
        let name = package.lines().find_map(|line| line.strip_prefix("name = ")).unwrap().trim_matches('"');
        // `"name"` or `"name version"`, one per line of the list.
        let list = package.split_once("dependencies = [").map_or("", |(_, rest)| rest.split(']').next().unwrap());
        let names =
            list.lines().filter_map(|line| line.trim().trim_end_matches(',').trim_matches('"').split(' ').next());
        dependencies.entry(name.to_string()).or_default().extend(names.filter(|n| !n.is_empty()).map(String::from));
    }
    let mut reached = std::collections::BTreeSet::new();
    let mut next = vec!["incident-tracker-client".to_string()];
    while let Some(name) = next.pop() {
        if reached.insert(name.clone()) {
            next.extend(dependencies.get(&name).into_iter().flatten().cloned());
        }
    }
    assert!(reached.contains("progenitor-client") && reached.contains("reqwest"), "{reached:?}");
    for server_only in ["incident-tracker", "dropshot", "diesel", "diesel-async", "tokio-postgres", "argon2", "lettre"]
    {
        assert!(!reached.contains(server_only), "the client reaches {server_only}");
    }
}
