//! Signup, verification, login and logout for the browser (session cookie).

use leptos::prelude::*;

use crate::{domain::dto::{MailMessageOut, MeOut}, error::AppError};

/// The signed-in user with their tenants, or `None` for a visitor.
#[server(prefix = "/sfn")]
pub async fn current_user() -> Result<Option<MeOut>, AppError> {
    use crate::ssr::{auth::principal, services::tenants};
    let caller = super::context::caller().await?;
    let Some(principal) = principal::authenticate(&caller.state, &caller.headers, Some(&caller.session)).await? else {
        return Ok(None);
    };
    let access = principal::tenant_access(&caller.state, principal.clone(), &caller.headers, Some(&caller.session)).await.ok();
    tenants::me(&caller.state, &principal, access.as_ref()).await.map(Some)
}

#[server(prefix = "/sfn")]
pub async fn login(email: String, password: String) -> Result<(), AppError> {
    use crate::ssr::{auth::principal::{session_error, SESSION_TENANT_KEY, SESSION_USER_KEY}, services::identity};
    let caller = super::context::caller().await?;
    let ip = leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>().await.ok().map(|c| c.0.ip());
    let user_id = identity::check_password(&caller.state, &email, &password, ip).await?;
    // A new session id at login: a session fixed by an attacker before login is worth nothing.
    caller.session.cycle_id().await.map_err(session_error)?;
    caller.session.remove::<String>(SESSION_TENANT_KEY).await.map_err(session_error)?;
    caller.session.insert(SESSION_USER_KEY, user_id.to_string()).await.map_err(session_error)?;
    leptos_axum::redirect("/");
    Ok(())
}

#[server(prefix = "/sfn")]
pub async fn signup(email: String, password: String, tenant_name: Option<String>) -> Result<(), AppError> {
    use crate::{domain::{EmailAddress, Name, Password}, ssr::services::identity};
    let caller = super::context::caller().await?;
    let input = identity::SignupInput {
        email: EmailAddress::parse(&email)?,
        password: Password::parse(&password)?,
        tenant_name: tenant_name.filter(|n| !n.trim().is_empty()).map(|n| Name::parse(&n, "tenant_name")).transpose()?,
    };
    let out = identity::signup(&caller.state, input).await?;
    leptos_axum::redirect(&format!("/verify-email-code?email={}", urlencode(out.user.email.as_str())));
    Ok(())
}

#[server(prefix = "/sfn")]
pub async fn verify_email_code(email: String, code: String) -> Result<(), AppError> {
    let caller = super::context::caller().await?;
    crate::ssr::services::identity::verify_email_code(&caller.state, &email, &code).await?;
    leptos_axum::redirect("/login?verified=1");
    Ok(())
}

#[server(prefix = "/sfn")]
pub async fn resend_verification(email: String) -> Result<(), AppError> {
    let caller = super::context::caller().await?;
    crate::ssr::services::identity::resend_verification(&caller.state, &email).await
}

#[server(prefix = "/sfn")]
pub async fn logout() -> Result<(), AppError> {
    let caller = super::context::caller().await?;
    caller.session.flush().await.map_err(crate::ssr::auth::principal::session_error)?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// What the development mail transport captured (only while it is the configured transport).
#[server(prefix = "/sfn")]
pub async fn dev_mailbox() -> Result<Vec<MailMessageOut>, AppError> {
    let caller = super::context::caller().await?;
    let page = crate::ssr::db::PageParams { limit: Some(50), ..Default::default() };
    Ok(crate::ssr::services::mailbox::list(&caller.state, &page).await?.data)
}

#[cfg(feature = "ssr")]
fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
