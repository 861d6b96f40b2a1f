//! A uniform grid over items' bounding boxes: the spatial index of the zone and jam detectors.
//!
//! The grid covers the union of the boxes with `side × side` cells; each cell lists, in
//! ascending order, the items whose (closed) box meets it. A point's candidates are its cell's
//! items: every item whose box contains the point is among them, so testing only the candidates,
//! in their order, finds what testing every item in order would. Points outside the union (or
//! NaN) have no candidates.

/// An axis-aligned box, `min` and `max` corners included. Empty when `min` exceeds `max` on an
/// axis (or a coordinate is NaN).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub min: [f64; 2],
    pub max: [f64; 2],
}

impl Rect {
    /// The smallest box around the points; empty without points.
    pub fn around(points: impl IntoIterator<Item = [f64; 2]>) -> Rect {
        let empty = Rect {
            min: [f64::INFINITY; 2],
            max: [f64::NEG_INFINITY; 2],
        };
        points.into_iter().fold(empty, |rect, [x, y]| Rect {
            min: [rect.min[0].min(x), rect.min[1].min(y)],
            max: [rect.max[0].max(x), rect.max[1].max(y)],
        })
    }

    /// The box enlarged by `margin` on every side.
    pub fn grown(self, margin: f64) -> Rect {
        Rect {
            min: self.min.map(|v| v - margin),
            max: self.max.map(|v| v + margin),
        }
    }

    pub fn is_empty(&self) -> bool {
        !(self.min[0] <= self.max[0] && self.min[1] <= self.max[1])
    }
}

/// The items (by index) whose box meets each cell, flattened: cell `c` lists
/// `items[starts[c]..starts[c + 1]]`.
#[derive(Debug)]
pub struct Grid {
    side: usize,
    min: [f64; 2],
    cell: [f64; 2],
    starts: Vec<usize>,
    items: Vec<usize>,
}

impl Grid {
    /// A grid of `side × side` cells (at least one) over the union of `boxes`, indexing each box
    /// by its position in `boxes`. Empty boxes are never candidates.
    pub fn new(boxes: &[Rect], side: usize) -> Grid {
        let side = side.max(1);
        let extent = Rect::around(
            boxes
                .iter()
                .filter(|rect| !rect.is_empty())
                .flat_map(|rect| [rect.min, rect.max]),
        );
        // A degenerate extent (no boxes, or a flat one) still gets cells of a usable size.
        let cell = [0, 1]
            .map(|axis| ((extent.max[axis] - extent.min[axis]) / side as f64).max(f64::EPSILON));
        let mut grid = Grid {
            side,
            min: extent.min,
            cell,
            starts: vec![0; side * side + 1],
            items: Vec::new(),
        };
        // Count each cell's items, then place them, item by item so each cell's list ascends.
        for rect in boxes {
            for cell in grid.cells_meeting(rect) {
                grid.starts[cell + 1] += 1;
            }
        }
        for cell in 0..side * side {
            grid.starts[cell + 1] += grid.starts[cell];
        }
        let mut next = grid.starts.clone();
        grid.items = vec![0; grid.starts[side * side]];
        for (item, rect) in boxes.iter().enumerate() {
            for cell in grid.cells_meeting(rect) {
                grid.items[next[cell]] = item;
                next[cell] += 1;
            }
        }
        grid
    }

    /// The items whose box may contain the point, in ascending order: all of those whose box
    /// does, and none outside the grid.
    pub fn candidates(&self, [x, y]: [f64; 2]) -> &[usize] {
        match (self.axis(x, 0), self.axis(y, 1)) {
            (Some(column), Some(row)) => {
                let cell = row * self.side + column;
                &self.items[self.starts[cell]..self.starts[cell + 1]]
            }
            _ => &[],
        }
    }

    /// The cells a box meets (none if it is empty).
    fn cells_meeting(&self, rect: &Rect) -> impl Iterator<Item = usize> {
        // Every box lies within the extent, so both ends have a cell; the fallbacks only keep
        // a box that rounding pushed past an edge in the grid.
        let span = |axis| {
            let first = self.axis(rect.min[axis], axis).unwrap_or(0);
            let last = self.axis(rect.max[axis], axis).unwrap_or(self.side - 1);
            first..=last
        };
        let (columns, rows) = (span(0), span(1));
        let (side, empty) = (self.side, rect.is_empty());
        rows.filter(move |_| !empty)
            .flat_map(move |row| columns.clone().map(move |column| row * side + column))
    }

    /// The cell along one axis; `None` beyond the extent (or for NaN). Monotonic, so a point
    /// inside a box falls between the cells of the box's corners. Cell `i` spans
    /// `[min + i·cell, min + (i+1)·cell)`, the last one its far edge too.
    fn axis(&self, value: f64, axis: usize) -> Option<usize> {
        let index = ((value - self.min[axis]) / self.cell[axis]).floor();
        (0.0..=self.side as f64)
            .contains(&index)
            .then(|| (index as usize).min(self.side - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn unit(x: f64, y: f64) -> Rect {
        Rect {
            min: [x, y],
            max: [x + 1.0, y + 1.0],
        }
    }

    #[test]
    fn points_outside_the_boxes_extent_have_no_candidates() {
        let grid = Grid::new(&[unit(0.0, 0.0), unit(3.0, 3.0)], 4);
        for point in [
            [-0.001, 2.0],
            [4.001, 2.0],
            [2.0, -0.001],
            [2.0, 4.001],
            [-1e300, 1e300],
            [f64::NAN, 2.0],
            [2.0, f64::NAN],
            [f64::INFINITY, 2.0],
            [2.0, f64::NEG_INFINITY],
        ] {
            assert_eq!(grid.candidates(point), [] as [usize; 0], "at {point:?}");
        }
        // The extent's corners are in it.
        assert_eq!(grid.candidates([0.0, 0.0]), [0]);
        assert_eq!(grid.candidates([4.0, 4.0]), [1]);
    }

    #[test]
    fn a_box_ending_on_a_cell_border_is_listed_on_both_sides() {
        // Side 2 over [0, 2] × [0, 1]: the cells' border is x = 1, where both boxes meet.
        let grid = Grid::new(&[unit(0.0, 0.0), unit(1.0, 0.0)], 2);
        assert_eq!(grid.candidates([0.5, 0.5]), [0]);
        assert_eq!(grid.candidates([1.0, 0.5]), [0, 1]);
        assert_eq!(grid.candidates([1.0, 1.0]), [0, 1]);
        assert_eq!(grid.candidates([1.5, 0.0]), [0, 1]);
        assert_eq!(grid.candidates([2.0, 1.0]), [0, 1]);
    }

    #[test]
    fn empty_flat_and_missing_boxes() {
        assert_eq!(Grid::new(&[], 8).candidates([0.0, 0.0]), [] as [usize; 0]);
        let nothing = Rect::around([]);
        assert!(nothing.is_empty());
        let nan = Rect {
            min: [f64::NAN, 0.0],
            max: [1.0, 1.0],
        };
        // A single point and a horizontal line: a flat extent still has cells.
        let point = Rect::around([[2.0, 5.0]]);
        let line = Rect::around([[2.0, 5.0], [4.0, 5.0]]);
        let grid = Grid::new(&[nothing, point, nan, line, unit(0.0, 0.0).grown(-1.0)], 16);
        assert_eq!(grid.candidates([2.0, 5.0]), [1, 3]);
        assert_eq!(grid.candidates([4.0, 5.0]), [3]);
        assert_eq!(grid.candidates([3.0, 5.0 + 1e-9]), [] as [usize; 0]);
        // A side of 0 is taken as 1: one cell listing everything.
        let grid = Grid::new(&[unit(0.0, 0.0), unit(5.0, 5.0)], 0);
        assert_eq!(grid.candidates([3.0, 3.0]), [0, 1]);
    }

    #[test]
    fn the_candidates_hold_every_box_containing_the_point_in_order() {
        let mut rng = StdRng::seed_from_u64(11);
        let boxes: Vec<Rect> = (0..300)
            .map(|_| {
                let (x, y) = (rng.random_range(-50.0..50.0), rng.random_range(-20.0..20.0));
                let (w, h) = (rng.random_range(0.0..8.0), rng.random_range(0.0..3.0));
                Rect::around([[x, y], [x + w, y + h]])
            })
            .collect();
        for side in [1, 7, 64] {
            let grid = Grid::new(&boxes, side);
            for _ in 0..20_000 {
                let point = [rng.random_range(-70.0..70.0), rng.random_range(-30.0..30.0)];
                // Some points exactly on a box's edge or corner.
                let point = match rng.random_range(0..4) {
                    0 => boxes[rng.random_range(0..boxes.len())].max,
                    1 => [boxes[rng.random_range(0..boxes.len())].min[0], point[1]],
                    _ => point,
                };
                let candidates = grid.candidates(point);
                assert!(candidates.windows(2).all(|pair| pair[0] < pair[1]));
                for (item, rect) in boxes.iter().enumerate() {
                    let inside = (0..2).all(|a| rect.min[a] <= point[a] && point[a] <= rect.max[a]);
                    assert!(
                        !inside || candidates.contains(&item),
                        "box {item} {rect:?} contains {point:?}, side {side}"
                    );
                }
            }
        }
    }
}
