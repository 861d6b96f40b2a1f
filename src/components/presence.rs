use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::account::Account;
use crate::chat::{Availability, PresenceView};

/// Our own presence: availability and a status text.
#[component]
pub fn PresenceControl(account: Account) -> impl IntoView {
    let current = account.presence.get_untracked();
    let availability = RwSignal::new(current.availability.class().to_owned());
    let status = RwSignal::new(current.status.unwrap_or_default());
    let apply = move |ev: SubmitEvent| {
        ev.prevent_default();
        let availability = Availability::from_class(&availability.get_untracked())
            .unwrap_or(Availability::Available);
        let status = status.get_untracked();
        account.set_presence(PresenceView {
            availability,
            status: (!status.trim().is_empty()).then_some(status),
        });
    };
    let options = Availability::CHOICES
        .into_iter()
        .map(|a| view! { <option value=a.class()>{a.label()}</option> })
        .collect_view();
    view! {
        <form class="presence" on:submit=apply aria-label="Your presence">
            <select bind:value=availability aria-label="Availability" data-testid="presence-show">{options}</select>
            <input type="text" bind:value=status maxlength="200" placeholder="Status text"
                aria-label="Status text" data-testid="presence-status" />
            <button type="submit" data-testid="presence-set">"Set"</button>
            <span class=move || format!("presence-dot {}", account.presence.get().availability.class())
                data-testid="presence-current">{move || account.presence.get().describe()}</span>
        </form>
    }
}
