//! Whether a change to the contract breaks what was built against the old
//! one: SDKs generated from it, and scripts calling it.
//!
//! Oxide's `drift` compares the two documents operation by operation and
//! schema by schema, and classifies each change by who it breaks. A change
//! that breaks old clients talking to the new server (a removed operation or
//! field, a new required parameter, a changed type) is breaking; one that
//! only new clients could notice against an old server (a new operation or
//! optional field) is compatible. A renamed operation id renames SDK
//! methods, which `drift` does not look at, so it is checked here.

use std::fmt;
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::Value;

use super::contract::OPENAPI_3_0_PATH;

/// One change, and where: a JSON pointer into the document that names the
/// operation (`#/paths/~1v1~1incidents/post/...`) or the schema
/// (`#/components/schemas/Incident/...`).
#[derive(Debug)]
pub struct ContractChange {
    pub breaking: bool,
    pub location: String,
    pub message: String,
}

/// Every change from `old` to `new`, with the versions they declare.
#[derive(Debug)]
pub struct Report {
    pub old_version: semver::Version,
    pub new_version: semver::Version,
    pub changes: Vec<ContractChange>,
}

impl Report {
    pub fn new(old: &Value, new: &Value) -> anyhow::Result<Report> {
        let mut changes = Vec::new();
        for change in drift::compare(old, new)? {
            let Some(path) = change.paths.first() else { continue };
            for info in change.changes {
                let breaking = breaks_old_clients(&info, path, old, new);
                let (base, subpath) = match info.details {
                    drift::ChangeDetails::Removed => (path.old.to_string(), info.old_subpath),
                    _ => (path.new.to_string(), info.new_subpath),
                };
                let location = if subpath.is_empty() { base } else { format!("{base}/{subpath}") };
                changes.push(ContractChange { breaking, location, message: info.message });
            }
        }
        changes.extend(renamed_operations(old, new));
        changes.sort_by(|a, b| (!a.breaking, &a.location).cmp(&(!b.breaking, &b.location)));
        Ok(Report { old_version: version(old)?, new_version: version(new)?, changes })
    }

    /// Breaking changes are allowed only with a new major version, in
    /// Cargo's sense: below 1.0 the minor number is the major one
    /// (0.1.x to 0.2.0), as clients pinned with `^0.1` expect.
    pub fn allowed(&self) -> bool {
        let compatible_with_old = semver::Comparator {
            op: semver::Op::Caret,
            major: self.old_version.major,
            minor: Some(self.old_version.minor),
            patch: Some(self.old_version.patch),
            pre: self.old_version.pre.clone(),
        };
        // A prerelease never matches a plain requirement; its release must.
        let new_release = semver::Version { pre: semver::Prerelease::EMPTY, ..self.new_version.clone() };
        let new_major = new_release > self.old_version && !compatible_with_old.matches(&new_release);
        new_major || self.changes.iter().all(|change| !change.breaking)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for change in &self.changes {
            let class = if change.breaking { "BREAKING" } else { "compatible" };
            writeln!(f, "{class:<10}  {}\n            {}", change.location, change.message)?;
        }
        let breaking = self.changes.iter().filter(|change| change.breaking).count();
        writeln!(
            f,
            "{} changes, {breaking} breaking; info.version {} -> {}",
            self.changes.len(),
            self.old_version,
            self.new_version
        )?;
        if self.allowed() {
            write!(f, "ok")
        } else {
            write!(f, "refused: breaking changes need a new major info.version (see README, \"The contract workflow\")")
        }
    }
}

/// The base contract: a file, or a git revision's committed contract.
pub fn base_contract(base: &str) -> anyhow::Result<Value> {
    let text = match std::fs::read_to_string(base) {
        Ok(text) => text,
        Err(_) => {
            let output = Command::new("git")
                .args(["show", &format!("{base}:{OPENAPI_3_0_PATH}")])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .output()
                .context("running git")?;
            if !output.status.success() {
                bail!("{base} is neither a file nor a git revision with {OPENAPI_3_0_PATH}");
            }
            String::from_utf8(output.stdout)?
        }
    };
    serde_json::from_str(&text).with_context(|| format!("reading the base contract {base}"))
}

/// Whether a change breaks clients built against the old document. What
/// `drift` cannot classify counts as breaking, with one exception it leaves
/// to us: changed object properties. Those break old clients when a
/// property goes away, when a request must now carry one it did not, or
/// when an answer may now leave out one it always held.
fn breaks_old_clients(info: &drift::ChangeInfo, path: &drift::ChangePath, old: &Value, new: &Value) -> bool {
    use drift::ChangeClass::*;
    // drift 0.2's wording for these; another wording in a later version
    // counts as breaking until looked at.
    const PROPERTIES: &str = "object properties changed";
    const REQUIRED: &str = "object required properties changed";
    match info.class {
        ForwardIncompatible | Trivial => false,
        Unhandled if info.message == PROPERTIES || info.message == REQUIRED => {
            let at = |document: &Value, stack: &drift::JsonPathStack, subpath: &str| {
                let pointer = stack.current_pointer().trim_start_matches('#').to_string();
                let pointer = if subpath.is_empty() { pointer } else { format!("{pointer}/{subpath}") };
                document.pointer(&pointer).cloned().unwrap_or(Value::Null)
            };
            let (before, after) = (at(old, &path.old, &info.old_subpath), at(new, &path.new, &info.new_subpath));
            let names = |schema: &Value, key: &str| -> Vec<String> {
                match &schema[key] {
                    Value::Object(properties) => properties.keys().cloned().collect(),
                    Value::Array(required) => {
                        required.iter().filter_map(|name| name.as_str().map(String::from)).collect()
                    }
                    _ => Vec::new(),
                }
            };
            let gone = |from: &[String], to: &[String]| from.iter().any(|name| !to.contains(name));
            let removed = gone(&names(&before, "properties"), &names(&after, "properties"));
            let (old_required, new_required) = (names(&before, "required"), names(&after, "required"));
            removed
                || match path.comparison {
                    drift::ChangeComparison::Input => gone(&new_required, &old_required),
                    _ => gone(&old_required, &new_required),
                }
        }
        BackwardIncompatible | Incompatible | Unhandled => true,
    }
}

fn version(document: &Value) -> anyhow::Result<semver::Version> {
    let version = document["info"]["version"].as_str().context("the document has no info.version")?;
    Ok(version.parse()?)
}

/// Operations kept at their method and path under another operation id.
fn renamed_operations(old: &Value, new: &Value) -> Vec<ContractChange> {
    let mut renamed = Vec::new();
    let Some(old_paths) = old["paths"].as_object() else { return renamed };
    for (path, old_item) in old_paths {
        let Some(old_item) = old_item.as_object() else { continue };
        for (method, old_operation) in old_item {
            let old_id = old_operation["operationId"].as_str();
            let new_id = new["paths"][path][method]["operationId"].as_str();
            if let (Some(old_id), Some(new_id)) = (old_id, new_id)
                && old_id != new_id
            {
                let pointer = path.replace('~', "~0").replace('/', "~1");
                renamed.push(ContractChange {
                    breaking: true,
                    location: format!("#/paths/{pointer}/{method}/operationId"),
                    message: format!("The operation {old_id} was renamed {new_id}: SDK method names change"),
                });
            }
        }
    }
    renamed
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Report;
    use crate::api::contract::openapi_3_0;

    fn classified(change: impl FnOnce(&mut serde_json::Value)) -> Vec<bool> {
        let old = openapi_3_0().unwrap();
        let mut new = old.clone();
        change(&mut new);
        Report::new(&old, &new).unwrap().changes.iter().map(|change| change.breaking).collect()
    }

    /// A change made to a copy of the contract.
    type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;

    fn schema<'a>(document: &'a mut serde_json::Value, name: &str) -> &'a mut serde_json::Value {
        &mut document["components"]["schemas"][name]
    }

    #[test]
    fn an_unchanged_contract_has_no_changes() {
        assert_eq!(classified(|_| {}), Vec::<bool>::new());
    }

    #[test]
    fn new_optional_fields_new_answer_fields_and_new_operations_are_compatible() {
        let optional_field = classified(|document| {
            schema(document, "IncidentCreateRequest")["properties"]["impact"] = json!({ "type": "string" });
        });
        assert!(!optional_field.is_empty() && optional_field.iter().all(|breaking| !breaking), "{optional_field:?}");
        let new_operation = classified(|document| {
            let mut operation = document["paths"]["/health/live"]["get"].clone();
            operation["operationId"] = json!("health_ready_view");
            document["paths"]["/health/ready"] = json!({ "get": operation });
        });
        assert!(!new_operation.is_empty() && new_operation.iter().all(|breaking| !breaking), "{new_operation:?}");
        let new_answer_field = classified(|document| {
            let incident = schema(document, "Incident");
            incident["properties"]["impact"] = json!({ "type": "string" });
            incident["required"].as_array_mut().unwrap().push(json!("impact"));
        });
        assert!(
            !new_answer_field.is_empty() && new_answer_field.iter().all(|breaking| !breaking),
            "{new_answer_field:?}"
        );
    }

    #[test]
    fn removals_type_changes_required_parameters_and_renames_are_breaking() {
        let cases: [(&str, Edit); 6] = [
            (
                "a removed field",
                Box::new(|document| {
                    let incident = schema(document, "Incident");
                    incident["properties"].as_object_mut().unwrap().remove("reference");
                    let required = incident["required"].as_array_mut().unwrap();
                    required.retain(|name| name != "reference");
                }),
            ),
            (
                "a request field made required",
                Box::new(|document| {
                    let request = schema(document, "IncidentCreateRequest");
                    request["required"].as_array_mut().unwrap().push(json!("summary"));
                }),
            ),
            (
                "a field's type",
                Box::new(|document| {
                    schema(document, "Incident")["properties"]["number"] = json!({ "type": "string" });
                }),
            ),
            (
                "a new required parameter",
                Box::new(|document| {
                    let parameters = document["paths"]["/v1/incidents"]["get"]["parameters"].as_array_mut().unwrap();
                    parameters.push(json!({
                        "in": "query", "name": "team", "required": true, "schema": { "type": "string" }
                    }));
                }),
            ),
            (
                "a removed operation",
                Box::new(|document| {
                    document["paths"]["/v1/incidents"].as_object_mut().unwrap().remove("post");
                }),
            ),
            (
                "a renamed operation id",
                Box::new(|document| {
                    document["paths"]["/v1/incidents"]["post"]["operationId"] = json!("incident_declare");
                }),
            ),
        ];
        for (what, change) in cases {
            let classified = classified(change);
            assert!(classified.contains(&true), "{what}: {classified:?}");
        }
    }

    #[test]
    fn a_breaking_change_passes_only_with_a_new_major_version() {
        let old = openapi_3_0().unwrap();
        let mut new = old.clone();
        new["paths"]["/v1/incidents"].as_object_mut().unwrap().remove("post");
        let allowed_between = |old_version: &str, new_version: &str| {
            let (mut old, mut new) = (old.clone(), new.clone());
            old["info"]["version"] = json!(old_version);
            new["info"]["version"] = json!(new_version);
            Report::new(&old, &new).unwrap().allowed()
        };
        for (old_version, new_version) in
            [("0.1.0", "0.2.0"), ("0.9.3", "1.0.0"), ("1.4.2", "2.0.0"), ("1.4.2", "2.0.0-rc.1")]
        {
            assert!(allowed_between(old_version, new_version), "{old_version} -> {new_version}");
        }
        let refused =
            [("0.1.0", "0.1.0"), ("0.1.0", "0.1.1"), ("1.4.2", "1.5.0"), ("0.2.0", "0.1.0"), ("1.4.2", "1.5.0-rc.1")];
        for (old_version, new_version) in refused {
            assert!(!allowed_between(old_version, new_version), "{old_version} -> {new_version}");
        }
    }
}
