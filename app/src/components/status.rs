//! How the dashboard shows a failed request: the server's message, never a blank page.

use leptos::prelude::*;

use crate::error::AppError;

/// The message of a failed server call, as an alert.
#[component]
pub fn ErrorNote(error: AppError) -> impl IntoView {
    view! { <p class="error" role="alert">{error.to_string()}</p> }
}

/// The last result of an action, shown when it failed.
#[component]
pub fn ActionError<T, S>(value: S) -> impl IntoView
where
    T: Send + Sync + Clone + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    move || match value.get() {
        Some(Err(error)) => Some(view! { <ErrorNote error/> }),
        _ => None,
    }
}
