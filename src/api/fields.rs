//! What several areas' wire types share.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

/// A field sent as `null` is `Some(None)`; an absent one stays `None`.
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// The pattern of a filter that takes names of `T`, as its schema lists
/// them, separated by commas: `status=triage,investigating`.
pub fn comma_separated_names<T: JsonSchema>() -> String {
    let schema = serde_json::to_value(schemars::schema_for!(T)).expect("a schema serializes");
    let mut names = Vec::new();
    collect_enum_names(&schema, &mut names);
    let one = names.iter().map(|name| name.replace('.', "\\.")).collect::<Vec<_>>().join("|");
    format!("^({one})(,({one}))*$")
}

/// Every `enum` value in a schema: documented variants each get a schema
/// of their own, under `oneOf`.
fn collect_enum_names(schema: &serde_json::Value, names: &mut Vec<String>) {
    match schema {
        serde_json::Value::Object(object) => {
            if let Some(serde_json::Value::Array(values)) = object.get("enum") {
                names.extend(values.iter().filter_map(|value| value.as_str().map(str::to_string)));
            }
            object.values().for_each(|child| collect_enum_names(child, names));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|child| collect_enum_names(child, names)),
        _ => {}
    }
}
