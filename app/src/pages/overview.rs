//! The landing page of a signed-in user: the active tenant at a glance.

use leptos::prelude::*;

use crate::components::{ErrorNote, MeResource};

#[component]
pub fn OverviewPage() -> impl IntoView {
    let MeResource(me) = expect_context::<MeResource>();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) => {
                        let role = MeResource::role_in_active(&me);
                        let active = me.active_tenant.clone();
                        let tenant = me.tenants.iter().find(|t| Some(&t.id) == active.as_ref()).cloned();
                        view! {
                            <h1>{tenant.as_ref().map(|t| t.name.clone()).unwrap_or_else(|| "No tenant yet".into())}</h1>
                            <div class="cards">
                                <section class="card stat">
                                    <h2>"Your role"</h2>
                                    <p class="value" data-testid="role">{role.map(|r| r.as_str()).unwrap_or("—")}</p>
                                </section>
                                <section class="card stat">
                                    <h2>"Tenant id"</h2>
                                    <p class="value mono" data-testid="tenant-id">{active.map(|t| t.to_string()).unwrap_or_default()}</p>
                                </section>
                                <section class="card stat">
                                    <h2>"Your tenants"</h2>
                                    <p class="value">{me.tenants.len()}</p>
                                </section>
                            </div>
                            <section class="card">
                                <h2>"Getting started"</h2>
                                <ol>
                                    <li><a href="/api-keys">"Create an API key"</a>" to call the paybus API."</li>
                                    <li><a href="/members">"Invite your team"</a>" with the role each needs."</li>
                                    <li>"Payments, disputes and events appear here as Stripe sends them."</li>
                                </ol>
                            </section>
                        }
                        .into_any()
                    }
                    Ok(None) => ().into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
