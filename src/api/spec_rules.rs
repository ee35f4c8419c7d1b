//! What the OpenAPI document must say that poem-openapi's attributes cannot: JSON request bodies
//! refuse unknown keys (`StrictJson` does, for every body, so every schema they reach gets
//! `additionalProperties: false`), and the bodies that take exactly one of `ids` and
//! `selection_token` say so.

use panel_actors::upstream::url_shape;
use serde_json::{Map, Value, json};

use super::edit_uploads::MAX_SOURCES;
use super::{config_update_spec, value_patterns};

/// Statuses some routes answer beyond the common error set every route documents.
const EXTRA_STATUSES: &[(&str, u16, &str)] = &[
    ("edit", 415, "The body is not `multipart/form-data`, or a source is AVIF/HEIC and cannot be decoded here."),
    ("edit_from_gallery", 415, "The body is neither form encoding, or a source cannot be decoded here."),
    ("import_gallery", 415, "The body is not `multipart/form-data`."),
    ("cancel_job", 409, "The job already finished."),
    ("download_all", 409, "The direct export link was already used or its job finished."),
    ("download_export_job", 409, "The export is not ready yet."),
    ("generate", 503, "The job could not be admitted; nothing was created."),
    ("edit", 503, "The job could not be admitted; nothing was created."),
    ("edit_from_gallery", 503, "The job could not be admitted; nothing was created."),
    ("import_gallery", 503, "The importer is not available; nothing was imported."),
    ("create_sync_job", 503, "The R2 syncer is not available; nothing was started."),
    ("create_export_job", 503, "The exporter is not available; nothing was started."),
    ("create_direct_export_job", 503, "The exporter is not available; nothing was started."),
    ("download_all", 503, "The exporter is not available; nothing was started."),
    ("batch_download_gallery", 503, "The exporter is not available; nothing was started."),
];

/// Links from an operation's success to the operations that use what it made, so stateful clients
/// and testers can chain them: (from, status, link name, to, path parameter, where in the reply).
const LINKS: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("generate", "202", "GetJob", "get_job", "job_id", "$response.body#/job_id"),
    ("generate", "202", "CancelJob", "cancel_job", "job_id", "$response.body#/job_id"),
    ("edit", "202", "GetJob", "get_job", "job_id", "$response.body#/job_id"),
    ("edit_from_gallery", "202", "GetJob", "get_job", "job_id", "$response.body#/job_id"),
    ("get_job", "200", "GetGalleryEntry", "get_gallery_entry", "image_id", "$response.body#/image_id"),
    ("get_job", "200", "FavoriteGalleryEntry", "set_gallery_favorite", "image_id", "$response.body#/image_id"),
    ("get_job", "200", "DeleteGalleryEntry", "delete_gallery_entry", "image_id", "$response.body#/image_id"),
    ("get_job", "200", "EditGalleryEntry", "edit_from_gallery", "image_id", "$response.body#/image_id"),
    ("create_prompt_snippet", "200", "UpdateSnippet", "update_prompt_snippet", "snippet_id", "$response.body#/id"),
    ("create_prompt_snippet", "200", "DeleteSnippet", "delete_prompt_snippet", "snippet_id", "$response.body#/id"),
    // A new preset becomes the active one.
    ("create_preset", "200", "ActivatePreset", "activate_preset", "preset_id", "$response.body#/active_preset_id"),
    ("create_preset", "200", "ProbePreset", "preset_health", "preset_id", "$response.body#/active_preset_id"),
    ("create_preset", "200", "DeletePreset", "delete_preset", "preset_id", "$response.body#/active_preset_id"),
    ("create_export_job", "202", "GetExportJob", "export_job", "job_id", "$response.body#/job_id"),
    ("create_export_job", "202", "DownloadExport", "download_export_job", "job_id", "$response.body#/job_id"),
    ("create_direct_export_job", "202", "GetDirectExportJob", "direct_export_job", "job_id", "$response.body#/job_id"),
    ("import_gallery", "202", "GetImportJob", "import_job", "job_id", "$response.body#/job_id"),
    ("create_sync_job", "202", "GetSyncJob", "sync_job", "job_id", "$response.body#/job_id"),
];

/// Applied to the generated document before it is served or committed.
pub fn apply(spec: &mut Value) {
    document_extra_statuses(spec);
    add_links(spec);
    inline_optional_bodies(spec);
    // The listing's query parameters are `GalleryQuery`'s fields.
    if let Some(Value::Array(parameters)) = spec.pointer_mut("/paths/~1api~1gallery/get/parameters") {
        for parameter in parameters.iter_mut().filter(|p| matches!(p["name"].as_str(), Some("date_from" | "date_to"))) {
            parameter["schema"]["pattern"] = json!(crate::api::gallery::DATE_FILTER_PATTERN);
        }
    }
    let roots = json_body_schemas(spec);
    close_and_patch(spec, roots);
    // After the patches, so the copy has them.
    require_an_upload_for_edits(spec);
}

fn close_and_patch(spec: &mut Value, roots: Vec<String>) {
    let Some(schemas) = spec.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    let mut seen = Vec::new();
    for root in roots {
        close(schemas, &root, &mut seen);
    }
    // A tracked export also takes neither (the whole gallery), but never both.
    if let Some(schema) = schemas.get_mut("GalleryExportRequest").and_then(Value::as_object_mut) {
        schema.insert(
            "anyOf".into(),
            json!([
                {"properties": {"ids": {"nullable": true, "enum": [null]}}},
                {"properties": {"selection_token": {"nullable": true, "type": "string", "pattern": r"^\s*$"}}}
            ]),
        );
    }
    if let Some(schema) = schemas.get_mut("ConfigUpdate").and_then(Value::as_object_mut) {
        schema.insert("oneOf".into(), config_update_spec::branches());
    }
    for (schema, property, patch) in checked_by_hand() {
        let target = schemas.get_mut(schema).and_then(|s| s.pointer_mut(&format!("/properties/{property}")));
        if let Some(Value::Object(target)) = target {
            // A choice of types replaces the single one.
            if patch.get("anyOf").is_some() {
                target.remove("type");
            }
            target.extend(patch.as_object().cloned().unwrap_or_default());
        }
    }
    // After the patches, so the branches carry them.
    for name in ["BatchRequest", "BatchFavoriteRequest", "GalleryDownloadRequest"] {
        if let Some(schema) = schemas.get_mut(name).and_then(Value::as_object_mut) {
            let branches = ids_or_token(name, schema);
            schema.insert("oneOf".into(), branches);
        }
    }
}

/// Constraints a handler checks itself because the contract words the refusal its own way (or
/// the field reads more than one JSON type); the document says the same.
fn checked_by_hand() -> Vec<(&'static str, &'static str, Value)> {
    // At least one non-blank id, unique, each at most 128 characters (see `gallery_batch::id_problems`).
    let ids = |max: usize| {
        json!({"minItems": 1, "maxItems": max, "uniqueItems": true,
            "items": {"type": "string", "maxLength": 128},
            "not": {"items": {"type": "string", "pattern": r"^\s*$"}}})
    };
    // `snippets::parse_lax_bool`: JSON booleans, 0/1, and the settings' boolean words.
    let lax_bool = json!({"anyOf": [
        {"type": "boolean"},
        {"type": "integer", "enum": [0, 1]},
        {"type": "string", "pattern": crate::api::query_params::SETTING_BOOL_PATTERN}
    ]});
    let date = json!({"pattern": crate::api::gallery::DATE_FILTER_PATTERN});
    let secret = |what: &str| {
        json!({"pattern": value_patterns::secret_input(), "description": format!(
            "{what} Empty clears; `${{NAME}}` reads the server environment when used; a literal is taken only with \
             ALLOW_PLAINTEXT_SECRETS=true (otherwise 422)."
        )})
    };
    let private_note =
        "With UPSTREAM_ALLOW_PRIVATE_NETWORK=true, `http://` and any host the URL standard reads are taken too.";
    let base_url = url_shape::base_url_pattern();
    let size = json!({"pattern": crate::api::generate_request::size_sides_pattern()});
    vec![
        ("GenerateBody", "size", size.clone()),
        ("EditForm", "size", size),
        ("GenerateBody", "webhook_url", json!({"pattern": url_shape::webhook_pattern()})),
        ("EditForm", "webhook_url", json!({"pattern": url_shape::webhook_pattern()})),
        (
            "SettingsUpdate",
            "api_url",
            json!({"pattern": base_url, "description": format!("Base URL, with or without `/v1`. {private_note}")}),
        ),
        (
            "PresetCreate",
            "api_url",
            json!({"pattern": base_url, "description": format!("Base URL; the source preset's when null. {private_note}")}),
        ),
        (
            "OptimizerUpdate",
            "api_url",
            json!({"pattern": format!("^{}*$|{base_url}", url_shape::WS),
            "description": format!("The full Chat Completions endpoint URL; empty clears. {private_note}")}),
        ),
        (
            "R2Update",
            "endpoint_url",
            json!({"pattern": url_shape::r2_endpoint_pattern(), "description":
            "Empty clears. A `*.r2.cloudflarestorage.com` host, or one listed in R2_ENDPOINT_HOST_ALLOWLIST (otherwise 422)."}),
        ),
        ("SettingsUpdate", "api_key", secret("The preset's API key; null keeps it.")),
        ("PresetCreate", "api_key", secret("The new preset's API key.")),
        ("SettingsUpdate", "upstream_socks5_proxy", secret("`socks5://host:port`; null keeps it.")),
        ("SettingsUpdate", "webhook_url", secret("The global `https://` webhook; null keeps it.")),
        ("OptimizerUpdate", "api_key", secret("`********` keeps the stored key.")),
        ("R2Update", "access_key_id", secret("`********` keeps the stored value.")),
        ("R2Update", "secret_access_key", secret("`********` keeps the stored value.")),
        ("GalleryQuery", "date_from", date.clone()),
        ("GalleryQuery", "date_to", date.clone()),
        ("SelectionFilters", "date_from", date.clone()),
        ("SelectionFilters", "date_to", date),
        ("BatchRequest", "ids", ids(1000)),
        ("BatchFavoriteRequest", "ids", ids(1000)),
        ("GalleryDownloadRequest", "ids", ids(1000)),
        ("GalleryExportRequest", "ids", ids(1000)),
        ("ThumbnailStatusRequest", "ids", ids(100)),
        ("SnippetCreate", "favorite", lax_bool.clone()),
        ("SnippetPatch", "favorite", lax_bool),
        ("OverallConfigUpdate", "updates", json!({"maxItems": 128})),
        (
            "ConfigUpdate",
            "name",
            json!({"minLength": 1, "maxLength": 128, "pattern": config_update_spec::name_pattern()}),
        ),
        ("ConfigUpdate", "value", json!({"anyOf": [{"type": "string"}, {"type": "boolean"}, {"type": "number"}]})),
    ]
}

/// `POST /api/edits` needs a source image (`image` or `image[]` parts); an edit from the gallery takes
/// the same form without one, so the edit route gets its own copy of the form that says so.
fn require_an_upload_for_edits(spec: &mut Value) {
    let Some(mut form) = spec.pointer("/components/schemas/EditForm").cloned() else { return };
    form["description"] = json!("Edit request: text fields as in `GenerateBody` plus one to 16 source images.");
    form["required"] = json!(["prompt", "image"]);
    form["properties"]["image"]["description"] = json!(
        "Source images, in order, as repeated `image` parts (one to 16). Parts named `image[]` are taken the \
         same way, after every `image` part, in place of or beside them."
    );
    form["properties"]["image"]["minItems"] = json!(1);
    form["properties"]["image"]["maxItems"] = json!(MAX_SOURCES);
    if let Some(schemas) = spec.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        schemas.insert("EditUploadForm".into(), form);
    }
    let form_ref = "/paths/~1api~1edits/post/requestBody/content/multipart~1form-data/schema";
    if let Some(schema) = spec.pointer_mut(form_ref) {
        *schema = json!({"$ref": "#/components/schemas/EditUploadForm"});
    }
}

/// `ids` as a list, or a non-blank `selection_token`: exactly one of them (`null` counts as left out).
/// Each branch is the whole object (its fields as the schema has them, narrowed), so client
/// generators that read `oneOf` as a choice of types get two complete request types.
fn ids_or_token(name: &str, schema: &Map<String, Value>) -> Value {
    // Generators name a branch's type after its title, so it starts with the schema's name.
    let branch = |title: &str, chosen: &str, narrowed: [(&str, Value); 2]| {
        let mut properties = schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
        for (name, patch) in narrowed {
            let property = properties.entry(name).or_insert_with(|| json!({}));
            if let Value::Object(property) = property {
                property.remove("nullable");
                property.extend(patch.as_object().cloned().unwrap_or_default());
            }
        }
        let mut required = schema.get("required").and_then(Value::as_array).cloned().unwrap_or_default();
        required.push(json!(chosen));
        json!({"type": "object", "title": format!("{name}{title}"), "required": required, "properties": properties,
            "additionalProperties": false})
    };
    json!([
        branch(
            "ByIds",
            "ids",
            [("ids", json!({})), ("selection_token", json!({"nullable": true, "pattern": r"^\s*$"})),]
        ),
        branch(
            "BySelection",
            "selection_token",
            [("selection_token", json!({"pattern": r"\S"})), ("ids", json!({"nullable": true, "enum": [null]})),]
        ),
    ])
}

/// `OptionalJson` bodies are `{nullable, allOf: [$ref]}`; testers and generators read a nullable
/// schema better, so the referenced schema (only ever such a body) becomes nullable itself.
fn inline_optional_bodies(spec: &mut Value) {
    let mut nullable = Vec::new();
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|ops| ops.values_mut()) {
        let Some(schema) = operation.pointer_mut("/requestBody/content/application~1json/schema") else { continue };
        let reference = schema["allOf"][0]["$ref"].as_str().map(str::to_string);
        if let (Some(reference), true) = (reference, schema["nullable"] == true) {
            nullable.extend(reference.strip_prefix("#/components/schemas/").map(str::to_string));
            *schema = json!({"$ref": reference});
        }
    }
    for name in nullable {
        if let Some(Value::Object(schema)) = spec.pointer_mut(&format!("/components/schemas/{name}")) {
            schema.insert("nullable".into(), Value::Bool(true));
        }
    }
}

fn add_links(spec: &mut Value) {
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|ops| ops.values_mut()) {
        let Some(id) = operation["operationId"].as_str().map(str::to_string) else { continue };
        for (_, status, name, to, parameter, source) in LINKS.iter().filter(|link| link.0 == id) {
            if let Some(response) =
                operation.pointer_mut(&format!("/responses/{status}")).and_then(Value::as_object_mut)
            {
                let links = response.entry("links").or_insert_with(|| json!({}));
                links[*name] = json!({"operationId": to, "parameters": {*parameter: source}});
            }
        }
    }
}

fn document_extra_statuses(spec: &mut Value) {
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|ops| ops.values_mut()) {
        let Some(id) = operation["operationId"].as_str().map(str::to_string) else { continue };
        for (_, status, description) in EXTRA_STATUSES.iter().filter(|(op, _, _)| *op == id) {
            let error = json!({"description": description,
                "content": {"application/json; charset=utf-8": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}});
            if let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) {
                responses.entry(status.to_string()).or_insert(error);
            }
        }
    }
}

/// Names of the component schemas that JSON request bodies refer to.
fn json_body_schemas(spec: &Value) -> Vec<String> {
    let mut names = Vec::new();
    for operations in spec["paths"].as_object().into_iter().flat_map(|paths| paths.values()) {
        for operation in operations.as_object().into_iter().flat_map(|ops| ops.values()) {
            let reference = &operation["requestBody"]["content"]["application/json"]["schema"]["$ref"];
            if let Some(name) = reference.as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// Marks `name` and every object schema it reaches as closed to unknown keys.
fn close(schemas: &mut Map<String, Value>, name: &str, seen: &mut Vec<String>) {
    if seen.iter().any(|s| s == name) {
        return;
    }
    seen.push(name.to_string());
    let Some(schema) = schemas.get_mut(name) else { return };
    let mut nested = Vec::new();
    collect_refs(schema, &mut nested);
    if let Some(object) = schema.as_object_mut()
        && object.get("type").and_then(Value::as_str) == Some("object")
        && !object.contains_key("additionalProperties")
    {
        object.insert("additionalProperties".into(), Value::Bool(false));
    }
    for reference in nested {
        close(schemas, &reference, seen);
    }
}

fn collect_refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) =
                map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                found.push(name.to_string());
            }
            map.values().for_each(|v| collect_refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_link_leads_from_a_documented_reply_field_to_a_path_parameter() {
        let spec: Value = serde_json::from_str(&crate::api::spec_json()).unwrap();
        let operations: Vec<&Value> =
            spec["paths"].as_object().unwrap().values().flat_map(|ops| ops.as_object().unwrap().values()).collect();
        let find = |id: &str| *operations.iter().find(|op| op["operationId"] == id).unwrap_or_else(|| panic!("{id}"));
        for (from, status, name, to, parameter, source) in LINKS {
            let response = &find(from)["responses"][*status];
            assert_eq!(response["links"][*name]["operationId"], *to, "{from} {status} {name}");
            let schema = &response["content"]["application/json; charset=utf-8"]["schema"]["$ref"];
            let reply = schema.as_str().unwrap().trim_start_matches("#/components/schemas/");
            let field = source.trim_start_matches("$response.body#/");
            assert!(spec["components"]["schemas"][reply]["properties"].get(field).is_some(), "{reply}.{field}");
            let parameters = find(to)["parameters"].as_array().unwrap();
            assert!(parameters.iter().any(|p| p["name"] == *parameter && p["in"] == "path"), "{to} {parameter}");
        }
    }

    #[test]
    fn request_bodies_and_what_they_reach_are_closed_and_responses_are_not() {
        let mut spec = json!({
            "paths": {"/a": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Outer"}}}}}}},
            "components": {"schemas": {
                "Outer": {"type": "object", "properties": {"inner": {"$ref": "#/components/schemas/Inner"}}},
                "Inner": {"type": "object", "properties": {}},
                "Reply": {"type": "object", "properties": {}}
            }}
        });
        apply(&mut spec);
        let schemas = &spec["components"]["schemas"];
        assert_eq!(schemas["Outer"]["additionalProperties"], false);
        assert_eq!(schemas["Inner"]["additionalProperties"], false);
        assert_eq!(schemas["Reply"].get("additionalProperties"), None);
    }
}
