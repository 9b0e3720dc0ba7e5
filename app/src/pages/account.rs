//! Pages for visitors: log in, sign up, verify an email, read the development mailbox.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    components::{ActionError, EmptyState, ErrorNote, Loading},
    server_fns::account::{dev_mailbox, Login, ResendVerification, Signup, VerifyEmailCode},
};

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let verified = move || query.read().get("verified").is_some();
    view! {
        <main class="page narrow">
            <h1>"Log in to paybus"</h1>
            <Show when=verified>
                <p class="notice" role="status">"Email verified, you can log in."</p>
            </Show>
            <ActionForm action=login attr:class="card form" attr:id="login-form">
                <label for="login-email">"Email"</label>
                <input id="login-email" type="email" name="email" autocomplete="username" required/>
                <label for="login-password">"Password"</label>
                <input id="login-password" type="password" name="password" autocomplete="current-password" required/>
                <button type="submit">"Log in"</button>
                <ActionError value=login.value()/>
            </ActionForm>
            <p>"No account yet? "<a href="/signup">"Sign up"</a></p>
        </main>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let signup = ServerAction::<Signup>::new();
    view! {
        <main class="page narrow">
            <h1>"Create your paybus account"</h1>
            <ActionForm action=signup attr:class="card form" attr:id="signup-form">
                <label for="signup-email">"Email"</label>
                <input id="signup-email" type="email" name="email" autocomplete="email" required/>
                <label for="signup-password">"Password"</label>
                <input id="signup-password" type="password" name="password" autocomplete="new-password" minlength="10" required aria-describedby="signup-password-hint"/>
                <p class="hint" id="signup-password-hint">"At least 10 characters; a passphrase is best."</p>
                <label for="signup-tenant">"Workspace name (optional)"</label>
                <input id="signup-tenant" type="text" name="tenant_name" maxlength="100" placeholder="Acme Store" autocomplete="organization"/>
                <button type="submit">"Sign up"</button>
                <ActionError value=signup.value()/>
            </ActionForm>
            <p>"Already registered? "<a href="/login">"Log in"</a></p>
        </main>
    }
}

#[component]
pub fn VerifyCodePage() -> impl IntoView {
    let verify = ServerAction::<VerifyEmailCode>::new();
    let resend = ServerAction::<ResendVerification>::new();
    let query = use_query_map();
    let email = move || query.read().get("email").unwrap_or_default();
    let bad_link = move || query.read().get("link").is_some();
    view! {
        <main class="page narrow">
            <h1>"Verify your email"</h1>
            <Show when=bad_link>
                <p class="error" role="alert">"That verification link is invalid or has expired. Enter the code instead, or ask for a new one."</p>
            </Show>
            <p>"We sent a six-digit code and a link to your address. Enter the code here, or open the link."</p>
            <ActionForm action=verify attr:class="card form" attr:id="verify-form">
                <label for="verify-email">"Email"</label>
                <input id="verify-email" type="email" name="email" value=email autocomplete="email" required/>
                <label for="verify-code">"Code"</label>
                <input id="verify-code" type="text" name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required
                    title="The six digits from the email" aria-describedby="verify-code-hint"/>
                <p class="hint" id="verify-code-hint">"Six digits, from the email we sent."</p>
                <button type="submit">"Verify"</button>
                <ActionError value=verify.value()/>
            </ActionForm>
            <ActionForm action=resend attr:class="inline" attr:id="resend-form">
                <input type="hidden" name="email" value=email/>
                <button type="submit" class="link">"Send a new code"</button>
            </ActionForm>
            {move || match resend.value().get() {
                Some(Ok(())) => Some(view! { <p class="notice" role="status">"If the account is waiting for verification, a new code is on its way."</p> }.into_any()),
                Some(Err(error)) => Some(view! { <ErrorNote error/> }.into_any()),
                None => None,
            }}
        </main>
    }
}

#[component]
pub fn DevMailPage() -> impl IntoView {
    let mail = Resource::new(|| (), |_| dev_mailbox());
    view! {
        <main class="page">
            <h1>"Development mailbox"</h1>
            <p class="hint">"The development mail transport sends nothing: every message paybus would have emailed is kept here."</p>
            <p><a href="/login">"← Log in"</a>" · "<a href="/signup">"Sign up"</a></p>
            <Suspense fallback=|| view! { <Loading label="Loading messages…"/> }>
                {move || Suspend::new(async move {
                    match mail.await {
                        Ok(messages) if messages.is_empty() => view! {
                            <EmptyState title="No messages yet." hint="Sign-up codes, invitations and notifications land here in development instead of being emailed."/>
                        }.into_any(),
                        Ok(messages) => messages
                            .into_iter()
                            .map(|m| view! {
                                <article class="card mail" data-to=m.to.clone()>
                                    <h2 class="mail-subject">{m.subject}</h2>
                                    <p class="meta">"To "<strong class="mail-to">{m.to.clone()}</strong>" · "{super::short_time(&m.created_at)}</p>
                                    <pre class="mail-body">{m.body}</pre>
                                </article>
                            })
                            .collect_view()
                            .into_any(),
                        Err(error) => view! { <ErrorNote error/> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}
