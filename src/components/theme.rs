//! Light or dark: the system's choice, followed as it changes, until the reader picks (then
//! theirs, remembered in `localStorage`). The stylesheet reads `data-theme` on the root element.

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use crate::remembered;

const STORAGE_KEY: &str = "vigie-theme";

fn dark_scheme() -> Option<web_sys::MediaQueryList> {
    window()
        .match_media("(prefers-color-scheme: dark)")
        .ok()
        .flatten()
}

fn system_prefers_dark() -> bool {
    dark_scheme().is_some_and(|query| query.matches())
}

#[component]
pub fn ThemeToggle() -> impl IntoView {
    let saved = remembered::recall(STORAGE_KEY);
    let dark = RwSignal::new(match saved.as_deref() {
        Some("dark") => true,
        Some("light") => false,
        _ => system_prefers_dark(),
    });
    // Picked in this page, even where storage is refused (`remember` then keeps nothing).
    let picked = StoredValue::new(saved.is_some());
    if let Some(scheme) = dark_scheme() {
        let follow = Closure::<dyn Fn()>::new(move || {
            if !picked.get_value() {
                dark.set(system_prefers_dark());
            }
        });
        scheme.set_onchange(Some(follow.as_ref().unchecked_ref()));
        // The toggle lives as long as the page, and so do the query and its listener.
        follow.forget();
        std::mem::forget(scheme);
    }
    Effect::new(move |_| {
        let theme = if dark.get() { "dark" } else { "light" };
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-theme", theme);
        }
    });
    let toggle = move |_| {
        picked.set_value(true);
        dark.update(|dark| *dark = !*dark);
        let theme = if dark.get_untracked() {
            "dark"
        } else {
            "light"
        };
        remembered::remember(STORAGE_KEY, theme);
    };
    view! {
        <button type="button" class="theme" aria-pressed=move || dark.get().to_string() on:click=toggle data-testid="theme">
            "Dark theme"
        </button>
    }
}
