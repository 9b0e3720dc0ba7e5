//! Members and invitations of the active tenant. Removing a member and cancelling an invitation
//! ask for a confirmation that says what the person loses.

use leptos::prelude::*;

use super::ops_ui::{may, TableWrap};
use crate::{
    components::{Confirm, EmptyState, ErrorNote, Loading, MeResource, Toast},
    domain::{
        dto::{InvitationOut, MemberOut},
        Action, Role,
    },
    server_fns::members::{list_invitations, list_members, ChangeMemberRole, InviteMember, RemoveMember, RevokeInvitation},
};

fn role_options(selected: Role) -> impl IntoView {
    Role::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r == selected>{r.as_str()}</option> }).collect_view()
}

#[component]
pub fn MembersPage() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let invite = ServerAction::<InviteMember>::new();
    let change = ServerAction::<ChangeMemberRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let members = Resource::new(move || (change.version().get(), remove.version().get()), |_| list_members());
    let invitations = Resource::new(move || (invite.version().get(), revoke.version().get()), |_| list_invitations());

    view! {
        <h1>"Members"</h1>
        <p class="hint">"Roles, from most to least: owner, admin, developer, analyst, viewer. Owners manage members; owners and admins invite."</p>
        <div class="toast-stack">
            <Toast value=change.value() message=|m: &MemberOut| format!("{} is now {}.", m.email, m.role.as_str())/>
            <Toast value=remove.value() message=|_: &()| "Member removed from this tenant.".to_owned()/>
            <Toast value=invite.value() message=|i: &InvitationOut| format!("Invitation sent to {} as {}.", i.email, i.role.as_str())/>
            <Toast value=revoke.value() message=|i: &InvitationOut| format!("Invitation to {} cancelled: its link no longer works.", i.email)/>
        </div>
        <Suspense fallback=|| view! { <Loading label="Loading members…"/> }>
            {move || Suspend::new(async move {
                let manage = may(me, Action::MembersChangeRole).await;
                let can_remove = may(me, Action::MembersRemove).await;
                match members.await {
                    Ok(list) => view! { <MembersTable list manage can_remove change remove/> }.into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>

        <h2>"Invitations"</h2>
        <Suspense fallback=|| view! { <Loading label="Loading invitations…"/> }>
            {move || Suspend::new(async move {
                if !may(me, Action::MembersInvite).await {
                    return view! { <p class="hint">"Owners and admins invite new members."</p> }.into_any();
                }
                let invite_form = view! {
                    <ActionForm action=invite attr:class="card form row" attr:id="invite-form">
                        <div>
                            <label for="invite-email">"Email"</label>
                            <input id="invite-email" type="email" name="email" required autocomplete="off" placeholder="colleague@example.com"/>
                        </div>
                        <div>
                            <label for="invite-role">"Role"</label>
                            <select id="invite-role" name="role">{role_options(Role::Viewer)}</select>
                        </div>
                        <button type="submit">"Send invitation"</button>
                    </ActionForm>
                };
                let tables = match invitations.await {
                    Ok(list) => {
                        let (pending, past): (Vec<_>, Vec<_>) = list.into_iter().partition(|i| i.status == "pending");
                        view! {
                            {if pending.is_empty() {
                                view! {
                                    <EmptyState title="No pending invitations." hint="Invite a colleague above: they get an email with a link, valid for a limited time."/>
                                }.into_any()
                            } else {
                                view! { <PendingInvitations list=pending revoke/> }.into_any()
                            }}
                            {(!past.is_empty()).then(|| view! { <PastInvitations list=past/> })}
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                };
                view! { {invite_form} {tables} }.into_any()
            })}
        </Suspense>
    }
}

#[component]
fn MembersTable(list: Vec<MemberOut>, manage: bool, can_remove: bool, change: ServerAction<ChangeMemberRole>, remove: ServerAction<RemoveMember>) -> impl IntoView {
    view! {
        <TableWrap label="Members">
            <table class="table" id="members-table">
                <thead><tr><th>"Email"</th><th>"Role"</th><th>"Joined"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                <tbody>
                    {list.into_iter().map(|m| {
                        let user_id = m.user_id.to_string();
                        let email = m.email.to_string();
                        let select_id = format!("role-{user_id}");
                        let (change_id, role_label) = (user_id.clone(), format!("Role of {email}"));
                        let role_cell = if manage {
                            view! {
                                <ActionForm action=change attr:class="inline">
                                    <input type="hidden" name="user_id" value=change_id/>
                                    <label for=select_id.clone() class="visually-hidden">{role_label}</label>
                                    <select id=select_id name="role">{role_options(m.role)}</select>
                                    <button type="submit" class="secondary small">"Save"</button>
                                </ActionForm>
                            }.into_any()
                        } else {
                            view! { <span>{m.role.as_str()}</span> }.into_any()
                        };
                        let remove_form = can_remove.then(|| {
                            let consequence = format!(
                                "Remove {email} from this tenant? They lose access to its payments, settings and keys at once. API keys they created keep working until revoked."
                            );
                            view! {
                                <Confirm summary="Remove…" danger=true testid="remove-member">
                                    <p>{consequence}</p>
                                    <ActionForm action=remove attr:class="inline">
                                        <input type="hidden" name="user_id" value=user_id.clone()/>
                                        <button type="submit" class="danger small">"Remove member"</button>
                                    </ActionForm>
                                </Confirm>
                            }
                        });
                        view! {
                            <tr>
                                <td class="wrap-anywhere">{email.clone()}</td>
                                <td>{role_cell}</td>
                                <td>{super::short_time(&m.joined_at)}</td>
                                <td>{remove_form}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </TableWrap>
    }
}

#[component]
fn PendingInvitations(list: Vec<InvitationOut>, revoke: ServerAction<RevokeInvitation>) -> impl IntoView {
    view! {
        <TableWrap label="Pending invitations">
            <table class="table" id="invitations-table">
                <thead><tr><th>"Email"</th><th>"Role"</th><th>"Status"</th><th>"Expires"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                <tbody>
                    {list.into_iter().map(|i| {
                        let id = i.id.to_string();
                        let consequence = format!("Cancel the invitation to {}? The link in their email stops working; you can invite them again later.", i.email);
                        view! {
                            <tr>
                                <td class="wrap-anywhere">{i.email.to_string()}</td>
                                <td>{i.role.as_str()}</td>
                                <td><span class="badge badge-pending">{i.status.clone()}</span></td>
                                <td>{super::short_time(&i.expires_at)}</td>
                                <td>
                                    <Confirm summary="Cancel…" danger=true testid="cancel-invitation">
                                        <p>{consequence}</p>
                                        <ActionForm action=revoke attr:class="inline">
                                            <input type="hidden" name="id" value=id.clone()/>
                                            <button type="submit" class="danger small">"Cancel invitation"</button>
                                        </ActionForm>
                                    </Confirm>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </TableWrap>
    }
}

#[component]
fn PastInvitations(list: Vec<InvitationOut>) -> impl IntoView {
    view! {
        <h3>"Past invitations"</h3>
        <TableWrap label="Past invitations">
            <table class="table" id="past-invitations-table">
                <thead><tr><th>"Email"</th><th>"Role"</th><th>"Status"</th><th>"Sent"</th></tr></thead>
                <tbody>
                    {list.into_iter().map(|i| view! {
                        <tr>
                            <td class="wrap-anywhere">{i.email.to_string()}</td>
                            <td>{i.role.as_str()}</td>
                            <td><span class="badge">{i.status.clone()}</span></td>
                            <td>{super::short_time(&i.created_at)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </TableWrap>
    }
}
