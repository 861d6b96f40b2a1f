use leptos::prelude::*;

use std::time::Duration;

use crate::api;
use crate::components::live::kind_label;

const REFRESH_DELAY: Duration = Duration::from_millis(1500);
const REFRESH_PERIOD: Duration = Duration::from_secs(10);

/// Incident history from the REST API, newest first; refetched when live events arrive.
#[component]
pub fn HistoryPanel(refresh: RwSignal<u64>) -> impl IntoView {
    // A live event reaches MySQL a moment after the page (the collector stores it): look again
    // shortly after each one, and every few seconds anyway.
    let looks = RwSignal::new(0u64);
    let look_again = move || looks.update(|n| *n += 1);
    Effect::new(move |_| {
        refresh.track();
        set_timeout(look_again, REFRESH_DELAY);
    });
    if let Ok(interval) = set_interval_with_handle(look_again, REFRESH_PERIOD) {
        on_cleanup(move || interval.clear());
    }
    let page = LocalResource::new(move || {
        looks.track();
        api::incidents(50)
    });
    let rows = move || {
        match page.get() {
        None => view! { <tr><td colspan="6">"Loading…"</td></tr> }.into_any(),
        Some(Err(error)) => view! { <tr><td colspan="6" class="error">{error}</td></tr> }.into_any(),
        Some(Ok(page)) if page.incidents.is_empty() => {
            view! { <tr><td colspan="6" class="empty">"No incidents yet."</td></tr> }.into_any()
        }
        Some(Ok(page)) => page
            .incidents
            .into_iter()
            .map(|incident| {
                view! {
                    <tr data-incident-id=incident.id.clone()>
                        <td><time>{vigie_model::event::format_time(incident.opened_at)}</time></td>
                        <td>{kind_label(incident.kind)}</td>
                        <td>{incident.status.as_str()}</td>
                        <td class=format!("severity {}", incident.severity.as_str())>{incident.severity.as_str()}</td>
                        <td>{incident.zone.unwrap_or_default()}</td>
                        <td>{incident.vehicles.join(", ")}</td>
                    </tr>
                }
            })
            .collect_view()
            .into_any(),
    }
    };
    view! {
        <section class="pane history" aria-labelledby="history-title">
            <h2 id="history-title">"Incident history"</h2>
            <table data-testid="history">
                <thead>
                    <tr><th>"Opened"</th><th>"Kind"</th><th>"Status"</th><th>"Severity"</th><th>"Zone"</th><th>"Vehicles"</th></tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}
