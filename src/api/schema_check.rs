//! The request constraints declared on the poem-openapi types (`#[oai(validator(...))]`: lengths,
//! ranges, patterns) checked against a parsed JSON body, with the previous panel's texts. One
//! declaration drives both the OpenAPI document and the check, so the spec cannot promise less or
//! more than the server enforces. Checks serde and the types cannot express stay in `Validate`.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde_json::Value;

/// `(field path, message)` for every declared constraint `value` breaks, in declaration order.
pub fn problems<T: Type>(value: &Value) -> Vec<(String, String)> {
    let registry = registry_of::<T>();
    let mut found = Vec::new();
    check(value, &T::schema_ref(), &registry, "", "", &mut found);
    found
}

/// Each body type's schemas, built once: registering a type builds every schema it reaches.
fn registry_of<T: Type>() -> Arc<Registry> {
    static BUILT: LazyLock<Mutex<HashMap<String, Arc<Registry>>>> = LazyLock::new(Mutex::default);
    let mut built = BUILT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    built
        .entry(T::name().into_owned())
        .or_insert_with(|| {
            let mut registry = Registry::new();
            T::register(&mut registry);
            Arc::new(registry)
        })
        .clone()
}

fn resolve<'a>(schema: &'a MetaSchemaRef, registry: &'a Registry) -> Option<&'a MetaSchema> {
    match schema {
        MetaSchemaRef::Inline(schema) => Some(schema),
        MetaSchemaRef::Reference(name) => registry.schemas.get(name),
    }
}

/// `owner` is the object type whose property `value` is, for the worded messages.
fn check(
    value: &Value,
    schema: &MetaSchemaRef,
    registry: &Registry,
    path: &str,
    owner: &str,
    found: &mut Vec<(String, String)>,
) {
    let Some(schema) = resolve(schema, registry) else { return };
    for part in &schema.all_of {
        check(value, part, registry, path, owner, found);
    }
    let mut push = |message: String| found.push((path.to_string(), message));
    match value {
        Value::String(text) => {
            let chars = text.chars().count();
            if let Some(min) = schema.min_length.filter(|min| chars < *min) {
                push(format!("String should have at least {min} character{}", plural(min)));
            } else if let Some(max) = schema.max_length.filter(|max| chars > *max) {
                push(format!("String should have at most {max} character{}", plural(max)));
            } else if let Some(pattern) = &schema.pattern
                && !matches(pattern, text)
            {
                push(pattern_message(pattern, owner));
            }
        }
        Value::Number(number) => {
            let number = number.as_f64().unwrap_or_default();
            if let Some(min) = schema.minimum.filter(|min| number < *min) {
                push(format!("Input should be greater than or equal to {}", shown(min)));
            } else if let Some(max) = schema.maximum.filter(|max| number > *max) {
                push(format!("Input should be less than or equal to {}", shown(max)));
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = &schema.items {
                for (index, item) in items.iter().enumerate() {
                    check(item, item_schema, registry, &join(path, &index.to_string()), owner, found);
                }
            }
        }
        Value::Object(fields) => {
            let owner = schema.title.as_deref().unwrap_or(owner);
            for (name, property) in &schema.properties {
                if let Some(field) = fields.get(*name) {
                    check(field, property, registry, &join(path, name), owner, found);
                }
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_string() } else { format!("{path}.{name}") }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

fn shown(bound: f64) -> String {
    if bound.fract() == 0.0 { format!("{}", bound as i64) } else { format!("{bound}") }
}

fn matches(pattern: &str, text: &str) -> bool {
    regex_lite::Regex::new(pattern).map(|regex| regex.is_match(text)).unwrap_or(false)
}

/// Patterns whose refusal the previous panel worded itself: (object type or `*`, pattern, message).
const WORDED: &[(&str, &str, &str)] = &[
    ("OptimizeBody", r"\S", "prompt must not be empty"),
    ("SystemPromptBody", r"\S", "system_prompt must not be empty"),
    ("PresetCreate", r"\S", "API URL must not be empty"),
    ("*", r"\S", "value must not be empty"),
    ("*", "^(auto|[0-9]{1,6}[xX][0-9]{1,6})$", "size must be 'auto' or formatted as WIDTHxHEIGHT"),
];

/// `^(a|b|c)$` reads as a choice: "Input should be 'a', 'b' or 'c'"; anything else names the pattern.
fn pattern_message(pattern: &str, owner: &str) -> String {
    let worded = WORDED.iter().find(|(of, known, _)| *known == pattern && (*of == owner || *of == "*"));
    if let Some((_, _, message)) = worded {
        return message.to_string();
    }
    let choices = pattern.strip_prefix("^(").and_then(|rest| rest.strip_suffix(")$"));
    match choices.filter(|c| c.chars().all(|ch| ch.is_ascii_alphanumeric() || "|_-/".contains(ch))) {
        Some(choices) => {
            let quoted: Vec<String> = choices.split('|').map(|c| format!("'{}'", c.replace('\\', ""))).collect();
            match quoted.split_last() {
                Some((last, [])) => format!("Input should be {last}"),
                Some((last, rest)) => format!("Input should be {} or {last}", rest.join(", ")),
                None => format!("String should match pattern '{pattern}'"),
            }
        }
        None => format!("String should match pattern '{pattern}'"),
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::Object;
    use serde_json::json;

    use super::*;

    #[derive(Object)]
    #[allow(dead_code)]
    struct Inner {
        #[oai(validator(minimum(value = "1"), maximum(value = "10")))]
        n: i64,
    }

    #[derive(Object)]
    #[allow(dead_code)]
    struct Body {
        #[oai(validator(min_length = 1, max_length = 5))]
        name: String,
        #[oai(validator(pattern = "^(png|jpeg|webp)$"))]
        format: Option<String>,
        inner: Option<Inner>,
        #[oai(validator(pattern = "^[a-z]+$"))]
        word: Option<String>,
    }

    #[test]
    fn declared_constraints_are_checked_with_the_panels_texts() {
        assert!(problems::<Body>(&json!({"name": "ab", "format": "png", "inner": {"n": 3}})).is_empty());
        let found = problems::<Body>(&json!({"name": "", "format": "gif", "inner": {"n": 11}, "word": "A"}));
        let texts: Vec<String> = found.iter().map(|(f, m)| format!("{f} - {m}")).collect();
        assert_eq!(
            texts,
            [
                "name - String should have at least 1 character",
                "format - Input should be 'png', 'jpeg' or 'webp'",
                "inner.n - Input should be less than or equal to 10",
                "word - String should match pattern '^[a-z]+$'",
            ]
        );
        assert_eq!(problems::<Body>(&json!({"name": "toolong"}))[0].1, "String should have at most 5 characters");
        assert!(problems::<Body>(&json!({"name": "ok", "format": null})).is_empty(), "null is not checked");
    }
}
