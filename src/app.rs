//! The page: header with the connection indicator, the live feed, and the incident history.

use leptos::prelude::*;
use leptos::task::spawn_local;
use vigie_model::EventKind;

use crate::account::Account;
use crate::api;
use crate::components::chat::ChatPanel;
use crate::components::drawer::IncidentDrawer;
use crate::components::history::{HistoryPanel, HistoryState};
use crate::components::live::LiveFeed;
use crate::components::login::StartPanel;
use crate::components::map::CityMap;
use crate::components::open_incidents::OpenIncidents as OpenIncidentsPanel;
use crate::components::status::LinkIndicator;
use crate::components::theme::ThemeToggle;
use crate::open::OpenIncidents;
use crate::session::{Link, Session};
use vigie_dashboard::transport::Kind;

/// See the registration probe in [`App`]: after the viewer's first room, and after the start.
const REGISTRATION_PROBE_AT_THE_LATEST: std::time::Duration = std::time::Duration::from_secs(1);
const REGISTRATION_PROBE_ANYWAY: std::time::Duration = std::time::Duration::from_secs(5);
/// See `panels` in [`App`].
const PANELS_AT_THE_LATEST: std::time::Duration = std::time::Duration::from_secs(1);

#[component]
pub fn App() -> impl IntoView {
    let session = Session::new();
    let account = Account::new();
    let history = HistoryState::new();
    // Sorted once per change, for both the open-incidents list and the map; those of a room
    // left are not kept current, so not shown.
    // The kinds followed change only with a join or a leave, not with each unread count.
    let followed = Memo::new(move |_| {
        session.rooms.with(|rooms| {
            (EventKind::ALL.into_iter())
                .filter(|&kind| rooms.follows(kind))
                .collect::<Vec<_>>()
        })
    });
    let open = Memo::new(move |_| {
        let mut open = session.open.with(OpenIncidents::newest_first);
        followed.with(|kinds| open.retain(|incident| kinds.contains(&incident.latest.kind)));
        open
    });
    let configured = move |config: Result<api::ClientConfig, String>| match config {
        Ok(config) => {
            account.configure(config.clone());
            session.start(config)
        }
        Err(error) => session.link.set(Link::Failed(error)),
    };
    // Whether the login form may offer "Create account": asked once every room is joined (or
    // REGISTRATION_PROBE_AT_THE_LATEST after the first), so never in the way to live, and over
    // the transport that got the viewer there. Asking twice is harmless: the first one holds.
    Effect::new(move |waiting: Option<bool>| match session.link.get() {
        Link::Online { transport, rooms } => {
            if rooms >= session.rooms.with_untracked(|r| r.wanted().len()) {
                account.ask_registration(transport);
            } else if waiting != Some(true) {
                let ask = move || account.ask_registration(transport);
                set_timeout(ask, REGISTRATION_PROBE_AT_THE_LATEST);
            }
            true
        }
        _ => waiting == Some(true),
    });
    // A viewer that cannot get online still lets an operator create an account.
    let ask_anyway = move || account.ask_registration(Kind::WebSocket);
    set_timeout(ask_anyway, REGISTRATION_PROBE_ANYWAY);
    // Inlined by the server: the XMPP session starts before the page is built. Fetched otherwise.
    match crate::session::config_in_page() {
        Some(config) => configured(config),
        None => spawn_local(async move { configured(api::config().await) }),
    }
    // The side panels and the history table are built once the login is through, while
    // Prosody joins the rooms (or after PANELS_AT_THE_LATEST): before, each of the login's
    // round trips would wait behind their rendering and layout. Built once, kept.
    let waited = RwSignal::new(false);
    set_timeout(move || waited.set(true), PANELS_AT_THE_LATEST);
    let panels = Memo::new(move |built: Option<&bool>| {
        built == Some(&true) || waited.get() || !matches!(session.link.get(), Link::Connecting(_))
    });
    view! {
        <header class="top">
            <h1>"Vigie"</h1>
            <span class="tagline">"road incidents, live"</span>
            <a class="skip" href="#history">"Skip to the history"</a>
            <LinkIndicator link=session.link />
            <ThemeToggle />
        </header>
        <main class="panes">
            <LiveFeed session />
            {move || {
                panels
                    .get()
                    .then(|| {
                        view! {
                            <div class="side">
                                <StartPanel account />
                                <ChatPanel account />
                                <OpenIncidentsPanel open select=history.selected />
                                <CityMap open history />
                            </div>
                        }
                    })
            }}
            <HistoryPanel refresh=session.live_events state=history shown=panels />
        </main>
        <IncidentDrawer selected=history.selected />
    }
}
