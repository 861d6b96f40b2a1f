//! The incident history: the filter form (its state in the page's URL), the results table with
//! keyset paging, the histogram, and the export links. The map draws the results and the drawer
//! details the selected one, through [`HistoryState`].

pub mod form;
pub mod histogram;

use std::time::Duration;

use leptos::either::Either;
use leptos::prelude::*;
use leptos::task::spawn_local;
use vigie_model::event::format_time;
use vigie_model::Incident;
use web_time::Instant;

use crate::api::{self, zone_name};
use crate::clock::stamp;
use crate::components::live::kind_label;
use crate::components::{message, rows};
use crate::feed::shown_severity;
use crate::filters::HistoryFilter;
use crate::viewport::{Places, ScrollWindow};
use form::FilterForm;
use histogram::{Bucket, Histogram, HistogramChart};

const REFRESH_DELAY: Duration = Duration::from_millis(1500);
const REFRESH_PERIOD: Duration = Duration::from_secs(10);
/// Least time between two histogram refreshes caused by live events (each costs a request per
/// refinement step; a busy feed would otherwise ask every REFRESH_DELAY).
const HISTOGRAM_PERIOD: Duration = Duration::from_secs(5);
/// The table's drawn rows, as [`ScrollWindow`] finds them.
const ROW: &str = "tbody tr[data-incident-id]";
/// Rows the table holds at most (20 pages): past that, "Load more" gives way to narrower
/// filters or the export, which have no limit, so the page's memory stays bounded.
const MAX_ROWS: usize = 1000;

/// What the history shares with the map and the details drawer.
#[derive(Clone, Copy)]
pub struct HistoryState {
    /// The incidents the table shows, newest first.
    pub results: RwSignal<Vec<Incident>>,
    /// The incident whose details are open.
    pub selected: RwSignal<Option<String>>,
}

impl HistoryState {
    pub fn new() -> HistoryState {
        HistoryState {
            results: RwSignal::new(Vec::new()),
            selected: RwSignal::new(None),
        }
    }
}

/// The query string of the page's URL.
fn url_query() -> String {
    window().location().search().unwrap_or_default()
}

/// Records `filter` as a new history entry, so links share it and back/forward restore it.
fn push_url(filter: &HistoryFilter) {
    let query = filter.to_query();
    let url = if query.is_empty() {
        window()
            .location()
            .pathname()
            .unwrap_or_else(|_| "/".into())
    } else {
        format!("?{query}")
    };
    if let Ok(history) = window().history() {
        let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Loading {
    Busy,
    Done,
    Failed(String),
}

/// The history pane; refetches its first page after live events (while only one page is shown,
/// so paging is never undone under the reader). Its first page is asked for at once, its
/// elements are built once `shown`.
#[component]
pub fn HistoryPanel(
    refresh: RwSignal<u64>,
    state: HistoryState,
    shown: Memo<bool>,
) -> impl IntoView {
    let (initial, initial_notes) = HistoryFilter::from_query(&url_query());
    let applied = RwSignal::new(initial);
    let notes = RwSignal::new(initial_notes);
    let results = state.results;
    let next_cursor = RwSignal::new(None::<String>);
    let loading = RwSignal::new(Loading::Busy);
    let histogram = RwSignal::new(None::<Result<Histogram, String>>);
    // Answers to an older filter are dropped when they arrive late.
    let generation = StoredValue::new(0u64);

    let load_page = move |cursor: Option<String>| {
        let query = applied.with_untracked(HistoryFilter::to_query);
        let asked_in = generation.get_value();
        loading.set(Loading::Busy);
        spawn_local(async move {
            let answer = api::incidents(&query, cursor.as_deref()).await;
            if generation.get_value() != asked_in {
                return;
            }
            match answer {
                Ok(page) => {
                    if cursor.is_some() {
                        results.update(|rows| rows.extend(page.incidents));
                    } else {
                        results.set(page.incidents);
                    }
                    next_cursor.set(page.next_cursor);
                    loading.set(Loading::Done);
                }
                Err(error) => loading.set(Loading::Failed(error)),
            }
        });
    };
    // Refreshed with every new filter; after live events, at most every HISTOGRAM_PERIOD.
    let histogram_loading = StoredValue::new(false);
    let histogram_asked_at = StoredValue::new(None::<Instant>);
    let load_histogram = move || {
        let filter = applied.get_untracked();
        let query = filter.to_query();
        let asked_in = generation.get_value();
        histogram_loading.set_value(true);
        histogram_asked_at.set_value(Some(Instant::now()));
        spawn_local(async move {
            let mut bucket = Bucket::for_range(filter.from, filter.to);
            let chart = loop {
                match api::stats(&query, bucket).await {
                    Ok(counts) => match bucket.refined(&counts) {
                        Some(finer) => bucket = finer,
                        None => break Ok(Histogram::new(bucket, &counts)),
                    },
                    Err(error) => break Err(error),
                }
            };
            if generation.get_value() == asked_in {
                histogram_loading.set_value(false);
                histogram.set(Some(chart));
            }
        });
    };
    // A new filter: answers to the previous one are dropped.
    let reload = move || {
        generation.update_value(|g| *g += 1);
        load_page(None);
        load_histogram();
    };
    Effect::new(move |_| {
        applied.track();
        reload();
    });

    let apply = move |filter: HistoryFilter| {
        push_url(&filter);
        notes.set(Vec::new());
        applied.set(filter);
    };
    let back_or_forward = window_event_listener(leptos::ev::popstate, move |_| {
        let (filter, dropped) = HistoryFilter::from_query(&url_query());
        notes.set(dropped);
        applied.set(filter);
    });
    on_cleanup(move || back_or_forward.remove());

    // A live event reaches MySQL a moment after the page (the collector stores it): look again
    // shortly after live events, and every few seconds anyway; never while a page is loading.
    let look_again = move || {
        if loading.with_untracked(|l| *l != Loading::Busy)
            && results.with_untracked(|rows| rows.len() <= api::PAGE_SIZE as usize)
        {
            load_page(None);
        }
        let histogram_due = histogram_asked_at
            .get_value()
            .is_none_or(|at| at.elapsed() >= HISTOGRAM_PERIOD);
        if histogram_due && !histogram_loading.get_value() {
            load_histogram();
        }
    };
    // One refresh pending at most: events while it waits ride on it; if a page is still loading
    // when it is due, it waits one more delay.
    let refresh_pending = StoredValue::new(false);
    let busy = move || loading.with_untracked(|l| *l == Loading::Busy);
    Effect::new(move |previous: Option<()>| {
        refresh.track();
        if previous.is_some() && !refresh_pending.get_value() {
            refresh_pending.set_value(true);
            refresh_when_idle(refresh_pending, busy, look_again);
        }
    });
    if let Ok(interval) = set_interval_with_handle(look_again, REFRESH_PERIOD) {
        on_cleanup(move || interval.clear());
    }

    let status = move || match loading.get() {
        Loading::Busy => "Loading…".to_owned(),
        Loading::Failed(error) => format!("Could not load the history: {error}"),
        Loading::Done => results_status(results.with(Vec::len), next_cursor.with(Option::is_some)),
    };
    let chart = move || match histogram.get() {
        Some(Ok(histogram)) if !histogram.bars.is_empty() => {
            Either::Right(view! { <HistogramChart histogram /> })
        }
        None => Either::Left(message("empty", "Counting…".into())),
        Some(Ok(_)) => Either::Left(message("empty", "No incidents to chart.".into())),
        Some(Err(error)) => Either::Left(message("error", ["No chart: ", &error].concat())),
    };
    let export = move |extension: &'static str| {
        move || applied.with(|filter| api::export_url(extension, &filter.to_query()))
    };
    let select = state.selected;
    // Only the rows in the table's view, and a margin, are drawn; a new filter's start at the
    // top.
    let total = move || results.with(Vec::len);
    let scroll = ScrollWindow::new(ROW, Places::TableRows, total);
    Effect::new(move |_| {
        applied.track();
        scroll.to_top();
    });
    let results_shown = move || results.with(|all| scroll.drawn(all));
    let has_more =
        Memo::new(move |_| next_cursor.with(Option::is_some) && results.with(Vec::len) < MAX_ROWS);
    move || {
        shown.get().then(|| view! {
        <section class="pane history" id="history" aria-labelledby="history-title">
            <h2 id="history-title">"Incident history"</h2>
            <FilterForm applied notes on_apply=Callback::new(apply) />
            {chart}
            <div class="results-bar">
                <p class="results-status" role="status" aria-live="polite" data-testid="history-status">{status}</p>
                <span class="exports">
                    "Export: "
                    <a href=export("csv") download="incidents.csv" data-testid="export-csv">"CSV"</a>
                    " · "
                    <a href=export("geojson") download="incidents.geojson" data-testid="export-geojson">"GeoJSON"</a>
                </span>
            </div>
            <div class="table-scroll" role="region" aria-labelledby="history-title" tabindex="0"
                data-focus-area node_ref=scroll.area on:scroll=move |_| scroll.scrolled()>
                <table data-testid="history" aria-rowcount=move || total() + 1>
                    <thead>
                        <tr aria-rowindex="1"><th scope="col">"Opened (UTC)"</th><th scope="col">"Kind"</th><th scope="col">"Status"</th><th scope="col">"Severity"</th><th scope="col">"Zone"</th><th scope="col">"Vehicles"</th></tr>
                    </thead>
                    <tbody>
                        <tr class="spacer" aria-hidden="true"><td colspan="6" style=move || scroll.before(total())></td></tr>
                        {rows(results_shown, |(_, incident)| (incident.id.clone(), incident.updated_at), move |(index, incident)| result_row(index, incident, select))}
                        <tr class="spacer" aria-hidden="true"><td colspan="6" style=move || scroll.after(total())></td></tr>
                    </tbody>
                </table>
            </div>
            {move || has_more.get().then(|| view! {
                <button class="more" data-testid="load-more" disabled=move || loading.get() == Loading::Busy
                    on:click=move |_| load_page(next_cursor.get_untracked())>
                    "Load more"
                </button>
            })}
        </section>
    })
    }
}

/// What the table shows, for its status line.
fn results_status(shown: usize, more: bool) -> String {
    match (shown, more) {
        (0, _) => "No incidents match these filters.".to_owned(),
        (n, true) if n >= MAX_ROWS => format!(
            "The {n} newest incidents shown, the table's most: narrow the filters, or export them all."
        ),
        (n, true) => format!("{n} newest incidents shown; more below."),
        (n, false) => format!("{n} incidents: all shown."),
    }
}

/// Runs `look_again` after [`REFRESH_DELAY`], or later while `busy`, then clears `pending`.
fn refresh_when_idle(
    pending: StoredValue<bool>,
    busy: impl Fn() -> bool + Copy + 'static,
    look_again: impl Fn() + Copy + 'static,
) {
    set_timeout(
        move || {
            if busy() {
                refresh_when_idle(pending, busy, look_again);
            } else {
                pending.set_value(false);
                look_again();
            }
        },
        REFRESH_DELAY,
    );
}

/// A row opens the incident's details: by a click anywhere on it, or from its button. `index`:
/// its place in the results as it is drawn (kept current by [`ScrollWindow`]: a row keyed by
/// its place would be drawn anew with every incident added on top).
fn result_row(index: usize, incident: Incident, select: RwSignal<Option<String>>) -> impl IntoView {
    let id = incident.id.clone();
    let open_from_row = {
        let id = id.clone();
        move |_| select.set(Some(id.clone()))
    };
    let open_from_button = move |ev: leptos::ev::MouseEvent| {
        ev.stop_propagation();
        select.set(Some(id.clone()));
    };
    let opened = stamp(incident.opened_at);
    let severity = shown_severity(incident.kind, incident.severity);
    let label = format!(
        "Details of the {} opened {opened}",
        kind_label(incident.kind)
    );
    let focus_key = ["history-", &incident.id].concat();
    let vehicles = incident.vehicles.join(", ");
    let zone = incident
        .zone
        .as_deref()
        .map(zone_name)
        .unwrap_or_default()
        .to_owned();
    view! {
        <tr data-incident-id=incident.id.clone() aria-rowindex=Places::TableRows.place(index).1 on:click=open_from_row>
            <td><button class="row-open" aria-label=label data-focus-key=focus_key on:click=open_from_button>
                <time datetime=format_time(incident.opened_at)>{opened}</time>
            </button></td>
            <td>{kind_label(incident.kind)}</td>
            <td>{incident.status.as_str()}</td>
            <td class=format!("severity {}", severity.unwrap_or_default())>{severity.unwrap_or("—")}</td>
            <td title=zone.clone()>{zone.clone()}</td>
            <td title=vehicles.clone()>{vehicles.clone()}</td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_says_when_the_table_is_full_and_what_to_do() {
        assert_eq!(results_status(0, true), "No incidents match these filters.");
        assert_eq!(
            results_status(50, true),
            "50 newest incidents shown; more below."
        );
        assert_eq!(results_status(7, false), "7 incidents: all shown.");
        let full = results_status(MAX_ROWS, true);
        assert!(full.contains("narrow the filters, or export"), "{full}");
        assert_eq!(
            results_status(MAX_ROWS, false),
            "1000 incidents: all shown."
        );
    }
}
