//! Keyboard focus across redrawn rows. The live lists draw a row anew when its incident changes
//! (a row that updated itself would keep its subscriptions for ever, `components::rows`), and
//! a focused element taken out of the page takes the focus with it, to the page's body: a
//! keyboard reader on an open incident would lose their place at its next update. So the
//! elements of such rows carry `data-focus-key`, unique in the page, and after a redraw the
//! focus goes back to the element with the key that had it.

use leptos::prelude::document;
use leptos::tachys::renderer::dom::queue_microtask;
use wasm_bindgen::JsCast;

const KEY: &str = "data-focus-key";

/// The focus key of the focused element, if it has one.
pub fn focused_key() -> Option<String> {
    document().active_element()?.get_attribute(KEY)
}

/// Once the redraw under way is done, gives the focus back to the element keyed as the one
/// that has it now, if the focus was lost meanwhile; to its scroll area (`data-focus-area`)
/// when the redraw left it out, scrolled out of a long list's drawn rows.
pub fn keep_through_redraw() {
    let Some(active) = document().active_element() else {
        return;
    };
    let Some(key) = active.get_attribute(KEY) else {
        return;
    };
    let area = active.closest("[data-focus-area]").ok().flatten();
    queue_microtask(move || {
        if lost() && !focus(&key) {
            if let Some(area) = area.and_then(|a| a.dyn_into::<web_sys::HtmlElement>().ok()) {
                let _ = area.focus();
            }
        }
    });
}

/// Once the redraw under way is done, moves the focus to the element keyed `key`.
pub fn move_after_redraw(key: String) {
    queue_microtask(move || {
        focus(&key);
    });
}

/// Whether the focus is nowhere: on the body, where a focused element taken out leaves it.
fn lost() -> bool {
    let document = document();
    match document.active_element() {
        None => true,
        Some(active) => {
            let on_body = document
                .body()
                .is_some_and(|body| body.is_same_node(Some(&active)));
            on_body || !active.is_connected()
        }
    }
}

/// Focuses the element keyed `key` (a button, or an SVG map marker); false when the page has
/// none. The keys hold incident ids from the network, so they are compared, never put in a
/// selector.
pub fn focus(key: &str) -> bool {
    let Ok(keyed) = document().query_selector_all("[data-focus-key]") else {
        return false;
    };
    let Some(element) = (0..keyed.length())
        .filter_map(|i| keyed.item(i))
        .filter_map(|node| node.dyn_into::<web_sys::Element>().ok())
        .find(|element| element.get_attribute(KEY).as_deref() == Some(key))
    else {
        return false;
    };
    if let Some(html) = element.dyn_ref::<web_sys::HtmlElement>() {
        html.focus().is_ok()
    } else if let Some(svg) = element.dyn_ref::<web_sys::SvgElement>() {
        svg.focus().is_ok()
    } else {
        false
    }
}
