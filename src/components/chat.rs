use std::time::Duration;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use web_time::Instant;

use crate::account::{Account, Status};
use crate::chat::{ChatLog, Line, OwnTyping};
use crate::clock::clock;
use crate::components::roster::RosterPanel;
use crate::components::rows;

/// How often typing indicators are re-evaluated (they fade, and our own turns to "paused").
const TICK: Duration = Duration::from_secs(1);

/// The operators' chat, for logged-in operators: the room and one-to-one conversations as
/// tabs, the messages, who is typing, a composer, the room's occupants and the roster.
/// Every text from the network goes in as text, inside `<bdi>` so right-to-left overrides
/// stay within their own span.
#[component]
pub fn ChatPanel(account: Account) -> impl IntoView {
    let online = Memo::new(move |_| matches!(account.status.get(), Status::Online { .. }));
    move || {
        online.get().then(|| {
            view! {
                <section class="pane chat" aria-labelledby="chat-title">
                    <h2 id="chat-title">"Operators' chat"</h2>
                    <Conversation account />
                    <RosterPanel account />
                </section>
            }
        })
    }
}

#[component]
fn Conversation(account: Account) -> impl IntoView {
    let now = RwSignal::new(Instant::now());
    let own_typing = StoredValue::new(OwnTyping::default());
    let tick = move || {
        let at = Instant::now();
        now.set(at);
        if let Some(state) = own_typing.try_update_value(|t| t.tick(at)).flatten() {
            account.chat_state(state);
        }
    };
    if let Ok(ticker) = set_interval_with_handle(tick, TICK) {
        on_cleanup(move || ticker.clear());
    }
    // Our typing does not follow us to another conversation: the one we leave hears we paused.
    Effect::new(move |previous: Option<Option<String>>| {
        let selected = account.selected.get();
        if let Some(left) = previous.filter(|left| *left != selected) {
            if let Some(state) = own_typing.try_update_value(OwnTyping::left).flatten() {
                account.chat_state_in(left, state);
            }
        }
        selected
    });
    // The tabs are drawn anew with each unread count: a focused tab keeps the focus.
    let tabs = move || {
        crate::focus::keep_through_redraw();
        let selected = account.selected.get();
        let room_unread = account.room.with(|r| r.unread);
        let room_tab = tab(
            account,
            None,
            "ops room".to_owned(),
            room_unread,
            selected.is_none(),
        );
        let peer_tabs = account.chats.with(|chats| {
            chats
                .peers()
                .map(|(peer, unread)| {
                    let current = selected.as_deref() == Some(peer);
                    tab(
                        account,
                        Some(peer.to_owned()),
                        peer.to_owned(),
                        unread,
                        current,
                    )
                })
                .collect_view()
        });
        view! { {room_tab}{peer_tabs} }
    };
    // A conversation closed to make room for a new one (`Conversations::open`) gives way to
    // the room's.
    Effect::new(move |_| {
        let gone = account.selected.with(|peer| {
            peer.as_deref()
                .is_some_and(|peer| account.chats.with(|chats| chats.get(peer).is_none()))
        });
        if gone {
            account.select(None);
        }
    });
    let shown = move |read: &dyn Fn(&ChatLog) -> Vec<Line>| match account.selected.get() {
        None => account.room.with(|log| read(log)),
        Some(peer) => account
            .chats
            .with(|chats| chats.get(&peer).map(read))
            .unwrap_or_default(),
    };
    // Keyed by line (and day, since a line reads its time against today): a new message adds
    // its line alone rather than drawing the whole log again.
    let lines = move || {
        let today = crate::clock::now();
        let lines = shown(&|log| log.lines().cloned().collect());
        lines.into_iter().map(move |line| (today, line))
    };
    let lines = rows(
        lines,
        |(today, line): &(time::OffsetDateTime, Line)| (line.key, today.date()),
        |(today, line)| line_view(&line, today),
    );
    // What a screen reader reads out: the newest line, once (the log itself is drawn anew at
    // times, `rows`, and would be read out whole).
    let newest = Memo::new(move |_| {
        shown(&|log| log.lines().last().cloned().into_iter().collect())
            .pop()
            .map(|line| (line.key, [line.author.as_str(), ": ", &line.body].concat()))
    });
    let typing = move || {
        let now = now.get();
        match account.selected.get() {
            None => account.room_typing.with(|t| t.sentence(now)),
            Some(peer) => account.chat_typing.with(|t| {
                t.who(now)
                    .contains(&peer.as_str())
                    .then(|| format!("{peer} is typing…"))
            }),
        }
        .unwrap_or_default()
    };
    let draft = RwSignal::new(String::new());
    let send = move |ev: SubmitEvent| {
        ev.prevent_default();
        account.send(&draft.get_untracked());
        draft.set(String::new());
        own_typing.update_value(OwnTyping::sent);
    };
    let typed = move |ev| {
        draft.set(event_target_value(&ev));
        if let Some(state) = own_typing
            .try_update_value(|t| t.keystroke(Instant::now()))
            .flatten()
        {
            account.chat_state(state);
        }
    };
    // WAI-ARIA's tabs: arrows, Home and End go from tab to tab, choosing as they go.
    let arrows = move |ev: leptos::ev::KeyboardEvent| {
        let peers: Vec<Option<String>> = std::iter::once(None)
            .chain(account.chats.with(|chats| {
                chats
                    .peers()
                    .map(|(peer, _)| Some(peer.to_owned()))
                    .collect::<Vec<_>>()
            }))
            .collect();
        let at = account
            .selected
            .with_untracked(|selected| peers.iter().position(|peer| peer == selected))
            .unwrap_or(0);
        let to = match ev.key().as_str() {
            "ArrowRight" => (at + 1) % peers.len(),
            "ArrowLeft" => (at + peers.len() - 1) % peers.len(),
            "Home" => 0,
            "End" => peers.len() - 1,
            _ => return,
        };
        ev.prevent_default();
        let peer = peers[to].clone();
        crate::focus::move_after_redraw(tab_key(peer.as_deref()));
        account.select(peer);
    };
    let panel_label = move || account.selected.with(|peer| tab_id(peer.as_deref()));
    view! {
        <div class="tabs" role="tablist" aria-label="Conversations" data-testid="chat-tabs" on:keydown=arrows>{tabs}</div>
        <div class="chat-body" role="tabpanel" id="chat-panel" aria-labelledby=panel_label>
            <div class="chat-main">
                // Reversed flow keeps the scroll pinned to the newest line.
                <div class="chat-scroll"><ol class="chat-log" data-testid="chat-log" aria-label="Messages">{lines}</ol></div>
                <p class="sr-only" aria-live="polite" data-testid="chat-newest">{move || newest.with(|line| line.as_ref().map(|(_, text)| text.clone()))}</p>
                <p class="typing" data-testid="typing" aria-live="polite">{typing}</p>
                <form class="composer" on:submit=send aria-label="Send a message">
                    <input type="text" prop:value=draft on:input=typed maxlength="2000" autocomplete="off"
                        aria-label="Message" placeholder="Message" data-testid="chat-input" />
                    <button type="submit" data-testid="chat-send">"Send"</button>
                </form>
            </div>
            <Occupants account />
        </div>
    }
}

fn tab(
    account: Account,
    peer: Option<String>,
    label: String,
    unread: u32,
    current: bool,
) -> impl IntoView {
    let testid = peer.clone().unwrap_or_else(|| "room".to_owned());
    let (id, key) = (tab_id(peer.as_deref()), tab_key(peer.as_deref()));
    // One tab in the page's tab order, the chosen one; arrows reach the others.
    let tabindex = if current { "0" } else { "-1" };
    view! {
        <button type="button" role="tab" class="tab" id=id aria-selected=current.to_string() aria-controls="chat-panel"
            tabindex=tabindex data-peer=testid data-focus-key=key on:click=move |_| account.select(peer.clone())>
            <bdi>{label}</bdi>
            {(unread > 0).then(|| view! { <span class="unread" aria-label="unread">{unread}</span> })}
        </button>
    }
}

/// A conversation's tab: the room's (`None`) or a peer's.
fn tab_id(peer: Option<&str>) -> String {
    ["chat-tab-", peer.unwrap_or("room")].concat()
}

fn tab_key(peer: Option<&str>) -> String {
    ["tab-", peer.unwrap_or("room")].concat()
}

fn line_view(line: &Line, today: time::OffsetDateTime) -> impl IntoView {
    let class = match (line.own, line.delayed) {
        (true, _) => "line own",
        (false, true) => "line delayed",
        (false, false) => "line",
    };
    let title = line.delayed.then_some("sent while you were away");
    view! {
        <li class=class>
            <time title=title>{clock(line.at, today)}</time>
            <bdi class="author">{line.author.clone()}</bdi>
            <bdi class="body">{line.body.clone()}</bdi>
        </li>
    }
}

#[component]
fn Occupants(account: Account) -> impl IntoView {
    let rows = move || {
        account.occupants.with(|occupants| {
            occupants
                .sorted()
                .into_iter()
                .map(|o| {
                    let class = format!(
                        "occupant {} {}",
                        o.role.as_str(),
                        o.presence.availability.class()
                    );
                    // Away, busy… and the status text, written out for all to read.
                    let presence = o.presence.note();
                    view! {
                        <li class=class title=o.presence.describe()>
                            <bdi class="nick">{o.nick.clone()}</bdi>
                            <span class="role">{o.role.as_str()}</span>
                            {presence.map(|text| view! { <bdi class="presence">{text}</bdi> })}
                        </li>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <aside class="occupants" aria-label="In the room">
            <h3>{move || format!("In the room ({})", account.occupants.with(|o| o.len()))}</h3>
            <ul data-testid="occupants">{rows}</ul>
        </aside>
    }
}
