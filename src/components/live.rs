use std::sync::Arc;

use leptos::either::Either;
use leptos::prelude::*;
use vigie_model::event::format_time;
use vigie_model::{EventKind, Severity};

use crate::api;
use crate::clock::{clock, now};
use crate::components::rooms::RoomList;
use crate::components::{message, rows};
use crate::feed::{card_line, shown_severity, Card, Feed, LiveFilter};
use crate::session::Session;

/// Cards in the page at first, and added by each "show more": the rest of the feed stays in
/// memory only, so hours of events don't grow the DOM.
const WINDOW: usize = 50;

/// A line of the feed: a card, or the marker above the events replayed from the rooms'
/// histories, which sit below the live ones.
#[derive(Clone)]
enum Line {
    Card(Arc<Card>),
    HistoryMarker,
}

/// The live feed: the rooms, then one card per event of the room shown (or of every room),
/// newest first, filtered by chips; events replayed from the rooms' histories on join sit
/// below a marker, apart from live ones.
#[component]
pub fn LiveFeed(session: Session) -> impl IntoView {
    let feed = session.feed;
    let filter = RwSignal::new(LiveFilter::default());
    let room = Memo::new(move |_| session.rooms.with(|rooms| rooms.shown().map(str::to_owned)));
    // How many cards "Show more" asked for, and for which room and chips: another room or
    // other chips start again from the newest cards ("Show more" is for reading back, and every
    // card drawn costs the page time at each event).
    let more_for = RwSignal::new(None::<(Option<String>, LiveFilter, usize)>);
    let limit = move |room: &Option<String>, filter: &LiveFilter| {
        more_for.with(|more| match more {
            Some((for_room, for_filter, limit)) if for_room == room && for_filter == filter => {
                *limit
            }
            _ => WINDOW,
        })
    };
    let show_more = move |_| {
        let (room, filter) = (room.get_untracked(), filter.get_untracked());
        let more = limit(&room, &filter) + WINDOW;
        more_for.set(Some((room, filter, more)));
    };
    let window = Memo::new(move |_| {
        room.with(|room| {
            filter.with(|filter| {
                let limit = limit(room, filter);
                feed.with(|feed| feed.newest(room.as_deref(), filter, limit))
            })
        })
    });
    let lines = move || {
        window.with(|(cards, _)| {
            let live = cards.partition_point(|card| card.live);
            let mut lines: Vec<Line> = cards.iter().cloned().map(Line::Card).collect();
            if live < cards.len() {
                lines.insert(live, Line::HistoryMarker);
            }
            lines
        })
    };
    let more = move || window.with(|(_, more)| *more);
    let has_more = Memo::new(move |_| more() > 0);
    // Nothing shown: no event yet, or none of the room and chips chosen.
    let empty = Memo::new(move |_| {
        window
            .with(|(cards, _)| cards.is_empty())
            .then(|| feed.with(Feed::is_empty))
    });
    let kind_chips = EventKind::ALL
        .into_iter()
        .map(|kind| {
            let pressed = move || filter.with(|f| f.kinds.contains(&kind)).to_string();
            view! {
                <button class="chip" aria-pressed=pressed on:click=move |_| filter.update(|f| f.toggle_kind(kind))>
                    {kind_label(kind)}
                </button>
            }
        })
        .collect_view();
    let severity_chips = Severity::ALL
        .into_iter()
        .map(|severity| {
            let pressed = move || {
                filter
                    .with(|f| f.severities.contains(&severity))
                    .to_string()
            };
            view! {
                <button class=format!("chip {}", severity.as_str()) aria-pressed=pressed
                    on:click=move |_| filter.update(|f| f.toggle_severity(severity))>
                    {severity.as_str()}
                </button>
            }
        })
        .collect_view();
    let zone_chips = api::city()
        .zones
        .iter()
        .map(|zone| {
            let id = zone.id.as_str();
            let pressed = move || filter.with(|f| f.zones.contains(id)).to_string();
            view! {
                <button class="chip zone" aria-pressed=pressed on:click=move |_| filter.update(|f| f.toggle_zone(id))>
                    {zone.name.as_str()}
                </button>
            }
        })
        .collect_view();
    view! {
        <section class="pane live" aria-labelledby="live-title">
            <h2 id="live-title">"Live events"</h2>
            <RoomList session />
            <div class="chips" role="group" aria-label="Filter the live feed">{kind_chips}{severity_chips}{zone_chips}</div>
            {move || empty.get().map(|none_yet| {
                let text = if none_yet { "Waiting for events…" } else { "No event matches the room and filters chosen." };
                message("empty", text.into())
            })}
            // Focusable: the feed scrolls on its own, and keyboards must be able to scroll it.
            <ol class="cards" data-testid="live-feed" tabindex="0" aria-label="Events, newest first">
                {rows(lines, line_key, line_view)}
            </ol>
            {move || has_more.get().then(|| view! {
                <button class="more" data-testid="live-more" on:click=show_more>
                    {move || format!("Show more ({} older)", more())}
                </button>
            })}
        </section>
    }
}

fn line_key(line: &Line) -> String {
    match line {
        Line::Card(card) => card.event.id.clone(),
        Line::HistoryMarker => "history-marker".to_owned(),
    }
}

fn line_view(line: Line) -> impl IntoView {
    match line {
        Line::Card(card) => Either::Left(event_card(card)),
        Line::HistoryMarker => Either::Right(view! {
            <li class="history-marker" data-testid="history-marker">"Before you joined: the rooms' history"</li>
        }),
    }
}

fn event_card(card: Arc<Card>) -> impl IntoView {
    let event = &card.event;
    let severity = shown_severity(event.kind, event.severity);
    let class = format!(
        "card {} {}",
        event.kind.as_str(),
        severity.unwrap_or_default()
    );
    let origin = if card.live { "live" } else { "history" };
    // A zone crossing has no lifecycle, so no status or severity worth reading.
    let status = event
        .kind
        .has_lifecycle()
        .then(|| view! { <span class="status">{event.status.as_str()}</span> });
    let severity = severity.map(|severity| view! { <span class="severity">{severity}</span> });
    view! {
        <li class=class data-kind=event.kind.as_str() data-event-id=event.id.clone() data-origin=origin title=event.body()>
            <div class="card-head">
                <b class="kind">{kind_label(event.kind)}</b>
                {status}
                {severity}
                <time datetime=format_time(event.occurred_at)>{clock(event.occurred_at, now())}</time>
            </div>
            <div class="card-body">{card_line(event)}</div>
        </li>
    }
}

pub fn kind_label(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Accident => "Accident",
        EventKind::Jam => "Traffic jam",
        EventKind::ZoneEnter => "Zone entry",
        EventKind::ZoneExit => "Zone exit",
    }
}
