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

/// A scroll area (`area`, a `<div>`) that draws only its rows in view: give it
/// `on:scroll=move |_| window.measure()`, draw [`ScrollWindow::drawn`] between spacers of
/// [`ScrollWindow::before`] and [`ScrollWindow::after`].
#[derive(Clone, Copy)]
pub struct ScrollWindow {
    pub area: NodeRef<Div>,
    viewport: RwSignal<Viewport>,
    /// Matches the drawn rows (not the spacers).
    rows: &'static str,
}

impl ScrollWindow {
    /// Measured once the area is in the page, after each change of the list's length
    /// (`total`: the first rows drawn give the rows' height), and whenever the window's size
    /// changes.
    pub fn new(rows: &'static str, total: impl Fn() -> usize + 'static) -> ScrollWindow {
        let window = ScrollWindow {
            area: NodeRef::new(),
            viewport: RwSignal::new(Viewport::UNMEASURED),
            rows,
        };
        Effect::new(move |_| {
            total();
            if window.area.get().is_some() {
                // Once the rows of this change are drawn.
                request_animation_frame(move || window.measure());
            }
        });
        let resized = window_event_listener(leptos::ev::resize, move |_| window.measure());
        on_cleanup(move || resized.remove());
        window
    }

    /// Scrolls the area back to its first row (a new list).
    pub fn to_top(self) {
        if let Some(area) = self.area.get_untracked() {
            area.set_scroll_top(0);
        }
    }

    /// Reads where the area stands (after a scroll).
    pub fn measure(self) {
        if let Some(area) = self.area.get_untracked() {
            let previous = self.viewport.get_untracked();
            let now = Viewport::read(&area, self.rows, previous);
            if now != previous {
                self.viewport.set(now);
            }
        }
    }

    /// The rows of a list of `total` to draw.
    pub fn slice(self, total: usize) -> Slice {
        self.viewport.get().slice(total)
    }

    /// The rows of `list` to draw, with their places in it.
    pub fn drawn<T: Clone>(self, list: &[T]) -> Vec<(usize, T)> {
        let Slice { start, end } = self.slice(list.len());
        (start..end).zip(list[start..end].iter().cloned()).collect()
    }

    /// Sets `attribute` of the rows drawn to their places, counting from `first`.
    pub fn number_rows(self, attribute: &str, first: usize) {
        let Some(rows) =
            (self.area.get_untracked()).and_then(|area| area.query_selector_all(self.rows).ok())
        else {
            return;
        };
        for (at, row) in (0..rows.length())
            .filter_map(|at| rows.item(at))
            .enumerate()
        {
            if let Some(row) = row.dyn_ref::<web_sys::Element>() {
                let _ = row.set_attribute(attribute, &(first + at).to_string());
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
