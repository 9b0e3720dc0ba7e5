//! Members and invitations of the active tenant.

use leptos::prelude::*;

use crate::{
    components::{ActionError, ErrorNote, MeResource},
    domain::{Action, Role},
    server_fns::members::{list_invitations, list_members, ChangeMemberRole, InviteMember, RemoveMember, RevokeInvitation},
};

fn role_options(selected: Role) -> impl IntoView {
    Role::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r == selected>{r.as_str()}</option> }).collect_view()
}

#[component]
pub fn MembersPage() -> impl IntoView {
    let MeResource(me) = expect_context::<MeResource>();
    let invite = ServerAction::<InviteMember>::new();
    let change = ServerAction::<ChangeMemberRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let members = Resource::new(move || (change.version().get(), remove.version().get()), |_| list_members());
    let invitations = Resource::new(move || (invite.version().get(), revoke.version().get()), |_| list_invitations());

    view! {
        <h1>"Members"</h1>
        <ActionError value=change.value()/>
        <ActionError value=remove.value()/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let role = match me.await { Ok(Some(me)) => MeResource::role_in_active(&me), _ => None };
                let manage = role.is_some_and(|r| r.can(Action::MembersChangeRole));
                match members.await {
                    Ok(list) => view! {
                        <table class="table" id="members-table">
                            <thead><tr><th>"Email"</th><th>"Role"</th><th>"Joined"</th><th></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|m| {
                                    let user_id = m.user_id.to_string();
                                    let user_id2 = user_id.clone();
                                    view! {
                                        <tr>
                                            <td>{m.email.to_string()}</td>
                                            <td>
                                                {if manage {
                                                    view! {
                                                        <ActionForm action=change attr:class="inline">
                                                            <input type="hidden" name="user_id" value=user_id.clone()/>
                                                            <select name="role" aria-label="Role">{role_options(m.role)}</select>
                                                            <button type="submit" class="secondary small">"Save"</button>
                                                        </ActionForm>
                                                    }.into_any()
                                                } else {
                                                    view! { <span>{m.role.as_str()}</span> }.into_any()
                                                }}
                                            </td>
                                            <td>{super::short_time(&m.joined_at)}</td>
                                            <td>
                                                {manage.then(|| view! {
                                                    <ActionForm action=remove attr:class="inline">
                                                        <input type="hidden" name="user_id" value=user_id2.clone()/>
                                                        <button type="submit" class="danger small">"Remove"</button>
                                                    </ActionForm>
                                                })}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>

        <h2>"Invitations"</h2>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let role = match me.await { Ok(Some(me)) => MeResource::role_in_active(&me), _ => None };
                if !role.is_some_and(|r| r.can(Action::MembersInvite)) {
                    return view! { <p class="hint">"Owners and admins invite new members."</p> }.into_any();
                }
                let invite_form = view! {
                    <ActionForm action=invite attr:class="card form row" attr:id="invite-form">
                        <div>
                            <label for="invite-email">"Email"</label>
                            <input id="invite-email" type="email" name="email" required/>
                        </div>
                        <div>
                            <label for="invite-role">"Role"</label>
                            <select id="invite-role" name="role">{role_options(Role::Viewer)}</select>
                        </div>
                        <button type="submit">"Send invitation"</button>
                    </ActionForm>
                };
                let table = match invitations.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty">"No invitations yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="table" id="invitations-table">
                            <thead><tr><th>"Email"</th><th>"Role"</th><th>"Status"</th><th>"Expires"</th><th></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|i| {
                                    let pending = i.status == "pending";
                                    let id = i.id.to_string();
                                    view! {
                                        <tr>
                                            <td>{i.email.to_string()}</td>
                                            <td>{i.role.as_str()}</td>
                                            <td>{i.status.clone()}</td>
                                            <td>{super::short_time(&i.expires_at)}</td>
                                            <td>{pending.then(|| view! {
                                                <ActionForm action=revoke attr:class="inline">
                                                    <input type="hidden" name="id" value=id.clone()/>
                                                    <button type="submit" class="danger small">"Revoke"</button>
                                                </ActionForm>
                                            })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                };
                view! { {invite_form} {table} }.into_any()
            })}
        </Suspense>
        <ActionError value=invite.value()/>
        <ActionError value=revoke.value()/>
    }
}
