//! Query parameters typed in the OpenAPI document as the server reads them (integers with their
//! bounds, booleans with the lenient spellings the previous panel accepted, strings with their
//! length), while the handler still sees the raw text and reports a bad value with the contract's
//! own message (`query.page - Input should be a valid integer, ...`).

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseFromParameter, ParseResult, Type};

/// The spellings `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, `t`/`f`, `y`/`n`, any case, with
/// surrounding whitespace.
pub const LENIENT_BOOL_PATTERN: &str =
    r"^\s*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0|[Yy][Ee][Ss]|[Nn][Oo]|[Oo][Nn]|[Oo][Ff][Ff]|[TtFfYyNn])\s*$";

/// `crate::settings::parse_bool`'s words: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, any case,
/// with surrounding whitespace.
pub const SETTING_BOOL_PATTERN: &str =
    r"^\s*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0|[Yy][Ee][Ss]|[Nn][Oo]|[Oo][Nn]|[Oo][Ff][Ff])\s*$";

macro_rules! raw_text_param {
    ($name:ident $(<$(const $generic:ident: $ty:ty),*>)?, $schema:expr) => {
        impl$(<$(const $generic: $ty),*>)? Type for $name$(<$($generic),*>)? {
            const IS_REQUIRED: bool = true;
            type RawValueType = String;
            type RawElementValueType = String;

            fn name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new($schema))
            }

            fn as_raw_value(&self) -> Option<&String> {
                Some(&self.0)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
                Box::new(std::iter::once(&self.0))
            }
        }

        impl$(<$(const $generic: $ty),*>)? ParseFromParameter for $name$(<$($generic),*>)? {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                Ok($name(value.to_string()))
            }
        }
    };
}

/// An integer in `MIN..=MAX` (`i64::MAX` leaves the top open).
pub struct IntParam<const MIN: i64, const MAX: i64>(pub String);

raw_text_param!(IntParam<const MIN: i64, const MAX: i64>, MetaSchema {
    minimum: Some(MIN as f64),
    maximum: (MAX != i64::MAX).then_some(MAX as f64),
    ..MetaSchema::new_with_format("integer", "int64")
});

/// A boolean: JSON-style `true`/`false` or one of the lenient spellings.
pub struct BoolParam(pub String);

raw_text_param!(
    BoolParam,
    MetaSchema {
        any_of: vec![
            MetaSchemaRef::Inline(Box::new(MetaSchema::new("boolean"))),
            MetaSchemaRef::Inline(Box::new(MetaSchema {
                pattern: Some(LENIENT_BOOL_PATTERN.to_string()),
                ..MetaSchema::new("string")
            })),
        ],
        ..MetaSchema::ANY
    }
);

/// Text of at most `MAX` characters.
pub struct TextParam<const MAX: usize>(pub String);

raw_text_param!(TextParam<const MAX: usize>, MetaSchema { max_length: Some(MAX), ..MetaSchema::new("string") });

/// The raw text of an optional parameter, for the handler's own parsing.
pub fn raw<T: Type<RawValueType = String>>(param: Option<T>) -> Option<String> {
    param.and_then(|p| p.as_raw_value().cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lenient_pattern_accepts_what_the_handlers_accept() {
        let pattern = regex_lite::Regex::new(LENIENT_BOOL_PATTERN).unwrap();
        for yes in ["true", "TRUE", " yes ", "On", "1", "t", "Y", "false", "0", "no", "OFF", "f", "n"] {
            assert!(pattern.is_match(yes), "{yes}");
        }
        for no in ["", "2", "tru", "yess", "of", "true false", "maybe"] {
            assert!(!pattern.is_match(no), "{no}");
        }
    }
}
