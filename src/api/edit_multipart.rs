//! The edits routes stream their multipart body (files go straight to disk under size caps), so they
//! take poem's raw `Multipart`. This extractor wraps it and describes the form in the OpenAPI document,
//! so generated clients know the fields.

use poem::web::Multipart;
use poem::{FromRequest, Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

/// The multipart body of `POST /api/edits` and `POST /api/edits/from-gallery/{image_id}`.
pub struct EditMultipart(pub Multipart);

const SCHEMA_NAME: &str = "EditForm";

fn text(description: &'static str) -> MetaSchemaRef {
    MetaSchemaRef::Inline(Box::new(MetaSchema { description: Some(description), ..MetaSchema::new("string") }))
}

fn file(description: &'static str) -> MetaSchema {
    MetaSchema { description: Some(description), ..MetaSchema::new_with_format("string", "binary") }
}

impl<'a> ApiExtractor<'a> for EditMultipart {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(SCHEMA_NAME.to_string(), |_| MetaSchema {
            description: Some("Edit request: text fields as in `GenerateBody` plus the source images."),
            required: vec!["prompt"],
            properties: vec![
                ("prompt", text("1–4000 characters.")),
                ("size", text("`auto` or `WIDTHxHEIGHT`.")),
                ("model", text("The preset's default model when left out or blank.")),
                ("n", text("1–10 images (default 1).")),
                ("quality", text("auto | low | medium | high")),
                ("output_format", text("png | jpeg | webp")),
                ("output_compression", text("0–100; ignored for png.")),
                ("response_format", text("url | b64_json")),
                ("webhook_url", text("A webhook for this job only (HTTPS).")),
                ("image", MetaSchemaRef::Inline(Box::new(file("One source image.")))),
                (
                    "image[]",
                    MetaSchemaRef::Inline(Box::new(MetaSchema {
                        description: Some("Several source images (up to 16), in order."),
                        items: Some(Box::new(MetaSchemaRef::Inline(Box::new(file("A source image."))))),
                        ..MetaSchema::new("array")
                    })),
                ),
            ],
            ..MetaSchema::new("object")
        });
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "multipart/form-data",
                schema: MetaSchemaRef::Reference(SCHEMA_NAME.to_string()),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _options: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(EditMultipart(<Multipart as FromRequest>::from_request(request, body).await?))
    }
}
