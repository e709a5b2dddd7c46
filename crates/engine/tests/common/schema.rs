//! A small JSON Schema validator (the subset docs/reports.md uses: `type`, `required`,
//! `properties`, `additionalProperties`, `items`, `minimum`) and the schemas from the doc.

use serde_json::Value;

/// The schema named `name` from docs/reports.md (a ```json schema=<name> block).
pub fn from_docs(name: &str) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/reports.md");
    let text = std::fs::read_to_string(path).expect("read docs/reports.md");
    let start_tag = format!("```json schema={name}\n");
    let start = text
        .find(&start_tag)
        .unwrap_or_else(|| panic!("no schema {name} in docs/reports.md"))
        + start_tag.len();
    let end = start + text[start..].find("\n```").expect("schema block closes");
    serde_json::from_str(&text[start..end])
        .unwrap_or_else(|e| panic!("schema {name} is not JSON: {e}"))
}

/// Every violation of `schema` by `value`, as `path: problem` lines.
pub fn validate(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, value, "$", &mut errors);
    errors
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        other => panic!("schema uses unsupported type {other}"),
    }
}

fn check(schema: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(t) = schema.get("type") {
        let ok = match t {
            Value::String(s) => type_ok(s, v),
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(|s| type_ok(s, v)),
            _ => panic!("bad type in schema at {path}"),
        };
        if !ok {
            errors.push(format!("{path}: expected type {t}, got {v}"));
            return;
        }
    }
    if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if n < min {
            errors.push(format!("{path}: {n} is below the minimum {min}"));
        }
    }
    if let Some(obj) = v.as_object() {
        for key in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = key.as_str().expect("required names are strings");
            if !obj.contains_key(key) {
                errors.push(format!("{path}: missing required key {key:?}"));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, child) in obj {
            let sub = format!("{path}.{k}");
            match props.and_then(|p| p.get(k)) {
                Some(s) => check(s, child, &sub, errors),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => errors.push(format!("{sub}: not allowed")),
                    Some(s @ Value::Object(_)) => check(s, child, &sub, errors),
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, child) in arr.iter().enumerate() {
            check(items, child, &format!("{path}[{i}]"), errors);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validator_catches_violations() {
        let schema = serde_json::json!({
            "type": "object", "required": ["a"],
            "properties": {"a": {"type": "integer", "minimum": 0}},
            "additionalProperties": {"type": "string"}
        });
        assert!(validate(&schema, &serde_json::json!({"a": 1, "b": "x"})).is_empty());
        assert_eq!(validate(&schema, &serde_json::json!({"a": -1})).len(), 1);
        assert_eq!(validate(&schema, &serde_json::json!({"b": 2})).len(), 2);
        assert_eq!(validate(&schema, &serde_json::json!([])).len(), 1);
    }
}
