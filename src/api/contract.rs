//! The contract pipeline: the API trait's OpenAPI 3.0 document as dropshot
//! writes it (progenitor's input), and the OpenAPI 3.1 `openapi.yaml`
//! derived from it for everyone else.

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};

use super::{Authentication, authentication, incident_tracker_api_mod};
use crate::artifacts::Artifact;
use crate::policy::Scope;

pub const TITLE: &str = "Incident Tracker API";
pub const OPENAPI_3_0_PATH: &str = "generated/openapi-3.0.json";
pub const OPENAPI_3_1_PATH: &str = "openapi.yaml";

/// The keys of a path item that hold operations; the others (`parameters`,
/// `summary`, ...) do not.
const HTTP_METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

const SESSION_COOKIE_SCHEME: &str = "sessionCookie";
/// The session cookie's name in production, as the contract documents it.
pub const SESSION_COOKIE: &str = "__Host-session";
/// Its name in development, over plain HTTP.
pub const DEVELOPMENT_SESSION_COOKIE: &str = "session";
const CSRF_TOKEN_SCHEME: &str = "csrfToken";
const API_KEY_SCHEME: &str = "apiKey";

/// Dropshot's OpenAPI 3.0 document for the API trait.
pub fn openapi_3_0() -> anyhow::Result<Value> {
    let description = incident_tracker_api_mod::stub_api_description()
        .map_err(|error| anyhow::anyhow!("the API trait does not describe a valid API: {error}"))?;
    let version: semver::Version = env!("CARGO_PKG_VERSION").parse()?;
    let mut definition = description.openapi(TITLE, version);
    definition
        .description(
            "Multi-tenant incident tracker: accounts and sessions, tenants and roles, incidents with \
             timelines, tasks and status updates, API keys for automation and a hash-chained audit log. \
             Every error is `{ code, message, traceId, details }`.",
        )
        .license_name(env!("CARGO_PKG_LICENSE"));
    Ok(definition.json()?)
}

/// Every operation's route in `document` (dropshot's) as telemetry names
/// it, by operation id: `GET /v1/incidents/{incidentId}`.
pub fn operation_routes(document: &Value) -> anyhow::Result<std::collections::HashMap<String, String>> {
    let mut routes = std::collections::HashMap::new();
    for (path, item) in document["paths"].as_object().context("the document has paths")? {
        for method in HTTP_METHODS {
            if let Some(operation_id) = item.get(method).and_then(|operation| operation["operationId"].as_str()) {
                routes.insert(operation_id.to_string(), format!("{} {path}", method.to_ascii_uppercase()));
            }
        }
    }
    Ok(routes)
}

/// Both contract files, rendered from the code.
pub fn artifacts() -> anyhow::Result<Vec<Artifact>> {
    let document = openapi_3_0()?;
    let mut json = serde_json::to_string_pretty(&document)?;
    json.push('\n');
    let yaml = serde_norway::to_string(&to_openapi_3_1(document)?)?;
    Ok(vec![Artifact { path: OPENAPI_3_0_PATH, contents: json }, Artifact { path: OPENAPI_3_1_PATH, contents: yaml }])
}

/// Converts dropshot's OpenAPI 3.0 document to OpenAPI 3.1 and adds the
/// security schemes dropshot has no way to express.
pub fn to_openapi_3_1(mut document: Value) -> anyhow::Result<Value> {
    document["openapi"] = json!("3.1.0");
    document["servers"] =
        json!([{ "url": "http://127.0.0.1:8080", "description": "A local server on the default address" }]);
    document["info"]["license"]["identifier"] = json!(env!("CARGO_PKG_LICENSE"));
    if let Some(schemas) = document.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        for schema in schemas.values_mut() {
            convert_schema(schema);
        }
    }
    let paths = document.get_mut("paths").and_then(Value::as_object_mut).context("the document has no paths")?;
    for path_item in paths.values_mut() {
        let Some(path_item) = path_item.as_object_mut() else { continue };
        let operations = path_item.iter_mut().filter(|(key, _)| HTTP_METHODS.contains(&key.as_str()));
        for (_, operation) in operations {
            convert_schemas_in_operation(operation);
            let operation_id = operation["operationId"].as_str().context("an operation has no operationId")?;
            let Some(auth) = authentication(operation_id) else {
                bail!("operation `{operation_id}` has no entry in api::authentication")
            };
            operation["security"] = security_requirements(auth);
        }
    }
    let components = document
        .as_object_mut()
        .context("the document is not an object")?
        .entry("components")
        .or_insert_with(|| json!({}));
    components["securitySchemes"] = json!({
        SESSION_COOKIE_SCHEME: {
            "type": "apiKey",
            "in": "cookie",
            "name": SESSION_COOKIE,
            "description": format!(
                "The session cookie set by the auth endpoints: `{SESSION_COOKIE}` (`Secure`, `Path=/`, no `Domain`). \
                 A server in development, over plain HTTP, names it `{DEVELOPMENT_SESSION_COOKIE}` instead."
            )
        },
        CSRF_TOKEN_SCHEME: {
            "type": "apiKey",
            "in": "header",
            "name": "x-csrf-token",
            "description": "The session's CSRF token from `GET /v1/auth/me`; required with the session cookie on every request that changes state."
        },
        API_KEY_SCHEME: {
            "type": "apiKey",
            "in": "header",
            "name": "x-api-key",
            "description": "A service account's API key (`itk_…`), for automation. A request with it is authenticated by the key alone: cookies are ignored and no CSRF token is needed. The requirement names the scope the key needs."
        }
    });
    Ok(document)
}

fn security_requirements(auth: Authentication) -> Value {
    let session = json!({ SESSION_COOKIE_SCHEME: [] });
    let session_with_csrf = json!({ SESSION_COOKIE_SCHEME: [], CSRF_TOKEN_SCHEME: [] });
    // OpenAPI 3.1 lets an apiKey requirement name the roles it needs: here,
    // the key's scope.
    let api_key = |scope: Scope| json!({ API_KEY_SCHEME: [scope.as_str()] });
    match auth {
        Authentication::Public => json!([]),
        Authentication::AnySession => json!([{}, session]),
        Authentication::Session => json!([session]),
        Authentication::AnySessionWithCsrf | Authentication::SessionWithCsrf => json!([session_with_csrf]),
        Authentication::SessionOrApiKey(scope) => json!([session, api_key(scope)]),
        Authentication::SessionWithCsrfOrApiKey(scope) => json!([session_with_csrf, api_key(scope)]),
    }
}

/// Rewrites the schemas inside an operation's parameters, request body and
/// responses.
fn convert_schemas_in_operation(operation: &mut Value) {
    let Some(operation) = operation.as_object_mut() else { return };
    let mut contents = Vec::new();
    for (key, value) in operation.iter_mut() {
        match key.as_str() {
            "parameters" => {
                for parameter in value.as_array_mut().into_iter().flatten() {
                    if let Some(schema) = parameter.get_mut("schema") {
                        convert_schema(schema);
                    }
                }
            }
            "requestBody" => contents.extend(value.get_mut("content")),
            "responses" => {
                for response in value.as_object_mut().into_iter().flat_map(|responses| responses.values_mut()) {
                    if let Some(headers) = response.get_mut("headers").and_then(Value::as_object_mut) {
                        headers.values_mut().filter_map(|header| header.get_mut("schema")).for_each(convert_schema);
                    }
                    contents.extend(response.get_mut("content"));
                }
            }
            _ => {}
        }
    }
    for content in contents {
        if let Some(media_types) = content.as_object_mut() {
            for media_type in media_types.values_mut() {
                if let Some(schema) = media_type.get_mut("schema") {
                    convert_schema(schema);
                }
            }
        }
    }
}

/// The JSON Schema differences between OpenAPI 3.0 and 3.1 that dropshot's
/// output contains: `nullable` becomes a `null` type, `example` becomes
/// `examples`. Integer formats also become bounds, which JSON Schema
/// validators and test generators read where few read `format`.
fn convert_schema(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else { return };
    for key in ["properties", "patternProperties", "definitions", "$defs"] {
        if let Some(children) = object.get_mut(key).and_then(Value::as_object_mut) {
            children.values_mut().for_each(convert_schema);
        }
    }
    for key in ["allOf", "anyOf", "oneOf", "prefixItems"] {
        if let Some(children) = object.get_mut(key).and_then(Value::as_array_mut) {
            children.iter_mut().for_each(convert_schema);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = object.get_mut(key) {
            convert_schema(child);
        }
    }
    if let Some(example) = object.remove("example") {
        object.insert("examples".to_string(), json!([example]));
    }
    if object.remove("nullable") == Some(Value::Bool(true)) {
        make_nullable(object);
    }
    bound_integer(object);
}

fn bound_integer(object: &mut Map<String, Value>) {
    let (minimum, maximum) = match object.get("format").and_then(Value::as_str) {
        Some("int32") => (json!(i32::MIN), json!(i32::MAX)),
        Some("uint32") => (json!(0), json!(u32::MAX)),
        Some("int64") => (json!(i64::MIN), json!(i64::MAX)),
        Some("uint64") => (json!(0), json!(u64::MAX)),
        _ => return,
    };
    object.entry("minimum").or_insert(minimum);
    object.entry("maximum").or_insert(maximum);
}

fn make_nullable(object: &mut Map<String, Value>) {
    match object.get_mut("type") {
        Some(Value::String(single)) => {
            let single = std::mem::take(single);
            object.insert("type".to_string(), json!([single, "null"]));
            if let Some(Value::Array(choices)) = object.get_mut("enum") {
                choices.push(Value::Null);
            }
        }
        Some(Value::Array(types)) => {
            if !types.contains(&json!("null")) {
                types.push(json!("null"));
            }
        }
        _ => {
            // A `$ref` or a composition: wrap what is there in an `anyOf`
            // beside `null`, keeping annotations such as `description` outside.
            let annotations = ["description", "title", "default", "examples", "readOnly", "writeOnly", "deprecated"];
            let mut inner = Map::new();
            for (key, value) in std::mem::take(object) {
                if annotations.contains(&key.as_str()) {
                    object.insert(key, value);
                } else {
                    inner.insert(key, value);
                }
            }
            let inner = match inner.remove("allOf") {
                Some(Value::Array(mut parts)) if parts.len() == 1 && inner.is_empty() => parts.remove(0),
                Some(all_of) => {
                    inner.insert("allOf".to_string(), all_of);
                    Value::Object(inner)
                }
                None => Value::Object(inner),
            };
            object.insert("anyOf".to_string(), json!([inner, { "type": "null" }]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_formats_become_bounds_that_keep_a_tighter_one() {
        let mut schema = json!({ "type": "integer", "format": "uint32", "minimum": 1 });
        convert_schema(&mut schema);
        assert_eq!(schema, json!({ "type": "integer", "format": "uint32", "minimum": 1, "maximum": 4294967295u32 }));
    }

    #[test]
    fn nullable_scalars_become_type_arrays() {
        let mut schema = json!({ "type": "string", "format": "uuid", "nullable": true });
        convert_schema(&mut schema);
        assert_eq!(schema, json!({ "type": ["string", "null"], "format": "uuid" }));
    }

    #[test]
    fn nullable_enums_admit_null() {
        let mut schema = json!({ "type": "string", "enum": ["a", "b"], "nullable": true });
        convert_schema(&mut schema);
        assert_eq!(schema, json!({ "type": ["string", "null"], "enum": ["a", "b", null] }));
    }

    #[test]
    fn nullable_references_become_any_of_with_null() {
        let mut schema = json!({
            "type": "object",
            "properties": {
                "user": {
                    "nullable": true,
                    "description": "The signed-in user.",
                    "allOf": [{ "$ref": "#/components/schemas/User" }]
                }
            }
        });
        convert_schema(&mut schema);
        assert_eq!(
            schema["properties"]["user"],
            json!({
                "description": "The signed-in user.",
                "anyOf": [{ "$ref": "#/components/schemas/User" }, { "type": "null" }]
            })
        );
    }

    #[test]
    fn examples_become_arrays_at_any_depth() {
        let mut schema = json!({ "type": "array", "items": { "type": "integer", "example": 3 } });
        convert_schema(&mut schema);
        assert_eq!(schema, json!({ "type": "array", "items": { "type": "integer", "examples": [3] } }));
    }

    #[test]
    fn the_generated_document_is_3_1_with_security_on_every_operation() {
        let document = to_openapi_3_1(openapi_3_0().unwrap()).unwrap();
        assert_eq!(document["openapi"], "3.1.0");
        assert!(document.pointer("/components/securitySchemes/apiKey").is_some());
        for path_item in document["paths"].as_object().unwrap().values() {
            for operation in path_item.as_object().unwrap().values() {
                assert!(operation["security"].is_array(), "{operation}");
            }
        }
        assert!(!document.to_string().contains("\"nullable\""));
    }
}
