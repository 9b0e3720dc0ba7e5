//! The development mailbox: readable only while the dev transport is configured, because it then
//! holds every verification code the server "sent".

use crate::{
    domain::dto::*,
    error::{AppError, AppResult},
    ssr::{db::{mailbox, PageParams}, AppState},
};

pub fn enabled(state: &AppState) -> bool {
    state.mailer.transport_name() == "dev"
}

pub async fn list(state: &AppState, page: &PageParams) -> AppResult<List<MailMessageOut>> {
    if !enabled(state) {
        return Err(AppError::not_found("mailbox"));
    }
    super::convert::list(mailbox::listing().fetch(&state.db, page).await?, |row| Ok(super::convert::mail(row)))
}
