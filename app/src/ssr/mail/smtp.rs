use async_trait::async_trait;
use lettre::{message::Mailbox, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{MailError, MailTransport, OutgoingMail};

pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpTransport {
    /// `smtp://user:pass@host:587?tls=required` or `smtps://…` (lettre's URL format).
    pub fn from_url(url: &str) -> Result<Self, MailError> {
        let inner = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Config(format!("PAYBUS_SMTP_URL: {e}")))?
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        Ok(Self { inner })
    }
}

#[async_trait]
impl MailTransport for SmtpTransport {
    fn name(&self) -> &'static str {
        "smtp"
    }

    async fn send(&self, from: &str, mail: &OutgoingMail) -> Result<(), MailError> {
        self.deliver(from, mail, None).await
    }

    async fn send_replying_to(&self, from: &str, mail: &OutgoingMail, reply_to: &str) -> Result<(), MailError> {
        self.deliver(from, mail, Some(reply_to)).await
    }
}

impl SmtpTransport {
    async fn deliver(&self, from: &str, mail: &OutgoingMail, reply_to: Option<&str>) -> Result<(), MailError> {
        let from: Mailbox = from.parse().map_err(|e| MailError::Config(format!("PAYBUS_MAIL_FROM: {e}")))?;
        let to: Mailbox = mail.to.parse().map_err(|e| MailError::Rejected(format!("recipient: {e}")))?;
        let mut builder = Message::builder().from(from).to(to).subject(&mail.subject);
        if let Some(r) = reply_to {
            builder = builder.reply_to(r.parse().map_err(|e| MailError::Rejected(format!("reply-to: {e}")))?);
        }
        let message = builder.body(mail.text.clone()).map_err(|e| MailError::Rejected(e.to_string()))?;
        // A 5xx reply is the server's final word on this message; anything else may pass later.
        self.inner.send(message).await.map_err(|e| if e.is_permanent() { MailError::Rejected(e.to_string()) } else { MailError::Unreachable(e.to_string()) })?;
        Ok(())
    }
}
