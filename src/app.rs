//! The page: header with the connection indicator, the live feed, and the incident history.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::components::history::HistoryPanel;
use crate::components::live::LiveFeed;
use crate::components::map::CityMap;
use crate::components::open_incidents::OpenIncidents;
use crate::components::status::LinkIndicator;
use crate::session::{Link, Session};

#[component]
pub fn App() -> impl IntoView {
    let session = Session::new();
    spawn_local(async move {
        match api::config().await {
            Ok(config) => session.start(config),
            Err(error) => session.link.set(Link::Failed(error)),
        }
    });
    view! {
        <header class="top">
            <h1>"Vigie"</h1>
            <span class="tagline">"road incidents, live"</span>
            <LinkIndicator link=session.link />
        </header>
        <main class="panes">
            <LiveFeed feed=session.feed />
            <div class="side">
                <OpenIncidents feed=session.feed />
                <CityMap feed=session.feed />
                <HistoryPanel refresh=session.live_events />
            </div>
        </main>
    }
}
