//! Generates the client from the committed OpenAPI 3.0 document, so it
//! speaks exactly the contract that is checked in.

use std::path::PathBuf;

fn main() {
    let spec_path = "../../generated/openapi-3.0.json";
    println!("cargo:rerun-if-changed={spec_path}");
    let spec = std::fs::read_to_string(spec_path).unwrap_or_else(|error| panic!("reading {spec_path}: {error}"));
    let spec: openapiv3::OpenAPI =
        serde_json::from_str(&spec).unwrap_or_else(|error| panic!("parsing {spec_path}: {error}"));
    let mut generator = progenitor::Generator::default();
    let tokens = generator
        .generate_tokens(&spec)
        .unwrap_or_else(|error| panic!("generating the client from {spec_path}: {error}"));
    let file: syn::File = syn::parse2(tokens).expect("progenitor produced invalid Rust");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("client.rs");
    std::fs::write(&out, prettyplease::unparse(&file)).expect("writing the generated client");
}
