//! `{"status", "message"}`: the body of routes that only confirm what they did.

use poem_openapi::Object;

#[derive(Debug, Object)]
pub struct StatusMessage {
    pub status: String,
    pub message: String,
}

impl StatusMessage {
    pub fn new(status: &str, message: impl Into<String>) -> Self {
        StatusMessage { status: status.to_string(), message: message.into() }
    }
}
