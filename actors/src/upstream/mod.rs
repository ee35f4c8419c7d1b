//! Everything that talks to the outside: the SSRF guard every outbound URL passes, and the HTTP
//! transport whose DNS resolver only ever hands out vetted addresses.

pub mod endpoint;
pub mod guard;
pub mod memory_budget;
pub mod outbound_limits;
pub mod protocols;
pub mod transport;
pub mod unit;
pub mod url_shape;
