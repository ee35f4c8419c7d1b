//! The security layer every request passes, in this order: body limit → Host allowlist → IP allowlist
//! (not for /health) → CSRF origin check (unsafe methods) → access gate. Then the route, then the
//! response headers. Every refusal and every route error is rendered here as the contract's envelope.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use tracing::Instrument;

use super::client_ip::ClientInfo;
use super::host::normalize_host;
use super::{allow, body_limit, csrf, gate, headers, token};
use crate::api::error::{ApiError, from_poem_error};
use crate::app::AppState;
use crate::settings::{Config, HostRule, PublicOrigin};

/// What later layers and handlers may read about the request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub correlation_id: String,
    pub client: ClientInfo,
}

pub struct SecurityLayer(pub Arc<AppState>);

impl<E: Endpoint> Middleware<E> for SecurityLayer {
    type Output = SecurityEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        SecurityEndpoint { state: self.0.clone(), inner }
    }
}

pub struct SecurityEndpoint<E> {
    state: Arc<AppState>,
    inner: E,
}

impl<E: Endpoint> Endpoint for SecurityEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let correlation_id = panel_actors::hex::encode(&rand::random::<[u8; 16]>());
        let span = tracing::info_span!(
            "request",
            http.method = %req.method(),
            http.path = %req.uri().path(),
            correlation_id = %correlation_id,
            http.status = tracing::field::Empty,
        );
        let response = self.handle(req, &correlation_id).instrument(span.clone()).await;
        span.record("http.status", response.status().as_u16());
        Ok(response)
    }
}

impl<E: Endpoint> SecurityEndpoint<E> {
    async fn handle(&self, mut req: Request, correlation_id: &str) -> Response {
        let started = Instant::now();
        let config = self.state.settings.current();
        let path = req.uri().path().to_string();
        let method = req.method().clone();
        let client = ClientInfo::resolve(&req, &config);

        let limit = body_limit::limit_for(&path, req.content_type(), &config);
        let mut response = match body_limit::enforce(&mut req, limit) {
            Err(refusal) => refusal.render(correlation_id),
            Ok(tripped) => match guard(&req, &config, &client) {
                Err(refusal) => {
                    tracing::warn!(client = %client.key(), %method, %path, code = refusal.code, "request refused");
                    refusal.render(correlation_id)
                }
                Ok(()) => {
                    let context = RequestContext { correlation_id: correlation_id.to_string(), client: client.clone() };
                    req.extensions_mut().insert(context);
                    let result = self.inner.call(req).await;
                    if tripped.load(Ordering::SeqCst) {
                        ApiError::too_large().render(correlation_id)
                    } else {
                        match result {
                            Ok(output) => output.into_response(),
                            Err(err) => from_poem_error(err, correlation_id).render(correlation_id),
                        }
                    }
                }
            },
        };
        if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            response.headers_mut().insert(poem::http::header::ALLOW, allow::allowed(&path));
        }
        headers::apply(&mut response, &path, correlation_id);
        tracing::info!(
            client = %client.key(), %method, %path, status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64, "request"
        );
        response
    }
}

fn guard(req: &Request, config: &Config, client: &ClientInfo) -> Result<(), ApiError> {
    check_host(req, config, client)?;
    let path = req.uri().path();
    if path != "/health" && !ip_allowed(config, client) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "IP address is not allowed").with_code("ip_not_allowed"));
    }
    if config.csrf_enabled && csrf::needs_check(req.method()) && !csrf::origin_allowed(req, config, client) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "CSRF origin check failed").with_code("csrf_rejected"));
    }
    if let Some(key) = &config.access_key
        && !gate::is_exempt(req.method(), path)
        && session_expiry(req, config, key).is_none()
    {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "Access key required"));
    }
    Ok(())
}

fn check_host(req: &Request, config: &Config, client: &ClientInfo) -> Result<(), ApiError> {
    let refuse = |detail: &str| ApiError::new(StatusCode::BAD_REQUEST, detail).with_code("host_not_allowed");
    if config.public_origin == PublicOrigin::Invalid {
        return Err(refuse("PUBLIC_ORIGIN is invalid"));
    }
    let HostRule::Only(allowed) = &config.allowed_hosts else {
        return Ok(());
    };
    let host = req.header("host").map(str::to_string).or_else(|| req.uri().authority().map(|a| a.to_string()));
    let host_ok = host.as_deref().and_then(normalize_host).is_some_and(|host| allowed.contains(&host));
    if !host_ok {
        return Err(refuse("Host is not allowed"));
    }
    if let Some(forwarded) = client.forwarded(req, "x-forwarded-host")
        && !normalize_host(forwarded).is_some_and(|host| allowed.contains(&host))
    {
        return Err(refuse("Forwarded host is not allowed"));
    }
    Ok(())
}

fn ip_allowed(config: &Config, client: &ClientInfo) -> bool {
    if config.ip_allowlist.is_empty() {
        return true;
    }
    client.parsed().is_some_and(|ip| config.ip_allowlist.iter().any(|net| net.contains(&ip)))
}

/// The expiry of the request's valid session cookie, if any.
pub fn session_expiry(req: &Request, config: &Config, key: &str) -> Option<i64> {
    let cookie = gate::cookie(req, &config.cookie_name)?;
    token::verify(key, cookie, chrono::Utc::now().timestamp())
}
