use std::time::Duration;

use leptos::prelude::*;

use crate::components::live::kind_label;
use crate::components::rows;
use crate::feed::{duration_label, place_name, vehicles_label};
use crate::open::OpenIncident;
use crate::viewport::{Places, ScrollWindow};

/// The list's drawn rows, as [`ScrollWindow`] finds them.
const ROW: &str = "li[data-incident-id]";

/// Open accidents and active jams, with how long they have lasted; one row per incident, so an
/// event rewrites only its incident's row. Its kind opens the incident's details (`select`).
#[component]
pub fn OpenIncidents(
    open: Memo<Vec<OpenIncident>>,
    select: RwSignal<Option<String>>,
) -> impl IntoView {
    let now = RwSignal::new(crate::clock::now());
    if let Ok(ticker) = set_interval_with_handle(move || now.set(crate::clock::now()), TICK) {
        on_cleanup(move || ticker.clear());
    }
    // Only the rows in view, and a margin, are drawn; the heading tells how many there are.
    let total = move || open.with(Vec::len);
    let count = move || match total() {
        0 => String::new(),
        n => [" (", &n.to_string(), ")"].concat(),
    };
    let scroll = ScrollWindow::new(ROW, Places::ListItems, total);
    view! {
        <section class="pane open" aria-labelledby="open-title">
            <h2 id="open-title">"Open incidents"<span data-testid="open-count">{count}</span></h2>
            <div class="open-scroll" role="region" aria-labelledby="open-title" tabindex="0"
                data-focus-area node_ref=scroll.area on:scroll=move |_| scroll.scrolled()>
                <ul class="open-incidents" data-testid="open-incidents">
                    <li class="spacer" aria-hidden="true" style=move || scroll.before(total())></li>
                    {rows(
                        move || {
                            let now = now.get();
                            let (total, drawn) = open.with(|all| (all.len(), scroll.drawn(all)));
                            drawn.into_iter().map(move |(index, open)| ((index, total), minutes_since(open.since, now), open))
                        },
                        |(_, minutes, open)| (open.latest.incident.clone(), open.latest.id.clone(), *minutes),
                        move |(place, minutes, open)| row(open, minutes, place, select),
                    )}
                    <li class="spacer" aria-hidden="true" style=move || scroll.after(total())></li>
                </ul>
            </div>
        </section>
    }
}

/// A row's duration is fixed when it is drawn; the list redraws a row when its minute changes.
/// (A row reading the ticking clock itself would stay among the clock's subscribers after it
/// is gone: reactive_graph 0.2.16 does not unsubscribe dropped effects, which grew the wasm
/// memory with every incident.)
/// `(index, total)`: its place in the list as it is drawn (kept current by [`ScrollWindow`]: a
/// row keyed by its place would be drawn anew with every incident added on top).
fn row(
    open: OpenIncident,
    minutes: i64,
    (index, total): (usize, usize),
    select: RwSignal<Option<String>>,
) -> impl IntoView {
    let event = open.latest;
    let class = format!(
        "open-incident {} {}",
        event.kind.as_str(),
        event.severity.as_str()
    );
    let label = format!(
        "Details of the {} at {}",
        kind_label(event.kind),
        place_name(&event)
    );
    let incident = event.incident.clone();
    let focus_key = ["open-", &event.incident].concat();
    let place = place_name(&event).to_owned();
    let vehicles = vehicles_label(&event.vehicles);
    view! {
        <li class=class data-incident-id=event.incident.clone() aria-posinset=Places::ListItems.place(index).1 aria-setsize=total>
            <button class="kind row-open" aria-label=label data-focus-key=focus_key on:click=move |_| select.set(Some(incident.clone()))>
                {kind_label(event.kind)}
            </button>
            <span class="where" title=place.clone()>{place.clone()}</span>
            <span class="vehicle" title=vehicles.clone()>{vehicles.clone()}</span>
            <span class="duration">{duration_label(minutes)}</span>
        </li>
    }
}

/// Whole minutes (rounded up) from `since` to `now`.
fn minutes_since(since: time::OffsetDateTime, now: time::OffsetDateTime) -> i64 {
    ((now - since).whole_seconds().max(0) + 59) / 60
}

const TICK: Duration = Duration::from_secs(15);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_are_rounded_up_and_never_negative() {
        let since = time::OffsetDateTime::UNIX_EPOCH;
        let after = |seconds: i64| minutes_since(since, since + time::Duration::seconds(seconds));
        assert_eq!(after(0), 0);
        assert_eq!(after(1), 1);
        assert_eq!(after(60), 1);
        assert_eq!(after(61), 2);
        assert_eq!(after(-30), 0, "a clock behind the event's time");
    }
}
