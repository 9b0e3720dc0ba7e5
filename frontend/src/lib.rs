//! The browser entry point: hydrate the server-rendered dashboard.
// Leptos's statically typed views nest deeply; a release build (no `erase_components`) needs
// more than the default 128 levels to lay them out.
#![recursion_limit = "512"]

// A page's view is one nested type; the larger pages go deeper than rustc's default of 128.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
