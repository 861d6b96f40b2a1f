//! The page's parts, one component per file.

pub mod chat;
pub mod drawer;
pub mod history;
pub mod live;
pub mod login;
pub mod map;
pub mod open_incidents;
pub mod presence;
pub mod rooms;
pub mod roster;
pub mod status;
pub mod theme;

use std::hash::Hash;
use std::time::Duration;

use leptos::prelude::*;

/// A one-line message (loading, empty, error, note): one view type for all the panes, since
/// every distinct view shape adds its own code to the wasm.
pub fn message(class: &'static str, text: String) -> impl IntoView {
    view! { <p class=class>{text}</p> }
}

/// Rows [`rows`] builds between two rebuilds of its list.
const ROWS_PER_REBUILD: u32 = 1000;

/// Leptos's `<For>`, rebuilt after every [`ROWS_PER_REBUILD`] rows it has built. `<For>` makes
/// each row's reactive owner a child of its own, and an owner keeps its children (about 100
/// bytes each, even once dropped) until it is itself cleaned up (reactive_graph 0.2.16,
/// `Owner::new`): with a row per live event, the wasm memory grew by 1.4 MB a minute at 100
/// events/s. A rebuild lets them all go, at the cost of drawing the shown rows once more. A
/// row's element that had the keyboard focus has it again after a redraw (`focus`).
pub fn rows<T, I, K, N>(
    each: impl Fn() -> I + Send + Sync + Clone + 'static,
    key: impl Fn(&T) -> K + Send + Sync + Clone + 'static,
    row: impl Fn(T) -> N + Send + Sync + Clone + 'static,
) -> impl IntoView
where
    I: IntoIterator<Item = T> + Send + 'static,
    K: Eq + Hash + 'static,
    T: Send + 'static,
    N: IntoView + 'static,
{
    let built = StoredValue::new(0u32);
    let generation = RwSignal::new(0u32);
    let each = move || {
        crate::focus::keep_through_redraw();
        each()
    };
    move || {
        generation.track();
        built.set_value(0);
        let row = row.clone();
        let counted = move |item: T| {
            built.update_value(|n| *n += 1);
            if built.get_value() == ROWS_PER_REBUILD {
                // Not while the list is being drawn: on the next task.
                set_timeout(move || generation.update(|g| *g += 1), Duration::ZERO);
            }
            row(item)
        };
        view! { <For each=each.clone() key=key.clone() children=counted /> }
    }
}
