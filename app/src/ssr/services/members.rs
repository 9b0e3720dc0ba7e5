//! A tenant's members and invitations.

use crate::{
    domain::{dto::*, Action, EmailAddress, InvitationId, PrefixedId, Role, UserId},
    error::{AppError, AppResult},
    ssr::{
        auth::{tokens, Principal, TenantAccess},
        db::{invitations, memberships, tenants, users, PageParams},
        ids::new_id,
        bus::EventContext,
        mail::OutgoingMail,
        time_util::now_ms,
        AppState,
    },
};

use super::convert;
use crate::domain::events::{payloads::*, DomainEvent};

const INVITATION_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

pub async fn list(state: &AppState, access: &TenantAccess, page: &PageParams) -> AppResult<List<MemberOut>> {
    access.require(Action::MembersRead)?;
    convert::list(memberships::listing(access.tenant_id.as_str()).fetch(&state.db, page).await?, convert::member)
}

fn parse_user_id(raw: &str) -> AppResult<UserId> {
    // A malformed id cannot name a member of this tenant: same answer as a foreign one.
    UserId::parse(raw).map_err(|_| AppError::not_found("member"))
}

/// Refuses to leave a tenant without an owner.
async fn ensure_not_last_owner(state: &AppState, access: &TenantAccess, current_role: Role) -> AppResult<()> {
    if current_role == Role::Owner && memberships::count_owners(&state.db.pool, access.tenant_id.as_str()).await? <= 1 {
        return Err(AppError::unprocessable("last_owner", "A tenant must keep at least one owner.", Some("role")));
    }
    Ok(())
}

pub async fn change_role(state: &AppState, access: &TenantAccess, user_id: &str, role: Role) -> AppResult<MemberOut> {
    access.require(Action::MembersChangeRole)?;
    let user_id = parse_user_id(user_id)?;
    let current = memberships::find(&state.db.pool, access.tenant_id.as_str(), user_id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found("member"))?;
    if role != Role::Owner {
        ensure_not_last_owner(state, access, convert::role(&current.role)?).await?;
    }
    let user = users::find(&state.db.pool, user_id.as_str()).await?.ok_or_else(|| AppError::not_found("member"))?;
    let mut tx = state.db.begin().await?;
    memberships::set_role(&mut *tx, access.tenant_id.as_str(), user_id.as_str(), role.as_str()).await?;
    if current.role != role.as_str() {
        let payload = MemberChanged { user_id: user.id.clone(), email: user.email.clone(), role: role.to_string(), previous_role: Some(current.role.clone()) };
        state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::OrgMemberRoleChanged(payload)).await?;
    }
    state.bus.commit(tx).await?;
    Ok(MemberOut {
        user_id,
        email: EmailAddress::parse(&user.email).map_err(|_| AppError::Internal)?,
        role,
        joined_at: crate::ssr::time_util::from_ms(current.created_at),
    })
}

pub async fn remove(state: &AppState, access: &TenantAccess, user_id: &str) -> AppResult<()> {
    access.require(Action::MembersRemove)?;
    let user_id = parse_user_id(user_id)?;
    let current = memberships::find(&state.db.pool, access.tenant_id.as_str(), user_id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found("member"))?;
    ensure_not_last_owner(state, access, convert::role(&current.role)?).await?;
    let email = users::find(&state.db.pool, user_id.as_str()).await?.map(|u| u.email).unwrap_or_default();
    let mut tx = state.db.begin().await?;
    memberships::delete(&mut *tx, access.tenant_id.as_str(), user_id.as_str()).await?;
    let payload = MemberChanged { user_id: user_id.to_string(), email, role: current.role.clone(), previous_role: None };
    state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::OrgMemberRemoved(payload)).await?;
    state.bus.commit(tx).await?;
    Ok(())
}

pub async fn invite(state: &AppState, access: &TenantAccess, email: EmailAddress, role: Role) -> AppResult<InvitationOut> {
    access.require(Action::MembersInvite)?;
    if !access.role.at_least(role) {
        return Err(AppError::forbidden("role_too_high", format!("A {} cannot invite an {}.", access.role, role)));
    }
    if let Some(user) = users::find_by_email(&state.db.pool, email.as_str()).await? {
        if memberships::find(&state.db.pool, access.tenant_id.as_str(), &user.id).await?.is_some() {
            return Err(AppError::conflict("already_member", "This person is already a member.", Some("email")));
        }
    }
    let tenant = tenants::find(&state.db.pool, access.tenant_id.as_str()).await?.ok_or_else(|| AppError::not_found("tenant"))?;
    let (id, token, now) = (new_id::<InvitationId>(), tokens::new_secret("inv_"), now_ms());
    let mut tx = state.db.begin().await?;
    invitations::insert(
        &mut *tx,
        invitations::NewInvitation {
            id: id.as_str(),
            tenant_id: access.tenant_id.as_str(),
            email: email.as_str(),
            role: role.as_str(),
            token_hash: &tokens::sha256_hex(&token),
            invited_by: access.principal.user_id().map(|u| u.as_str()),
            now,
            expires_at: now + INVITATION_TTL_MS,
        },
    )
    .await?;
    let payload = InvitationChanged { invitation_id: id.to_string(), email: email.to_string(), role: role.to_string() };
    state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::OrgMemberInvited(payload)).await?;
    state.bus.commit(tx).await?;
    let link = format!("{}/invitations/accept?token={token}", state.config.public_url);
    let _ = state
        .mailer
        .send(OutgoingMail {
            to: email.to_string(),
            subject: format!("You are invited to {} on paybus", tenant.name),
            text: format!(
                "You have been invited to join {} on paybus as {role}.\n\nAccept the invitation (sign up first with this address if you have no account):\n{link}\n\nThe link expires in 7 days.\n",
                tenant.name
            ),
        })
        .await;
    let row = invitations::find(&state.db.pool, access.tenant_id.as_str(), id.as_str()).await?.ok_or(AppError::Internal)?;
    convert::invitation(&row)
}

pub async fn list_invitations(state: &AppState, access: &TenantAccess, page: &PageParams) -> AppResult<List<InvitationOut>> {
    access.require(Action::InvitationsRead)?;
    convert::list(invitations::listing(access.tenant_id.as_str()).fetch(&state.db, page).await?, convert::invitation)
}

pub async fn revoke_invitation(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<InvitationOut> {
    access.require(Action::InvitationsRevoke)?;
    let id = InvitationId::parse(id).map_err(|_| AppError::not_found("invitation"))?;
    let mut tx = state.db.begin().await?;
    let revoked = invitations::revoke(&mut *tx, access.tenant_id.as_str(), id.as_str(), now_ms()).await?;
    let row = invitations::find(&mut *tx, access.tenant_id.as_str(), id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found("invitation"))?;
    if revoked {
        let payload = InvitationChanged { invitation_id: row.id.clone(), email: row.email.clone(), role: row.role.clone() };
        state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::OrgInvitationRevoked(payload)).await?;
    }
    state.bus.commit(tx).await?;
    convert::invitation(&row)
}

/// Joins the invitation's tenant. The invitation is for one address: only the account with that
/// (verified) email can accept it.
pub async fn accept_invitation(state: &AppState, principal: &Principal, token: &str) -> AppResult<TenantOut> {
    let user_id = principal.require_user()?;
    let invalid = || AppError::invalid("invitation_invalid", "This invitation is invalid, expired or already used.", Some("token"));
    let now = now_ms();
    let invitation = invitations::find_by_token(&state.db.pool, &tokens::sha256_hex(token.trim()))
        .await?
        .filter(|i| i.accepted_at.is_none() && i.revoked_at.is_none() && i.expires_at > now)
        .ok_or_else(invalid)?;
    let user = users::find(&state.db.pool, user_id.as_str()).await?.ok_or(AppError::Internal)?;
    if user.email != invitation.email {
        return Err(AppError::forbidden("invitation_email_mismatch", "This invitation was sent to another email address."));
    }
    let mut tx = state.db.begin().await?;
    if !invitations::mark_accepted(&mut *tx, &invitation.id, now).await? {
        return Err(invalid());
    }
    if memberships::find(&mut *tx, &invitation.tenant_id, user_id.as_str()).await?.is_none() {
        memberships::insert(&mut *tx, &invitation.tenant_id, user_id.as_str(), &invitation.role, now).await?;
        let tenant = crate::domain::TenantId::parse(&invitation.tenant_id).map_err(|_| AppError::Internal)?;
        let payload = MemberChanged { user_id: user.id.clone(), email: user.email.clone(), role: invitation.role.clone(), previous_role: None };
        state.bus.publish(&mut tx, &EventContext::for_principal(principal, Some(tenant)), DomainEvent::OrgMemberJoined(payload)).await?;
    }
    state.bus.commit(tx).await?;
    super::tenants::switchable(state, principal, &invitation.tenant_id).await
}
