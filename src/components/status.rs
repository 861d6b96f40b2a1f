use leptos::prelude::*;

use crate::session::Link;

/// Connection state: connecting, online (rooms joined), reconnecting with its delay, or failed.
#[component]
pub fn LinkIndicator(link: RwSignal<Link>) -> impl IntoView {
    let text = move || match link.get() {
        Link::Connecting => "connecting…".to_owned(),
        Link::Online { rooms } => format!("live · WebSocket · {rooms} rooms"),
        Link::Reconnecting { attempt, delay } => {
            format!(
                "reconnecting in {:.0} s (attempt {attempt})",
                delay.as_secs_f64().ceil()
            )
        }
        Link::Failed(error) => format!("offline: {error}"),
    };
    let state = move || match link.get() {
        Link::Online { .. } => "link online",
        Link::Failed(_) => "link failed",
        _ => "link pending",
    };
    view! { <span class=state role="status" aria-live="polite" data-testid="link">{text}</span> }
}
