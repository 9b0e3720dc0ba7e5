use std::time::Duration;

use async_trait::async_trait;

use super::{MailError, MailTransport, OutgoingMail};
use crate::ssr::config::Secret;

/// Mailgun's `POST /v3/{domain}/messages`, basic auth `api:{key}`, form-encoded.
pub struct MailgunTransport {
    client: reqwest::Client,
    endpoint: String,
    api_key: Secret,
}

impl MailgunTransport {
    pub fn new(api_base: &str, domain: &str, api_key: Secret) -> Result<Self, MailError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| MailError::Config(e.to_string()))?;
        Ok(Self { client, endpoint: format!("{}/v3/{domain}/messages", api_base.trim_end_matches('/')), api_key })
    }
}

#[async_trait]
impl MailTransport for MailgunTransport {
    fn name(&self) -> &'static str {
        "mailgun"
    }

    async fn send(&self, from: &str, mail: &OutgoingMail) -> Result<(), MailError> {
        self.deliver(from, mail, None).await
    }

    async fn send_replying_to(&self, from: &str, mail: &OutgoingMail, reply_to: &str) -> Result<(), MailError> {
        self.deliver(from, mail, Some(reply_to)).await
    }
}

impl MailgunTransport {
    async fn deliver(&self, from: &str, mail: &OutgoingMail, reply_to: Option<&str>) -> Result<(), MailError> {
        let mut form = vec![("from", from), ("to", &mail.to), ("subject", &mail.subject), ("text", &mail.text)];
        if let Some(r) = reply_to {
            form.push(("h:Reply-To", r));
        }
        let response = self
            .client
            .post(&self.endpoint)
            .basic_auth("api", Some(self.api_key.expose()))
            .form(&form)
            .send()
            .await
            .map_err(|e| MailError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body: String = response.text().await.unwrap_or_default().chars().take(200).collect();
        // Mailgun down or throttling: worth another try. Any other answer is about the message.
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(MailError::Unreachable(format!("HTTP {status}: {body}")));
        }
        Err(MailError::Rejected(format!("HTTP {status}: {body}")))
    }
}
