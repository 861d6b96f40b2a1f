//! Light or dark: the system's choice at first, the reader's once they pick (remembered in
//! `localStorage`). The stylesheet reads `data-theme` on the root element.

use leptos::prelude::*;

use crate::remembered;

const STORAGE_KEY: &str = "vigie-theme";

fn system_prefers_dark() -> bool {
    window()
        .match_media("(prefers-color-scheme: dark)")
        .ok()
        .flatten()
        .is_some_and(|query| query.matches())
}

#[component]
pub fn ThemeToggle() -> impl IntoView {
    let saved = remembered::recall(STORAGE_KEY);
    let dark = RwSignal::new(match saved.as_deref() {
        Some("dark") => true,
        Some("light") => false,
        _ => system_prefers_dark(),
    });
    Effect::new(move |_| {
        let theme = if dark.get() { "dark" } else { "light" };
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-theme", theme);
        }
    });
    let toggle = move |_| {
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
