//! Signup, email verification, login, token refresh and logout.

use crate::domain::events::{payloads::*, DomainEvent};
use std::net::IpAddr;

use crate::{
    domain::{dto::*, EmailAddress, Name, Password, PrefixedId, RefreshTokenId, Role, TenantId, TokenFamilyId, UserId, VerificationId},
    error::{AppError, AppResult},
    ssr::{
        auth::{password, tokens},
        db::{self, is_unique_violation, memberships, refresh_tokens, tenants, users, verifications},
        bus::EventContext,
        ids::new_id,
        mail::OutgoingMail,
        time_util::{from_ms, now_ms},
        AppState,
    },
};

/// How long a verification link or code stays valid.
const VERIFICATION_TTL_MS: i64 = 24 * 3600 * 1000;
/// Wrong codes allowed per challenge before it must be re-sent (a million codes, five guesses).
const MAX_CODE_ATTEMPTS: i64 = 5;

pub struct SignupInput {
    pub email: EmailAddress,
    pub password: Password,
    pub tenant_name: Option<Name>,
}

/// Creates the user, a tenant they own, and a verification challenge, in one transaction; then
/// sends the verification mail (a mail failure is logged; `resend_verification` recovers).
#[tracing::instrument(name = "identity.signup", skip_all, fields(email = %input.email))]
pub async fn signup(state: &AppState, input: SignupInput) -> AppResult<SignupOut> {
    let hash = password::hash(state.config.argon2, input.password.expose().to_owned()).await?;
    let tenant_name = match input.tenant_name {
        Some(name) => name.as_str().to_owned(),
        None => format!("{}'s workspace", input.email.as_str().split('@').next().unwrap_or("my")),
    };
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    let (user_id, tenant_id) = create_account(&mut tx, &input.email, &hash, &tenant_name, None, now).await?;
    let challenge = new_challenge(state, &mut tx, &user_id, now).await?;
    let ctx = EventContext::for_user(&user_id, Some(tenant_id.clone()));
    let signed_up = UserChanged { user_id: user_id.to_string(), email: input.email.to_string() };
    state.bus.publish(&mut tx, &ctx, DomainEvent::AuthUserSignedUp(signed_up)).await?;
    let created = TenantChanged { tenant_id: tenant_id.to_string(), name: tenant_name.clone() };
    state.bus.publish(&mut tx, &ctx, DomainEvent::OrgTenantCreated(created)).await?;
    state.bus.commit(tx).await?;

    send_verification(state, &input.email, &challenge).await;
    let user = users::find(&state.db.pool, user_id.as_str()).await?.ok_or(AppError::Internal)?;
    Ok(SignupOut {
        user: super::convert::user(&user)?,
        tenant: TenantOut { id: tenant_id, name: tenant_name, role: Role::Owner, created_at: from_ms(now), is_demo: false },
        verification_sent: true,
    })
}

struct Challenge {
    token: String,
    code: String,
}

async fn new_challenge(state: &AppState, tx: &mut db::Tx, user_id: &UserId, now: i64) -> AppResult<Challenge> {
    let challenge = Challenge { token: tokens::new_secret("ev_"), code: tokens::six_digit_code() };
    verifications::insert(
        &mut **tx,
        new_id::<VerificationId>().as_str(),
        user_id.as_str(),
        &tokens::sha256_hex(&challenge.token),
        &tokens::keyed_hash(&state.code_key, &challenge.code),
        now,
        now + VERIFICATION_TTL_MS,
    )
    .await?;
    Ok(challenge)
}

async fn send_verification(state: &AppState, email: &EmailAddress, challenge: &Challenge) {
    let link = format!("{}/verify-email?token={}", state.config.public_url, challenge.token);
    let text = format!(
        "Welcome to paybus.\n\nConfirm your email address by opening this link:\n{link}\n\n\
         Or enter this code on the verification page: {}\n\nBoth expire in 24 hours.\n",
        challenge.code
    );
    let _ = state
        .mailer
        .send(OutgoingMail { to: email.to_string(), subject: format!("Your paybus verification code: {}", challenge.code), text })
        .await;
}

fn verification_invalid() -> AppError {
    AppError::invalid("verification_invalid", "This verification link or code is invalid or has expired.", None)
}

/// Verifies by the link's token.
pub async fn verify_email_token(state: &AppState, token: &str) -> AppResult<UserOut> {
    let row = verifications::find_by_token(&state.db.pool, &tokens::sha256_hex(token.trim()))
        .await?
        .filter(|v| v.used_at.is_none() && v.expires_at > now_ms())
        .ok_or_else(verification_invalid)?;
    complete_verification(state, &row.user_id).await
}

/// Verifies by the six-digit code. An unknown email and a wrong code look alike to the caller.
pub async fn verify_email_code(state: &AppState, email: &str, code: &str) -> AppResult<UserOut> {
    let email = EmailAddress::parse(email)?;
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::invalid("code_invalid", "The code is the six digits from the email.", Some("code")));
    }
    let user = users::find_by_email(&state.db.pool, email.as_str()).await?.ok_or_else(verification_invalid)?;
    if user.email_verified_at.is_some() {
        return super::convert::user(&user);
    }
    let challenge = verifications::latest_open_for_user(&state.db.pool, &user.id)
        .await?
        .filter(|v| v.expires_at > now_ms() && v.attempts < MAX_CODE_ATTEMPTS)
        .ok_or_else(verification_invalid)?;
    if !tokens::constant_time_eq(&tokens::keyed_hash(&state.code_key, code), &challenge.code_hash) {
        verifications::count_attempt(&state.db.pool, &challenge.id).await?;
        return Err(AppError::invalid("code_incorrect", "That code is not correct.", Some("code")));
    }
    complete_verification(state, &user.id).await
}

async fn complete_verification(state: &AppState, user_id: &str) -> AppResult<UserOut> {
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    users::mark_verified(&mut *tx, user_id, now).await?;
    verifications::mark_all_used(&mut *tx, user_id, now).await?;
    let user = users::find(&mut *tx, user_id).await?.ok_or(AppError::Internal)?;
    let tenant = user.default_tenant_id.as_deref().and_then(|t| TenantId::parse(t).ok());
    let ctx = EventContext::for_user(&UserId::from_trusted(user.id.clone()), tenant);
    let payload = UserChanged { user_id: user.id.clone(), email: user.email.clone() };
    state.bus.publish(&mut tx, &ctx, DomainEvent::AuthEmailVerified(payload)).await?;
    state.bus.commit(tx).await?;
    super::convert::user(&user)
}

/// Sends a fresh link and code if the address belongs to an unverified account; says nothing
/// either way, so it cannot be used to probe for accounts.
pub async fn resend_verification(state: &AppState, email: &str) -> AppResult<()> {
    let email = EmailAddress::parse(email)?;
    if state.limits.login_per_account.hit(&format!("resend:{email}")).is_err() {
        return Ok(());
    }
    let Some(user) = users::find_by_email(&state.db.pool, email.as_str()).await? else { return Ok(()) };
    if user.email_verified_at.is_some() {
        return Ok(());
    }
    let mut tx = state.db.begin().await?;
    let challenge = new_challenge(state, &mut tx, &UserId::from_trusted(user.id), now_ms()).await?;
    tx.commit().await?;
    send_verification(state, &email, &challenge).await;
    Ok(())
}

fn rate_limited(retry: std::time::Duration) -> AppError {
    AppError::RateLimited { retry_after_secs: retry.as_secs().max(1) }
}

/// Checks an email and password. Wrong password and unknown email give the same error in the
/// same time; an unverified account is only revealed to someone who knows its password.
#[tracing::instrument(name = "identity.check_password", skip_all)]
pub async fn check_password(state: &AppState, email: &str, password: &str, ip: Option<IpAddr>) -> AppResult<UserId> {
    if let Some(ip) = ip {
        state.limits.login_per_ip.hit(&format!("ip:{ip}")).map_err(rate_limited)?;
    }
    let email = EmailAddress::parse(email)?;
    let account_key = format!("acct:{email}");
    state.limits.login_per_account.peek(&account_key).map_err(rate_limited)?;

    let user = users::find_by_email(&state.db.pool, email.as_str()).await?;
    let phc = user.as_ref().map(|u| u.password_hash.clone());
    let ok = password::verify(state.config.argon2, phc, password.to_owned()).await?;
    let Some(user) = user.filter(|_| ok) else {
        let _ = state.limits.login_per_account.hit(&account_key);
        return Err(AppError::unauthenticated("invalid_credentials", "Incorrect email or password."));
    };
    state.limits.login_per_account.reset(&account_key);
    if user.email_verified_at.is_none() {
        return Err(AppError::forbidden(
            "email_not_verified",
            "Verify your email address first: use the link or the code we sent you.",
        ));
    }
    Ok(UserId::from_trusted(user.id))
}

/// A new access token and a refresh token of a new family (one login) or of `family` (rotation).
pub async fn issue_tokens(state: &AppState, tx: &mut db::Tx, user_id: &UserId, family: Option<String>) -> AppResult<TokenPair> {
    let now = now_ms();
    let refresh = tokens::new_secret("rt_");
    let family = family.unwrap_or_else(|| new_id::<TokenFamilyId>().to_string());
    refresh_tokens::insert(
        &mut **tx,
        new_id::<RefreshTokenId>().as_str(),
        &family,
        user_id.as_str(),
        &tokens::sha256_hex(&refresh),
        now,
        now + state.config.refresh_token_ttl.as_millis() as i64,
    )
    .await?;
    Ok(TokenPair {
        token_type: "Bearer".into(),
        access_token: state.jwt.issue(user_id, state.config.access_token_ttl)?,
        expires_in: state.config.access_token_ttl.as_secs() as i64,
        refresh_token: refresh,
    })
}

pub async fn login(state: &AppState, email: &str, password: &str, ip: Option<IpAddr>) -> AppResult<TokenPair> {
    let user_id = check_password(state, email, password, ip).await?;
    let mut tx = state.db.begin().await?;
    let pair = issue_tokens(state, &mut tx, &user_id, None).await?;
    tx.commit().await?;
    Ok(pair)
}

/// Rotates a refresh token. Presenting a token that was already rotated means it was copied:
/// the whole family is revoked, logging out both the thief and the victim.
#[tracing::instrument(name = "identity.refresh", skip_all)]
pub async fn refresh(state: &AppState, refresh_token: &str) -> AppResult<TokenPair> {
    let invalid = || AppError::unauthenticated("refresh_token_invalid", "The refresh token is invalid or has expired.");
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    let row = refresh_tokens::find_by_hash(&mut *tx, &tokens::sha256_hex(refresh_token.trim())).await?.ok_or_else(invalid)?;
    if row.revoked_at.is_some() || row.expires_at <= now {
        return Err(invalid());
    }
    if row.used_at.is_some() || !refresh_tokens::mark_used(&mut *tx, &row.id, now).await? {
        refresh_tokens::revoke_family(&mut *tx, &row.family_id, now).await?;
        tx.commit().await?;
        tracing::warn!(family = %row.family_id, "refresh token reused; family revoked");
        return Err(AppError::unauthenticated(
            "refresh_token_reused",
            "This refresh token was already used; all sessions of this login have been revoked.",
        ));
    }
    let pair = issue_tokens(state, &mut tx, &UserId::from_trusted(row.user_id), Some(row.family_id)).await?;
    tx.commit().await?;
    Ok(pair)
}

/// Revokes the refresh token's family. Unknown tokens are ignored: logout always succeeds.
pub async fn logout(state: &AppState, refresh_token: Option<&str>) -> AppResult<()> {
    if let Some(token) = refresh_token {
        if let Some(row) = refresh_tokens::find_by_hash(&state.db.pool, &tokens::sha256_hex(token.trim())).await? {
            refresh_tokens::revoke_family(&state.db.pool, &row.family_id, now_ms()).await?;
        }
    }
    Ok(())
}

/// Inserts a user, a tenant and the user's owner membership in `tx`; an email already taken is a
/// 409 on `email` (decided by the unique key, so two racing signups cannot both win).
async fn create_account(
    tx: &mut db::Tx,
    email: &EmailAddress,
    password_hash: &str,
    tenant_name: &str,
    verified_at: Option<i64>,
    now: i64,
) -> AppResult<(UserId, TenantId)> {
    let (user_id, tenant_id) = (new_id::<UserId>(), new_id::<TenantId>());
    tenants::insert(&mut **tx, tenant_id.as_str(), tenant_name, now).await?;
    let user = users::NewUser {
        id: user_id.as_str(),
        email: email.as_str(),
        password_hash,
        email_verified_at: verified_at,
        default_tenant_id: Some(tenant_id.as_str()),
        now,
    };
    match users::insert(&mut **tx, user).await {
        Err(e) if is_unique_violation(&e) => {
            return Err(AppError::conflict("email_taken", "An account with this email already exists.", Some("email")))
        }
        other => other?,
    }
    memberships::insert(&mut **tx, tenant_id.as_str(), user_id.as_str(), Role::Owner.as_str(), now).await?;
    Ok((user_id, tenant_id))
}

/// Creates a verified user with a tenant of their own (the `paybus user create` command).
pub async fn create_verified_user(state: &AppState, email: EmailAddress, password: Password, tenant_name: Name) -> AppResult<(UserId, TenantId)> {
    let hash = password::hash(state.config.argon2, password.expose().to_owned()).await?;
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    let ids = create_account(&mut tx, &email, &hash, tenant_name.as_str(), Some(now), now).await?;
    tx.commit().await?;
    Ok(ids)
}
