//! Outgoing email through one trait, three transports: Mailgun's HTTP API, SMTP (lettre), and a
//! development transport that logs each message and keeps it in `dev_mailbox` for the dashboard.

mod dev;
mod mailgun;
mod smtp;

use std::sync::Arc;

use async_trait::async_trait;

use super::{config::{MailConfig, MailTransportKind}, db::Db};

pub use dev::DevTransport;
pub use mailgun::MailgunTransport;
pub use smtp::SmtpTransport;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail transport rejected the message: {0}")]
    Rejected(String),
    #[error("mail transport unreachable: {0}")]
    Unreachable(String),
    #[error("mail configuration is invalid: {0}")]
    Config(String),
}

#[async_trait]
pub trait MailTransport: Send + Sync {
    fn name(&self) -> &'static str;
    async fn send(&self, from: &str, mail: &OutgoingMail) -> Result<(), MailError>;

    /// With a `Reply-To` address; a transport that cannot set one sends without it.
    async fn send_replying_to(&self, from: &str, mail: &OutgoingMail, _reply_to: &str) -> Result<(), MailError> {
        self.send(from, mail).await
    }
}

/// The configured transport plus the sender address.
#[derive(Clone)]
pub struct Mailer {
    from: String,
    transport: Arc<dyn MailTransport>,
}

impl Mailer {
    pub fn from_config(config: &MailConfig, db: &Db) -> Result<Self, MailError> {
        let transport: Arc<dyn MailTransport> = match &config.transport {
            MailTransportKind::Dev => Arc::new(DevTransport::new(db.clone())),
            MailTransportKind::Mailgun { api_key, domain, api_base } => {
                Arc::new(MailgunTransport::new(api_base, domain, api_key.clone())?)
            }
            MailTransportKind::Smtp { url } => Arc::new(SmtpTransport::from_url(url.expose())?),
        };
        Ok(Self { from: config.from.clone(), transport })
    }

    pub fn transport_name(&self) -> &'static str {
        self.transport.name()
    }

    /// Sends, logging the outcome; callers decide whether a failure matters.
    pub async fn send(&self, mail: OutgoingMail) -> Result<(), MailError> {
        self.send_replying_to(mail, None).await
    }

    /// Sends with an optional `Reply-To` (a tenant's support address), logging the outcome.
    pub async fn send_replying_to(&self, mail: OutgoingMail, reply_to: Option<&str>) -> Result<(), MailError> {
        let result = match reply_to {
            Some(r) => self.transport.send_replying_to(&self.from, &mail, r).await,
            None => self.transport.send(&self.from, &mail).await,
        };
        match &result {
            Ok(()) => tracing::info!(transport = self.transport.name(), subject = %mail.subject, "mail sent"),
            Err(e) => tracing::warn!(transport = self.transport.name(), error = %e, "mail not sent"),
        }
        result
    }
}
