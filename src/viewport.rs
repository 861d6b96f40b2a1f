//! Long lists drawn in part: of a list of rows of one height in a scroll area, only those in
//! view and a margin either side are in the page, and spacers stand in for the others, so the
//! scroll bar and every row's place are the whole list's. A thousand history rows then cost
//! the page some fifty rows' elements, whatever was loaded.

use leptos::html::Div;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Rows drawn past each edge of the view: scrolling a little, or Tab to the next row's
/// button, lands on rows already drawn while the page catches up.
pub const MARGIN: usize = 10;

/// Where a scroll area stands, in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    /// Scrolled from the top of the list.
    pub top: f64,
    /// Of the list in view at most.
    pub height: f64,
    /// One row's height.
    pub row: f64,
}

/// The rows to draw: `start..end` of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    pub start: usize,
    pub end: usize,
}

impl Viewport {
    /// Before the scroll area is measured: a tall window's worth of rows, unscrolled.
    pub const UNMEASURED: Viewport = Viewport {
        top: 0.0,
        height: 1000.0,
        row: 36.0,
    };

    /// The rows of a list of `total` to draw. Scrolled past the end of a list that just got
    /// shorter, the last rows: where the browser's scroll comes back to.
    pub fn slice(&self, total: usize) -> Slice {
        let row = self.row.max(1.0);
        let in_view = ((self.height.max(0.0) / row).ceil() as usize).saturating_add(1);
        let first = ((self.top.max(0.0) / row) as usize).min(total.saturating_sub(in_view));
        let start = first.saturating_sub(MARGIN).min(total);
        let end = (first.saturating_add(in_view).saturating_add(MARGIN)).clamp(start, total);
        Slice { start, end }
    }

    /// How tall a spacer standing for `rows` rows is, as a CSS `height`.
    pub fn spacer(&self, rows: usize) -> String {
        let pixels = (rows as f64 * self.row).round() as u64;
        ["height:", &pixels.to_string(), "px"].concat()
    }

    /// Reads the scroll area `area`, whose drawn rows match `row_selector`. A row's height is
    /// from the top of one to the next (gaps count); a list with no row drawn keeps that of
    /// `previous`.
    pub fn read(area: &web_sys::Element, row_selector: &str, previous: Viewport) -> Viewport {
        let rows = area.query_selector_all(row_selector).ok();
        let top = |index| {
            (rows.as_ref().and_then(|rows| rows.item(index)))
                .and_then(|row| row.dyn_into::<web_sys::HtmlElement>().ok())
                .map(|row| (f64::from(row.offset_top()), f64::from(row.offset_height())))
        };
        let row = match (top(0), top(1)) {
            (Some((first, _)), Some((second, _))) => second - first,
            (Some((_, height)), None) => height,
            _ => previous.row,
        };
        let row = if row > 0.0 { row } else { previous.row };
        // The window's height, not the area's: an area read while its list was still short
        // grows with its rows, and must not leave its lower part blank until a scroll.
        let window_height = (web_sys::window().and_then(|w| w.inner_height().ok()))
            .and_then(|height| height.as_f64());
        Viewport {
            // Whole rows: scrolling within a row draws nothing anew.
            top: (f64::from(area.scroll_top()) / row).floor() * row,
            height: window_height.unwrap_or(Viewport::UNMEASURED.height),
            row,
        }
    }
}

/// How drawn rows tell screen readers, which see only them, their places in the whole list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Places {
    /// `aria-rowindex`, from 2: the table's header is row 1.
    TableRows,
    /// `aria-posinset` from 1, and `aria-setsize`.
    ListItems,
}

impl Places {
    /// The attribute with a row's place, and its value for the row at `index` of the list.
    pub fn place(self, index: usize) -> (&'static str, usize) {
        match self {
            Places::TableRows => ("aria-rowindex", index + 2),
            Places::ListItems => ("aria-posinset", index + 1),
        }
    }

    /// The attribute with the list's length on each row, where the role has one.
    fn size(self) -> Option<&'static str> {
        match self {
            Places::TableRows => None,
            Places::ListItems => Some("aria-setsize"),
        }
    }
}

/// A scroll area (`area`, a `<div>`) that draws only its rows in view: give it
/// `on:scroll=move |_| window.scrolled()`, draw [`ScrollWindow::drawn`] between spacers of
/// [`ScrollWindow::before`] and [`ScrollWindow::after`], each row with its place
/// ([`Places::place`], and the list's length for list items) as it is drawn. The rows kept have theirs set again once a change is drawn.
#[derive(Clone, Copy)]
pub struct ScrollWindow {
    pub area: NodeRef<Div>,
    viewport: RwSignal<Viewport>,
    /// Matches the drawn rows (not the spacers).
    rows: &'static str,
    places: Places,
    /// The list's length at its last change.
    total: StoredValue<usize>,
    /// A frame is asked for: the changes until then are seen to by that one.
    frame_asked: StoredValue<bool>,
    /// The list's length when the area was last measured after a change: reading the layout
    /// at each of a busy list's changes cost the page tasks over 50 ms.
    measured_length: StoredValue<Option<usize>>,
}

impl ScrollWindow {
    /// Measured once the area is in the page, once each change of the list (`list`, which
    /// gives its length) is drawn (the first rows drawn give the rows' height), and whenever
    /// the window's size changes.
    pub fn new(
        rows: &'static str,
        places: Places,
        list: impl Fn() -> usize + 'static,
    ) -> ScrollWindow {
        let window = ScrollWindow {
            area: NodeRef::new(),
            viewport: RwSignal::new(Viewport::UNMEASURED),
            rows,
            places,
            total: StoredValue::new(0),
            frame_asked: StoredValue::new(false),
            measured_length: StoredValue::new(None),
        };
        Effect::new(move |_| {
            window.total.set_value(list());
            if window.area.get().is_some() {
                window.once_drawn();
            }
        });
        let resized = window_event_listener(leptos::ev::resize, move |_| window.measure());
        on_cleanup(move || resized.remove());
        window
    }

    /// After a scroll: draws the rows now in view, and numbers them once drawn.
    pub fn scrolled(self) {
        self.measure();
        self.once_drawn();
    }

    /// In the next frame, once what changed is drawn: measures the area if the list's length
    /// changed, and sets the places of the rows drawn. One frame for any number of changes
    /// before it.
    fn once_drawn(self) {
        if self.frame_asked.get_value() {
            return;
        }
        self.frame_asked.set_value(true);
        request_animation_frame(move || {
            self.frame_asked.set_value(false);
            let length = Some(self.total.get_value());
            if self.measured_length.get_value() != length {
                self.measured_length.set_value(length);
                self.measure();
            }
            self.number_rows();
        });
    }

    /// Scrolls the area back to its first row (a new list).
    pub fn to_top(self) {
        if let Some(area) = self.area.get_untracked() {
            area.set_scroll_top(0);
        }
    }

    /// Reads where the area stands.
    fn measure(self) {
        if let Some(area) = self.area.get_untracked() {
            let previous = self.viewport.get_untracked();
            let now = Viewport::read(&area, self.rows, previous);
            if now != previous {
                self.viewport.set(now);
            }
        }
    }

    /// The rows of `list` to draw, with their places in it.
    pub fn drawn<T: Clone>(self, list: &[T]) -> Vec<(usize, T)> {
        let Slice { start, end } = self.viewport.get().slice(list.len());
        (start..end).zip(list[start..end].iter().cloned()).collect()
    }

    /// Sets the places of the rows drawn: those kept through a change have moved.
    fn number_rows(self) {
        let Some(rows) =
            (self.area.get_untracked()).and_then(|area| area.query_selector_all(self.rows).ok())
        else {
            return;
        };
        let total = self.total.get_value();
        let start = self.viewport.get_untracked().slice(total).start;
        for (at, row) in (0..rows.length())
            .filter_map(|at| rows.item(at))
            .enumerate()
        {
            if let Some(row) = row.dyn_ref::<web_sys::Element>() {
                let (attribute, place) = self.places.place(start + at);
                set_changed(row, attribute, place);
                if let Some(size) = self.places.size() {
                    set_changed(row, size, total);
                }
            }
        }
    }

    /// The `style` of the spacer above the drawn rows of a list of `total`.
    pub fn before(self, total: usize) -> String {
        let viewport = self.viewport.get();
        viewport.spacer(viewport.slice(total).start)
    }

    /// The `style` of the spacer below the drawn rows of a list of `total`.
    pub fn after(self, total: usize) -> String {
        let viewport = self.viewport.get();
        viewport.spacer(total - viewport.slice(total).end)
    }
}

/// Sets `attribute` to `value` unless it has it already: a write restyles the row.
fn set_changed(row: &web_sys::Element, attribute: &str, value: usize) {
    let value = value.to_string();
    if row.get_attribute(attribute).as_deref() != Some(value.as_str()) {
        let _ = row.set_attribute(attribute, &value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(top: f64) -> Viewport {
        Viewport {
            top,
            height: 400.0,
            row: 40.0,
        }
    }

    #[test]
    fn the_rows_in_view_and_a_margin_either_side_are_drawn() {
        // Rows 50..60 are in view (and part of row 60).
        assert_eq!(
            at(2000.0).slice(1000),
            Slice {
                start: 50 - MARGIN,
                end: 61 + MARGIN
            }
        );
        // Half a row scrolled: row 50 is still partly in view.
        assert_eq!(at(2020.0).slice(1000).start, 50 - MARGIN);
    }

    #[test]
    fn the_slice_stays_within_the_list() {
        assert_eq!(
            at(0.0).slice(1000),
            Slice {
                start: 0,
                end: 11 + MARGIN
            }
        );
        assert_eq!(at(0.0).slice(3), Slice { start: 0, end: 3 });
        assert_eq!(at(0.0).slice(0), Slice { start: 0, end: 0 });
        // Scrolled past the end of a list that just got shorter (a narrower filter): its
        // last rows, where the browser brings the scroll back.
        assert_eq!(at(1e6).slice(20), Slice { start: 0, end: 20 });
        assert_eq!(
            at(1e6).slice(100),
            Slice {
                start: 89 - MARGIN,
                end: 100
            }
        );
        assert_eq!(
            at(39_600.0).slice(1000),
            Slice {
                start: 989 - MARGIN,
                end: 1000
            }
        );
    }

    #[test]
    fn odd_readings_draw_from_the_top_without_panicking() {
        for viewport in [
            Viewport {
                top: -50.0,
                ..at(0.0)
            },
            Viewport {
                row: 0.0,
                ..at(0.0)
            },
            Viewport {
                top: f64::NAN,
                height: f64::NAN,
                row: f64::NAN,
            },
            Viewport {
                height: f64::INFINITY,
                ..at(0.0)
            },
        ] {
            let slice = viewport.slice(100);
            assert_eq!(slice.start, 0, "{viewport:?}");
            assert!(slice.end <= 100, "{viewport:?}");
        }
    }

    #[test]
    fn spacers_stand_for_the_rows_left_out() {
        let viewport = at(2000.0);
        let slice = viewport.slice(1000);
        assert_eq!(viewport.spacer(slice.start), "height:1600px");
        assert_eq!(viewport.spacer(1000 - slice.end), "height:37160px");
        assert_eq!(viewport.spacer(0), "height:0px");
    }
}
