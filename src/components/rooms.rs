use leptos::prelude::*;

use crate::rooms::{Room, RoomState};
use crate::session::Session;

/// The event rooms of the MUC service: a button per room showing its feed (with its unread
/// count), one for the merged feed, and join / leave. Rows are keyed by room and read their
/// state themselves, so a new unread count does not take the keyboard focus away.
#[component]
pub fn RoomList(session: Session) -> impl IntoView {
    let rooms = session.rooms;
    let jids = Memo::new(move |_| {
        rooms.with(|rooms| {
            rooms
                .all()
                .iter()
                .map(|room| room.jid.clone())
                .collect::<Vec<_>>()
        })
    });
    let merged = move || rooms.with(|rooms| rooms.shown().is_none()).to_string();
    view! {
        <nav class="rooms" aria-label="Event rooms" data-testid="rooms">
            <ul>
                <li class="room">
                    <button type="button" class="room-show" aria-pressed=merged
                        on:click=move |_| rooms.update(|rooms| rooms.show(None))>
                        "All rooms"
                    </button>
                </li>
                <For each=move || jids.get() key=String::clone let:jid>
                    {room_row(session, jid)}
                </For>
            </ul>
        </nav>
    }
}

fn room_row(session: Session, jid: String) -> impl IntoView {
    let rooms = session.rooms;
    // Per row, so a row redraws only when its own room changes.
    let room = Memo::new({
        let jid = jid.clone();
        move |_| rooms.with(|rooms| rooms.get(&jid).cloned())
    });
    let read =
        move |f: fn(&Room) -> String| room.with(|room| room.as_ref().map(f).unwrap_or_default());
    let name = move || read(|room| room.name.clone());
    let wanted = move || room.with(|room| room.as_ref().is_some_and(Room::is_wanted));
    let unread = move || room.with(|room| room.as_ref().map_or(0, |room| room.unread));
    let state = move || {
        read(|room| {
            match room.state {
                RoomState::Left => "left",
                RoomState::Joining => "joining",
                RoomState::Joined => "joined",
                RoomState::Refused(_) => "refused",
            }
            .to_owned()
        })
    };
    let refusal = move || {
        read(|room| match &room.state {
            RoomState::Refused(why) => why.clone(),
            _ => String::new(),
        })
    };
    let shown = {
        let jid = jid.clone();
        move || {
            rooms
                .with(|rooms| rooms.shown() == Some(jid.as_str()))
                .to_string()
        }
    };
    let show = {
        let jid = jid.clone();
        move |_| rooms.update(|rooms| rooms.show(Some(&jid)))
    };
    let toggle = {
        let jid = jid.clone();
        move |_| {
            if wanted() {
                session.leave_room(&jid)
            } else {
                session.join_room(&jid)
            }
        }
    };
    let verb = move || if wanted() { "Leave" } else { "Join" };
    view! {
        <li class="room" data-room=jid.clone() data-state=state>
            <button type="button" class="room-show" aria-pressed=shown disabled=move || !wanted()
                on:click=show>
                <span class="room-name">{name}</span>
                // Always there, hidden at 0: a badge drawn anew with each count would leave its
                // reactive owner behind (see `components::rows`), 10 a second at 100 events/s.
                <span class="unread" data-testid="unread" hidden=move || unread() == 0
                    aria-label=move || format!("{} unread", unread())>{unread}</span>
            </button>
            <button type="button" class="room-toggle" aria-label=move || format!("{} {}", verb(), name())
                on:click=toggle>
                {verb}
            </button>
            {move || {
                let why = refusal();
                (!why.is_empty()).then(|| view! { <span class="error">{why}</span> })
            }}
        </li>
    }
}
