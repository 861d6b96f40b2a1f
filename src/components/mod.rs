//! The page's parts, one component per file.

pub mod chat;
pub mod drawer;
pub mod history;
pub mod live;
pub mod login;
pub mod map;
pub mod open_incidents;
pub mod presence;
pub mod roster;
pub mod status;
pub mod theme;

use leptos::prelude::*;

/// A one-line message (loading, empty, error, note): one view type for all the panes, since
/// every distinct view shape adds its own code to the wasm.
pub fn message(class: &'static str, text: String) -> impl IntoView {
    view! { <p class=class>{text}</p> }
}
