//! How every page tells the merchant what is going on: loading, nothing here yet, a result toast,
//! and a confirmation step before anything that moves money or cannot be undone.
//!
//! The confirmation is a native `<details>` disclosure: the first click (or Enter) opens it, the
//! second submits. It needs no script, so it also guards the form posts a page makes before the
//! wasm bundle has hydrated, and it is keyboard- and screen-reader-usable as it is.

use leptos::prelude::*;

use crate::error::AppError;

/// A polite, announced placeholder while a resource loads.
#[component]
pub fn Loading(#[prop(into, default = "Loading…".into())] label: String) -> impl IntoView {
    view! { <p class="loading" role="status" aria-live="polite">{label}</p> }
}

/// What an empty list says: what would be here, and how to get some.
#[component]
pub fn EmptyState(
    #[prop(into)] title: String,
    #[prop(into, optional)] hint: Option<String>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="empty-state" data-testid="empty-state">
            <p class="empty-title">{title}</p>
            {hint.map(|hint| view! { <p class="hint">{hint}</p> })}
            {children.map(|c| c())}
        </div>
    }
}

/// A confirmation step around a destructive or money-moving submit button: `summary` is the
/// button that opens it, `children` the consequence in words plus the real submit button.
#[component]
pub fn Confirm(
    #[prop(into)] summary: String,
    /// Styles the opener as dangerous (refund, revoke, delete) rather than primary.
    #[prop(optional)]
    danger: bool,
    #[prop(into, optional)] testid: Option<String>,
    children: Children,
) -> impl IntoView {
    let class = if danger { "confirm danger" } else { "confirm" };
    view! {
        <details class=class data-testid=testid>
            <summary>{summary}</summary>
            <div class="confirm-body" role="group" aria-label="Confirm">{children()}</div>
        </details>
    }
}

/// The outcome of an action as a toast: `message` words a success, an error shows the server's
/// message. Announced to screen readers; dismissible; a new result shows again.
#[component]
pub fn Toast<T, S, F>(value: S, message: F) -> impl IntoView
where
    T: Send + Sync + Clone + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + Copy + 'static,
    F: Fn(&T) -> String + Send + Sync + 'static,
{
    let dismissed = RwSignal::new(false);
    // A new result (even an equal one) shows again.
    Effect::new(move |_| {
        let _ = value.get();
        dismissed.set(false);
    });
    move || {
        if dismissed.get() {
            return None;
        }
        let (class, role, text) = match value.get()? {
            Ok(out) => ("toast", "status", message(&out)),
            Err(error) => ("toast error", "alert", error.to_string()),
        };
        Some(view! {
            <div class=class role=role aria-live="polite" data-testid="toast">
                <span>{text}</span>
                <button type="button" class="link" aria-label="Dismiss" on:click=move |_| dismissed.set(true)>"×"</button>
            </div>
        })
    }
}
