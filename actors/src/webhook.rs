//! The webhook sender: signed deliveries of finished jobs. Each delivery runs as its own task (never
//! inside `handle`), re-checks the URL against the SSRF rules, and retries with backoff; every attempt
//! gets a fresh timestamp and signature over the same body and the same delivery id. Failures are
//! logged and never touch the job.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use sha2::Sha256;

use crate::upstream::guard::{Policy, Purpose, vet};
use crate::upstream::transport::Transport;
use crate::upstream::unit::describe;

/// How and where one job's webhook goes.
#[derive(Clone)]
pub struct WebhookPlan {
    pub url: String,
    pub secret: String,
    pub timeout: Duration,
    pub attempts: u32,
    pub allowlist: Vec<String>,
    pub allow_private: bool,
}

pub struct Delivery {
    pub job_id: String,
    pub plan: WebhookPlan,
    /// The exact body to send (compact JSON).
    pub body: String,
}

pub enum WebhookMsg {
    Deliver(Box<Delivery>),
}

pub struct WebhookSender;

impl Actor for WebhookSender {
    type Msg = WebhookMsg;
    type State = Transport;
    type Arguments = Transport;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        transport: Transport,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(transport)
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        transport: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            WebhookMsg::Deliver(delivery) => {
                let transport = transport.clone();
                tokio::spawn(async move { deliver(*delivery, &transport).await });
            }
        }
        Ok(())
    }
}

/// `sha256=` + lowercase hex HMAC-SHA256 of `<timestamp>.<body>`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let hex: String = crate::hex::encode(&mac.finalize().into_bytes());
    format!("sha256={hex}")
}

/// Seconds to wait after a failed attempt: 1, 2, 4, then 4.
fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(2u64.pow(attempt.saturating_sub(1).min(2)))
}

async fn deliver(delivery: Delivery, transport: &Transport) {
    let Delivery { job_id, plan, body } = delivery;
    let Ok(url) = url::Url::parse(&plan.url) else {
        tracing::warn!(%job_id, "webhook URL is invalid; delivery abandoned");
        return;
    };
    let policy =
        Policy { purpose: Purpose::Webhook, allowlist: plan.allowlist.clone(), allow_private: plan.allow_private };
    if let Err(refused) = vet(&url, &policy).await {
        tracing::warn!(%job_id, reason = %refused, "webhook refused; delivery abandoned");
        return;
    }
    let client = match transport.guarded_client(plan.allow_private, plan.timeout) {
        Ok(client) => client,
        Err(err) => {
            tracing::warn!(%job_id, error = %err, "webhook client unavailable");
            return;
        }
    };
    let delivery_id = uuid::Uuid::new_v4().to_string();
    let attempts = plan.attempts.max(1);
    for attempt in 1..=attempts {
        let timestamp = chrono::Utc::now().timestamp();
        let request = client
            .post(url.clone())
            .header("content-type", "application/json")
            .header("user-agent", "gpt-image-panel-webhook")
            .header("x-webhook-event", "image.job.finished")
            .header("x-webhook-job-id", &job_id)
            .header("x-webhook-delivery", &delivery_id)
            .header("x-webhook-timestamp", timestamp.to_string())
            .header("x-webhook-signature", signature(&plan.secret, timestamp, &body))
            .body(body.clone());
        match request.send().await {
            Ok(response) if response.status().is_success() => {
                tracing::info!(%job_id, attempt, "webhook delivered");
                return;
            }
            Ok(response) => {
                tracing::warn!(%job_id, attempt, status = response.status().as_u16(), "webhook attempt failed")
            }
            Err(err) => tracing::warn!(%job_id, attempt, error = %describe(err), "webhook attempt failed"),
        }
        if attempt < attempts {
            tokio::time::sleep(backoff(attempt)).await;
        }
    }
    tracing::warn!(%job_id, attempts, "webhook not delivered");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_and_backoff_follow_the_contract() {
        // HMAC-SHA256("key", "1.body") computed independently.
        let expected = {
            let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
            mac.update(b"1.body");
            crate::hex::encode(&mac.finalize().into_bytes())
        };
        assert_eq!(signature("key", 1, "body"), format!("sha256={expected}"));
        assert_eq!([1, 2, 3, 4].map(|a| backoff(a).as_secs()), [1, 2, 4, 4]);
    }
}
