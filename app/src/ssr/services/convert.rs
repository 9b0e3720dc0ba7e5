//! Rows to API objects. Ids and roles come from our own tables, so they are trusted here.

use crate::{
    domain::{dto::*, EmailAddress, PrefixedId, Role},
    error::AppError,
    ssr::{
        db::{api_keys::ApiKeyRow, invitations::InvitationRow, mailbox::MailRow, memberships::{MemberRow, UserTenantRow}, users::UserRow},
        time_util::{from_ms, now_ms},
    },
};

pub fn role(raw: &str) -> Result<Role, AppError> {
    Role::parse(raw).ok_or_else(|| {
        tracing::error!(role = raw, "unknown role stored in the database");
        AppError::Internal
    })
}

fn email(raw: &str) -> Result<EmailAddress, AppError> {
    EmailAddress::parse(raw).map_err(|_| AppError::Internal)
}

pub fn user(row: &UserRow) -> Result<UserOut, AppError> {
    Ok(UserOut {
        id: PrefixedId::from_trusted(row.id.clone()),
        email: email(&row.email)?,
        email_verified: row.email_verified_at.is_some(),
        default_tenant: row.default_tenant_id.clone().map(PrefixedId::from_trusted),
        created_at: from_ms(row.created_at),
    })
}

pub fn tenant(row: &UserTenantRow) -> Result<TenantOut, AppError> {
    Ok(TenantOut {
        id: PrefixedId::from_trusted(row.id.clone()),
        name: row.name.clone(),
        role: role(&row.role)?,
        created_at: from_ms(row.created_at),
        is_demo: row.is_demo != 0,
    })
}

pub fn member(row: &MemberRow) -> Result<MemberOut, AppError> {
    Ok(MemberOut {
        user_id: PrefixedId::from_trusted(row.user_id.clone()),
        email: email(&row.email)?,
        role: role(&row.role)?,
        joined_at: from_ms(row.created_at),
    })
}

pub fn invitation(row: &InvitationRow) -> Result<InvitationOut, AppError> {
    let status = if row.accepted_at.is_some() {
        "accepted"
    } else if row.revoked_at.is_some() {
        "revoked"
    } else if row.expires_at <= now_ms() {
        "expired"
    } else {
        "pending"
    };
    Ok(InvitationOut {
        id: PrefixedId::from_trusted(row.id.clone()),
        email: email(&row.email)?,
        role: role(&row.role)?,
        status: status.into(),
        expires_at: from_ms(row.expires_at),
        created_at: from_ms(row.created_at),
    })
}

pub fn api_key(row: &ApiKeyRow) -> Result<ApiKeyOut, AppError> {
    Ok(ApiKeyOut {
        id: PrefixedId::from_trusted(row.id.clone()),
        name: row.name.clone(),
        prefix: row.prefix.clone(),
        last4: row.last4.clone(),
        role: role(&row.role)?,
        mode: row.mode.clone(),
        last_used_at: row.last_used_at.map(from_ms),
        revoked_at: row.revoked_at.map(from_ms),
        created_at: from_ms(row.created_at),
    })
}

pub fn mail(row: &MailRow) -> MailMessageOut {
    MailMessageOut {
        id: PrefixedId::from_trusted(row.id.clone()),
        to: row.to_addr.clone(),
        subject: row.subject.clone(),
        body: row.body.clone(),
        created_at: from_ms(row.created_at),
    }
}

pub fn list<R, T>(rows: (Vec<R>, bool), f: impl Fn(&R) -> Result<T, AppError>) -> Result<List<T>, AppError> {
    let (rows, has_more) = rows;
    Ok(List::new(rows.iter().map(f).collect::<Result<_, _>>()?, has_more))
}
