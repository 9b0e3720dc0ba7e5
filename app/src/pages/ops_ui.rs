//! Small pieces the developer and operations pages share: a scrollable, keyboard-reachable table
//! wrapper for narrow screens, and the role check that decides which controls a page shows.

use leptos::prelude::*;

use crate::{components::MeResource, domain::Action};

/// A wide table inside a region that scrolls sideways on a narrow screen. The region takes
/// keyboard focus so it can be scrolled without a mouse, and is named for screen readers.
#[component]
pub fn TableWrap(#[prop(into)] label: String, children: Children) -> impl IntoView {
    view! {
        <div class="table-wrap" role="region" aria-label=label tabindex="0">
            {children()}
        </div>
    }
}

/// Whether the signed-in user may do `action` in the active tenant: pages hide what the server
/// would refuse anyway (the server checks again).
pub async fn may(MeResource(me): MeResource, action: Action) -> bool {
    matches!(me.await, Ok(Some(ref me)) if MeResource::role_in_active(me).is_some_and(|r| r.can(action)))
}

/// `1 event`, `3 events`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_read_naturally() {
        assert_eq!(super::plural(0, "event", "events"), "0 events");
        assert_eq!(super::plural(1, "event", "events"), "1 event");
        assert_eq!(super::plural(12, "delivery", "deliveries"), "12 deliveries");
    }
}
