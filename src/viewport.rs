//! Long lists drawn in part: of a list of rows of one height in a scroll area, only those in
//! view and a margin either side are in the page, and spacers stand in for the others, so the
//! scroll bar and every row's place are the whole list's. A thousand history rows then cost
//! the page some fifty rows' elements, whatever was loaded.

use wasm_bindgen::JsCast;

/// Rows drawn past each edge of the view: scrolling a little, or Tab to the next row's
/// button, lands on rows already drawn while the page catches up.
pub const MARGIN: usize = 15;

/// Where a scroll area stands, in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    /// Scrolled from the top of the list.
    pub top: f64,
    /// Of the list in view.
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
    /// Before the scroll area is measured: a tall screen's worth of rows, unscrolled.
    pub const UNMEASURED: Viewport = Viewport {
        top: 0.0,
        height: 1000.0,
        row: 36.0,
    };

    /// The rows of a list of `total` to draw.
    pub fn slice(&self, total: usize) -> Slice {
        let row = self.row.max(1.0);
        let first = (self.top.max(0.0) / row) as usize;
        let in_view = (self.height.max(0.0) / row).ceil() as usize + 1;
        let start = first.saturating_sub(MARGIN).min(total);
        let end = (first.saturating_add(in_view).saturating_add(MARGIN)).clamp(start, total);
        Slice { start, end }
    }

    /// How tall a spacer standing for `rows` rows is, as a CSS `height`.
    pub fn spacer(&self, rows: usize) -> String {
        let pixels = (rows as f64 * self.row).round() as u64;
        ["height:", &pixels.to_string(), "px"].concat()
    }

    /// Reads the scroll area `area`, whose drawn rows match `row_selector`; a list with no row
    /// drawn keeps the row height of `previous`.
    pub fn read(area: &web_sys::Element, row_selector: &str, previous: Viewport) -> Viewport {
        let row = (area.query_selector(row_selector).ok().flatten())
            .and_then(|row| row.dyn_into::<web_sys::HtmlElement>().ok())
            .map(|row| f64::from(row.offset_height()))
            .filter(|&height| height > 0.0)
            .unwrap_or(previous.row);
        Viewport {
            top: f64::from(area.scroll_top()),
            height: f64::from(area.client_height()),
            row,
        }
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
        // Scrolled past the end of a list that just got shorter (a narrower filter).
        assert_eq!(at(1e6).slice(20), Slice { start: 20, end: 20 });
        assert_eq!(
            at(39_600.0).slice(1000),
            Slice {
                start: 990 - MARGIN,
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
        assert_eq!(viewport.spacer(slice.start), "height:1400px");
        assert_eq!(viewport.spacer(1000 - slice.end), "height:36960px");
        assert_eq!(viewport.spacer(0), "height:0px");
    }
}
