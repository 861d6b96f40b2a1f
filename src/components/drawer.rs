//! The details drawer: one incident and its lifecycle, from `GET /api/v1/incidents/{id}`. A
//! modal `<dialog>`, so the browser keeps focus inside it and Escape closes it; focus returns to
//! whatever opened it (a table row, a map marker).

use leptos::either::Either;
use leptos::prelude::*;
use leptos::task::spawn_local;
use vigie_model::event::format_time;
use vigie_model::{EventKind, IncidentDetail, IncidentUpdate};
use wasm_bindgen::JsCast;

use crate::api::{self, road_name, zone_name};
use crate::clock::stamp;
use crate::components::live::kind_label;
use crate::components::message;
use crate::feed::shown_severity;
use vigie_model::number::fixed;

#[component]
pub fn IncidentDrawer(selected: RwSignal<Option<String>>) -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    // Where focus was when the drawer opened, to give it back on close: the element, or its
    // focus key when a live row drew it anew meanwhile (`focus`).
    let opener = StoredValue::new_local(None::<web_sys::HtmlElement>);
    let opener_key = StoredValue::new(None::<String>);
    // The selected incident's answer; one for an incident no longer selected is dropped.
    let detail = RwSignal::new(None::<Result<IncidentDetail, String>>);
    Effect::new(move |_| {
        detail.set(None);
        if let Some(id) = selected.get() {
            spawn_local(async move {
                let answer = api::incident(&id).await;
                if selected.with_untracked(|now| now.as_ref() == Some(&id)) {
                    detail.set(Some(answer));
                }
            });
        }
    });
    Effect::new(move |_| {
        let open = selected.with(Option::is_some);
        let Some(dialog) = dialog.get() else { return };
        if open && !dialog.open() {
            let focused = document()
                .active_element()
                .map(|element| element.unchecked_into::<web_sys::HtmlElement>());
            opener.set_value(focused);
            opener_key.set_value(crate::focus::focused_key());
            let _ = dialog.show_modal();
        } else if !open && dialog.open() {
            dialog.close();
        }
    });
    let closed = move |_| {
        selected.set(None);
        match (opener.get_value(), opener_key.get_value()) {
            (Some(opener), _) if opener.is_connected() => {
                let _ = opener.focus();
            }
            (_, Some(key)) => {
                crate::focus::focus(&key);
            }
            _ => {}
        }
    };
    let body = move || match detail.get() {
        None => Either::Left(message("", "Loading…".into())),
        Some(Err(error)) => Either::Left(message("error", error)),
        Some(Ok(detail)) => Either::Right(details(detail)),
    };
    view! {
        <dialog node_ref=dialog class="drawer" aria-labelledby="drawer-title" data-testid="drawer" on:close=closed>
            <div class="drawer-head">
                <h2 id="drawer-title">"Incident details"</h2>
                <button type="button" class="close" aria-label="Close the details" on:click=move |_| selected.set(None)>"✕"</button>
            </div>
            {body}
        </dialog>
    }
}

fn details(detail: IncidentDetail) -> impl IntoView {
    let incident = detail.incident;
    let place = [
        incident.zone.as_deref().map(zone_name),
        incident.road.as_deref().map(road_name),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    let fields = [
        ("Kind", kind_label(incident.kind).to_owned()),
        ("Status", incident.status.as_str().to_owned()),
        (
            "Severity",
            shown_severity(incident.kind, incident.severity)
                .unwrap_or("—")
                .to_owned(),
        ),
        ("Where", place),
        (
            "Position",
            [fixed(incident.lat, 5), fixed(incident.lon, 5)].join(", "),
        ),
        ("Vehicles", incident.vehicles.join(", ")),
        ("Opened", stamp(incident.opened_at)),
        ("Updated", stamp(incident.updated_at)),
        (
            "Cleared",
            incident
                .cleared_at
                .map(stamp)
                .unwrap_or_else(|| "not yet".into()),
        ),
        ("Detail", incident.detail),
        ("Id", incident.id),
    ]
    .into_iter()
    .map(|(name, value)| view! { <dt>{name}</dt><dd>{value}</dd> })
    .collect_view();
    let kind = incident.kind;
    let steps = detail
        .updates
        .into_iter()
        .map(|update| step(kind, update))
        .collect_view();
    view! {
        <dl class="facts">{fields}</dl>
        <h3>"Lifecycle"</h3>
        <ol class="lifecycle" data-testid="lifecycle">{steps}</ol>
    }
}

fn step(kind: EventKind, update: IncidentUpdate) -> impl IntoView {
    view! {
        <li class=format!("step {}", update.status.as_str()) data-event-id=update.id data-status=update.status.as_str()>
            <time datetime=format_time(update.occurred_at)>{stamp(update.occurred_at)}</time>
            <span class="status">{update.status.as_str()}</span>
            <span class=format!("severity {}", update.severity.as_str())>
                {shown_severity(kind, update.severity)}
            </span>
            <span class="vehicle">{update.vehicles.join(", ")}</span>
            <span class="detail">{update.detail}</span>
        </li>
    }
}
