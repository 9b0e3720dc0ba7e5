use async_trait::async_trait;

use super::{MailError, MailTransport, OutgoingMail};
use crate::{
    domain::MailMessageId,
    ssr::{
        db::{mailbox, Db},
        ids::new_id,
        time_util::now_ms,
    },
};

/// Nothing leaves the machine: the message goes to the log and to `dev_mailbox`.
pub struct DevTransport {
    db: Db,
}

impl DevTransport {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl MailTransport for DevTransport {
    fn name(&self) -> &'static str {
        "dev"
    }

    async fn send(&self, _from: &str, mail: &OutgoingMail) -> Result<(), MailError> {
        tracing::info!(to = %mail.to, subject = %mail.subject, body = %mail.text, "dev mail (not sent; see /dev/mail)");
        let row = mailbox::MailRow {
            id: new_id::<MailMessageId>().to_string(),
            to_addr: mail.to.clone(),
            subject: mail.subject.clone(),
            body: mail.text.clone(),
            created_at: now_ms(),
        };
        mailbox::insert(&self.db.pool, &row).await.map_err(|e| MailError::Unreachable(e.to_string()))
    }
}
