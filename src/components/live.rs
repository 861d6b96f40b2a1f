use leptos::prelude::*;

use crate::feed::{Card, Feed};

/// The live feed: one card per event, newest first; history replayed on join is marked apart.
#[component]
pub fn LiveFeed(feed: RwSignal<Feed>) -> impl IntoView {
    let cards = move || feed.with(|feed| feed.cards().cloned().collect::<Vec<_>>());
    view! {
        <section class="pane live" aria-labelledby="live-title">
            <h2 id="live-title">"Live events"</h2>
            <Show when=move || feed.with(Feed::is_empty)>
                <p class="empty">"Waiting for events…"</p>
            </Show>
            <ol class="cards" data-testid="live-feed">
                <For each=cards key=|card| card.event.id.clone() children=event_card />
            </ol>
        </section>
    }
}

fn event_card(card: Card) -> impl IntoView {
    let event = card.event;
    let class = format!("card {} {}", event.kind.as_str(), event.severity.as_str());
    let title = event.body();
    let origin = if card.live { "live" } else { "history" };
    view! {
        <li class=class data-kind=event.kind.as_str() data-event-id=event.id.clone() data-origin=origin title=title>
            <div class="card-head">
                <span class="kind">{kind_label(event.kind)}</span>
                <span class="status">{event.status.as_str()}</span>
                <span class="severity">{event.severity.as_str()}</span>
                <time>{vigie_model::event::format_time(event.occurred_at)}</time>
            </div>
            <div class="card-body">
                <span class="vehicle">{event.vehicles.join(", ")}</span>
                <span class="zone">{event.zone.unwrap_or_default()}</span>
                <span class="detail">{event.detail}</span>
            </div>
        </li>
    }
}

pub fn kind_label(kind: vigie_model::EventKind) -> &'static str {
    match kind {
        vigie_model::EventKind::Accident => "Accident",
        vigie_model::EventKind::Jam => "Traffic jam",
        vigie_model::EventKind::ZoneEnter => "Zone entry",
        vigie_model::EventKind::ZoneExit => "Zone exit",
    }
}
