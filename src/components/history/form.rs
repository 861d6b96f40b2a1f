//! The history's filter form. It edits a draft and applies it on submit; whenever the applied
//! filter changes (a link opened, back/forward) the form shows it again.

use leptos::prelude::*;
use vigie_model::{EventKind, Severity, Status};

use crate::components::live::kind_label;
use crate::components::message;
use crate::filters::{input_value, parse_input, HistoryFilter, MAX_NAME_CHARS, MAX_TEXT_CHARS};

#[component]
pub fn FilterForm(
    applied: RwSignal<HistoryFilter>,
    /// What the last link opened had to leave out.
    notes: RwSignal<Vec<String>>,
    on_apply: Callback<HistoryFilter>,
) -> impl IntoView {
    let draft = RwSignal::new(applied.get_untracked());
    Effect::new(move |_| draft.set(applied.get()));
    let problem = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let filter = draft.get_untracked();
        match filter.check() {
            Ok(()) => {
                problem.set(None);
                on_apply.run(filter);
            }
            Err(why) => problem.set(Some(why)),
        }
    };
    let reset = move |_| {
        problem.set(None);
        on_apply.run(HistoryFilter::default());
    };

    let kinds = EventKind::ALL
        .into_iter()
        .map(|kind| {
            let checked = move || draft.with(|f| f.kinds.contains(&kind));
            view! {
                <label class="check">
                    <input type="checkbox" name="kind" value=kind.as_str() prop:checked=checked
                        on:change=move |_| draft.update(|f| f.toggle_kind(kind)) />
                    {kind_label(kind)}
                </label>
            }
        })
        .collect_view();
    let city = crate::api::city();
    let zone_order: Vec<String> = city.zones.iter().map(|zone| zone.id.clone()).collect();
    let zones = city
        .zones
        .iter()
        .map(|zone| {
            let id = zone.id.clone();
            let order = zone_order.clone();
            let checked = {
                let id = id.clone();
                move || draft.with(|f| f.zones.contains(&id))
            };
            let toggle = {
                let id = id.clone();
                move |_| draft.update(|f| f.toggle_zone(&id, &order))
            };
            view! {
                <label class="check">
                    <input type="checkbox" name="zone" value=id prop:checked=checked on:change=toggle />
                    {zone.name.as_str()}
                </label>
            }
        })
        .collect_view();
    view! {
        <form class="filters" role="search" aria-label="Filter the incident history" data-testid="history-filters" on:submit=submit>
            <fieldset>
                <legend>"Kind"</legend>
                {kinds}
            </fieldset>
            <fieldset>
                <legend>"Zone"</legend>
                {zones}
            </fieldset>
            {single_choice(draft, "Status", "status", Status::OF_INCIDENTS.map(Status::as_str).to_vec(),
                |f| f.status.map(Status::as_str), |f, value| f.status = value.parse().ok())}
            {single_choice(draft, "Severity", "severity", Severity::ALL.map(Severity::as_str).to_vec(),
                |f| f.severity.map(Severity::as_str), |f, value| f.severity = value.parse().ok())}
            <label>
                "Vehicle"
                <input type="text" name="vehicle" maxlength=MAX_NAME_CHARS autocomplete="off" placeholder="e.g. v12"
                    prop:value=move || draft.with(|f| f.vehicle.clone())
                    on:input=move |ev| draft.update(|f| f.vehicle = event_target_value(&ev).trim().to_owned()) />
            </label>
            <label>
                "From (UTC)"
                <input type="datetime-local" name="from" prop:value=move || draft.with(|f| input_value(f.from))
                    on:change=move |ev| draft.update(|f| f.from = parse_input(&event_target_value(&ev))) />
            </label>
            <label>
                "To (UTC)"
                <input type="datetime-local" name="to" prop:value=move || draft.with(|f| input_value(f.to))
                    on:change=move |ev| draft.update(|f| f.to = parse_input(&event_target_value(&ev))) />
            </label>
            <label>
                "Text in the detail"
                <input type="search" name="text" maxlength=MAX_TEXT_CHARS autocomplete="off"
                    prop:value=move || draft.with(|f| f.text.clone())
                    on:input=move |ev| draft.update(|f| f.text = event_target_value(&ev)) />
            </label>
            <div class="actions">
                <button type="submit" data-testid="apply-filters">"Apply"</button>
                <button type="button" on:click=reset>"Reset"</button>
            </div>
            <div class="form-notes" role="alert">
                {move || problem.get().map(|why| message("error", why))}
                {move || notes.get().into_iter().map(|note| message("note", ["From the link: ", &note].concat())).collect_view()}
            </div>
        </form>
    }
}

/// A `<select>` of one of `names`, or any: the draft field `current` reads and `set` writes.
fn single_choice(
    draft: RwSignal<HistoryFilter>,
    label: &'static str,
    name: &'static str,
    names: Vec<&'static str>,
    current: fn(&HistoryFilter) -> Option<&'static str>,
    set: fn(&mut HistoryFilter, &str),
) -> impl IntoView {
    let options = names
        .into_iter()
        .map(|value| {
            let selected = move || draft.with(|f| current(f) == Some(value));
            view! { <option value=value prop:selected=selected>{value}</option> }
        })
        .collect_view();
    view! {
        <label>
            {label}
            <select name=name on:change=move |ev| {
                let value = event_target_value(&ev);
                draft.update(|f| set(f, &value));
            }>
                <option value="" prop:selected=move || draft.with(|f| current(f).is_none())>"any"</option>
                {options}
            </select>
        </label>
    }
}
