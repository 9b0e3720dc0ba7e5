//! The browser entry point: hydrate the server-rendered dashboard.
// Leptos's statically typed views nest deeply; a release build (no `erase_components`) needs
// more than the default 128 levels to lay them out.
#![recursion_limit = "512"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // The dashboard's pages are lazy routes (split into their own wasm chunks); hydration waits
    // for the current page's chunk instead of assuming every page is already in the bundle.
    leptos::mount::hydrate_lazy(app::App);
}
