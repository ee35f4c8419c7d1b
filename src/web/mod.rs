//! The HTTP edge: the security layer and its checks, response headers, body limits, and the embedded
//! frontend.

pub mod allow;
pub mod body_limit;
pub mod client_ip;
pub mod csrf;
pub mod frontend;
pub mod gate;
pub mod headers;
pub mod host;
pub mod security;
pub mod sse;
pub mod token;
