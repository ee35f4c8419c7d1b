//! Routes that stream a multipart body (files go straight to disk under size caps) take poem's raw
//! `Multipart`. `Form` wraps it and describes the form in the OpenAPI document, so generated clients
//! know the fields: the edit form and the import upload.

use std::collections::HashMap;
use std::marker::PhantomData;

use poem::web::Multipart;
use poem::{FromRequest, Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::edit_uploads::MAX_SOURCES;
use super::generate_request::GenerateBody;

/// A form's name and schema in the OpenAPI document.
pub trait FormSchema: Send + Sync {
    const NAME: &'static str;
    fn schema() -> MetaSchema;
}

/// A streamed multipart body described by `S`.
pub struct Form<S>(pub Multipart, PhantomData<S>);

/// The multipart body of `POST /api/edits`.
pub type EditMultipart = Form<EditForm>;
/// The multipart body of `POST /api/import`.
pub type ImportMultipart = Form<ImportForm>;

pub struct EditForm;
pub struct ImportForm;

fn file(description: &'static str) -> MetaSchema {
    MetaSchema { description: Some(description), ..MetaSchema::new_with_format("string", "binary") }
}

impl FormSchema for ImportForm {
    const NAME: &'static str = "ImportForm";

    fn schema() -> MetaSchema {
        MetaSchema {
            description: Some("A gallery ZIP archive, as made by an export."),
            required: vec!["archive"],
            properties: vec![("archive", MetaSchemaRef::Inline(Box::new(file("The ZIP archive."))))],
            ..MetaSchema::new("object")
        }
    }
}

impl FormSchema for EditForm {
    const NAME: &'static str = "EditForm";

    /// The text fields are `GenerateBody`'s, with their constraints (one declaration for both
    /// routes), less `api_path` (edits always go to `/v1/images/edits`), plus `response_format` and
    /// the image parts. Empty fields count as left out.
    fn schema() -> MetaSchema {
        let mut registry = Registry::new();
        GenerateBody::register(&mut registry);
        let generate = registry.schemas.remove("GenerateBody").unwrap_or_else(|| MetaSchema::new("object"));
        // A form has no null: a field is sent or left out.
        let not_null = |(name, schema): (&'static str, MetaSchemaRef)| match schema {
            MetaSchemaRef::Inline(mut schema) => {
                schema.nullable = false;
                (name, MetaSchemaRef::Inline(schema))
            }
            reference => (name, reference),
        };
        let mut properties: Vec<(&'static str, MetaSchemaRef)> =
            generate.properties.into_iter().filter(|(name, _)| *name != "api_path").map(not_null).collect();
        properties.push((
            "response_format",
            MetaSchemaRef::Inline(Box::new(MetaSchema {
                description: Some("url | b64_json; left out, it is not sent upstream."),
                pattern: Some("^(url|b64_json)$".into()),
                ..MetaSchema::new("string")
            })),
        ));
        // One field for both names: generated clients make one identifier of `image` and `image[]`.
        properties.push((
            "image",
            MetaSchemaRef::Inline(Box::new(MetaSchema {
                description: Some(
                    "Extra source images after the gallery image, in order, as repeated `image` parts (at most 16 \
                     sources in all). Parts named `image[]` are taken the same way, after every `image` part.",
                ),
                items: Some(Box::new(MetaSchemaRef::Inline(Box::new(file("A source image."))))),
                max_items: Some(MAX_SOURCES - 1),
                ..MetaSchema::new("array")
            })),
        ));
        MetaSchema {
            description: Some("Edit request: text fields as in `GenerateBody` plus the source images."),
            required: vec!["prompt"],
            properties,
            ..MetaSchema::new("object")
        }
    }
}

impl<'a, S: FormSchema + 'static> ApiExtractor<'a> for Form<S> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(S::NAME.to_string(), |_| S::schema());
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "multipart/form-data",
                schema: MetaSchemaRef::Reference(S::NAME.to_string()),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _options: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(Form(<Multipart as FromRequest>::from_request(request, body).await?, PhantomData))
    }
}

/// The body of `POST /api/edits/from-gallery/{image_id}`: the edit form as multipart (with optional
/// extra sources) or, since the gallery image is the source, as plain form fields
/// (`application/x-www-form-urlencoded`, what HTML forms, `curl -d` and `requests` `data=` send).
pub enum GalleryEditBody {
    Multipart(Multipart),
    Fields(HashMap<String, String>),
}

const URLENCODED: &str = "application/x-www-form-urlencoded";

impl<'a> ApiExtractor<'a> for GalleryEditBody {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        EditMultipart::register(registry);
    }

    /// The edit form's request, also offered as plain form fields.
    fn request_meta() -> Option<MetaRequest> {
        let mut meta = EditMultipart::request_meta()?;
        let schema = MetaSchemaRef::Reference(EditForm::NAME.to_string());
        meta.content.push(MetaMediaType { content_type: URLENCODED, schema });
        Some(meta)
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _options: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let urlencoded =
            request.content_type().is_some_and(|ct| ct.trim().to_ascii_lowercase().starts_with(URLENCODED));
        if !urlencoded {
            return Ok(GalleryEditBody::Multipart(<Multipart as FromRequest>::from_request(request, body).await?));
        }
        // The security layer's body limit bounds what is read here.
        let bytes = body.take()?.into_vec().await.map_err(|_| super::error::ApiError::too_large())?;
        // A repeated field keeps its last value, as in the multipart form.
        Ok(GalleryEditBody::Fields(url::form_urlencoded::parse(&bytes).into_owned().collect()))
    }
}
