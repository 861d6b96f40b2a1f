use std::time::Duration;

use leptos::prelude::*;

use crate::components::live::kind_label;
use crate::components::rows;
use crate::feed::OpenIncident;

/// Open accidents and active jams, with how long they have lasted; one row per incident, so an
/// event rewrites only its incident's row.
#[component]
pub fn OpenIncidents(open: Memo<Vec<OpenIncident>>) -> impl IntoView {
    let now = RwSignal::new(now());
    if let Ok(ticker) = set_interval_with_handle(move || now.set(self::now()), TICK) {
        on_cleanup(move || ticker.clear());
    }
    view! {
        <section class="pane open" aria-labelledby="open-title">
            <h2 id="open-title">"Open incidents"</h2>
            <ul class="open-incidents" data-testid="open-incidents">
                {rows(
                    move || open.get(),
                    |open| (open.latest.incident.clone(), open.latest.id.clone(), open.since),
                    move |open| row(open, now),
                )}
            </ul>
        </section>
    }
}

fn row(open: OpenIncident, now: RwSignal<time::OffsetDateTime>) -> impl IntoView {
    let event = open.latest;
    let since = open.since;
    let minutes = move || {
        let minutes = ((now.get() - since).whole_seconds().max(0) + 59) / 60;
        format!("{minutes} min")
    };
    let class = format!(
        "open-incident {} {}",
        event.kind.as_str(),
        event.severity.as_str()
    );
    view! {
        <li class=class data-incident-id=event.incident.clone()>
            <span class="kind">{kind_label(event.kind)}</span>
            <span class="where">{event.road.clone().or_else(|| event.zone.clone()).unwrap_or_default()}</span>
            <span class="vehicle">{event.vehicles.join(", ")}</span>
            <span class="duration">{minutes}</span>
        </li>
    }
}

const TICK: Duration = Duration::from_secs(15);

fn now() -> time::OffsetDateTime {
    let since_epoch = web_time::SystemTime::now()
        .duration_since(web_time::SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    time::OffsetDateTime::UNIX_EPOCH + since_epoch
}
