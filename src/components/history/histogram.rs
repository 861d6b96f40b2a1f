//! Incidents opened per time bucket, stacked by kind, in SVG. The bucket follows the data: the
//! first answer's extent decides whether a finer bucket is worth a second look.

use leptos::prelude::*;
use time::{Duration, OffsetDateTime};
use vigie_model::event::format_time;
use vigie_model::EventKind;

use crate::api::BucketCount;
use crate::components::live::kind_label;
use vigie_model::number::fixed;

/// The API's time buckets (`/api/v1/stats?bucket=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bucket {
    Minute,
    Hour,
    Day,
}

/// Most bars a chart draws with empty buckets filled in; past that only non-empty ones show.
const MAX_FILLED_BARS: i64 = 5000;

impl Bucket {
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Minute => "minute",
            Bucket::Hour => "hour",
            Bucket::Day => "day",
        }
    }

    pub fn width(self) -> Duration {
        match self {
            Bucket::Minute => Duration::MINUTE,
            Bucket::Hour => Duration::HOUR,
            Bucket::Day => Duration::DAY,
        }
    }

    /// The finest bucket that draws `span` in a few hundred bars at most.
    pub fn for_span(span: Duration) -> Bucket {
        if span <= Duration::hours(6) {
            Bucket::Minute
        } else if span <= Duration::days(14) {
            Bucket::Hour
        } else {
            Bucket::Day
        }
    }

    /// The bucket to ask for first: from the filter's range when it has both ends, else days,
    /// which any range fits (then [`Bucket::refined`] narrows it to the data).
    pub fn for_range(from: Option<OffsetDateTime>, to: Option<OffsetDateTime>) -> Bucket {
        match (from, to) {
            (Some(from), Some(to)) => Bucket::for_span(to - from),
            _ => Bucket::Day,
        }
    }

    /// A finer bucket when the counts, read in `self`, span little enough for it.
    pub fn refined(self, counts: &[BucketCount]) -> Option<Bucket> {
        let first = counts.iter().map(|c| c.start).min()?;
        let last = counts.iter().map(|c| c.start).max()?;
        let finer = Bucket::for_span(last - first + self.width());
        (finer < self).then_some(finer)
    }

    /// How a bucket's start reads on the chart.
    fn label(self, start: OffsetDateTime) -> String {
        let text = format_time(start);
        match self {
            Bucket::Day => text[..10].to_owned(),
            Bucket::Minute | Bucket::Hour => text[..16].replacen('T', " ", 1),
        }
    }
}

/// One bucket: its start and the count of each kind, in [`EventKind::ALL`]'s order.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub start: OffsetDateTime,
    pub counts: [u64; 4],
}

impl Bar {
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// The chart's model: one bar per bucket from the first to the last counted, and the height the
/// axis reaches (a round number at or above the tallest bar).
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    pub bucket: Bucket,
    pub bars: Vec<Bar>,
    pub scale: u64,
}

impl Histogram {
    pub fn new(bucket: Bucket, counts: &[BucketCount]) -> Histogram {
        let mut bars: Vec<Bar> = Vec::new();
        let first = counts.iter().map(|c| c.start).min();
        let last = counts.iter().map(|c| c.start).max();
        if let (Some(first), Some(last)) = (first, last) {
            let slots = (last - first).whole_seconds() / bucket.width().whole_seconds() + 1;
            if slots <= MAX_FILLED_BARS {
                bars = (0..slots)
                    .map(|i| Bar {
                        start: first + bucket.width() * i as i32,
                        counts: [0; 4],
                    })
                    .collect();
            }
        }
        for count in counts {
            let at = match bars.binary_search_by_key(&count.start, |bar| bar.start) {
                Ok(at) => at,
                Err(at) => {
                    bars.insert(
                        at,
                        Bar {
                            start: count.start,
                            counts: [0; 4],
                        },
                    );
                    at
                }
            };
            bars[at].counts[kind_index(count.kind)] += count.count;
        }
        let tallest = bars.iter().map(Bar::total).max().unwrap_or(0);
        Histogram {
            bucket,
            bars,
            scale: nice_ceiling(tallest),
        }
    }

    pub fn total(&self) -> u64 {
        self.bars.iter().map(Bar::total).sum()
    }
}

fn kind_index(kind: EventKind) -> usize {
    EventKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("every kind is in ALL")
}

/// The smallest 1, 2 or 5 × 10ⁿ at or above `n` (at least 1), so the axis reads well.
pub fn nice_ceiling(n: u64) -> u64 {
    let mut power = 1u64;
    loop {
        for step in [1u64, 2, 5] {
            // Saturates to u64::MAX, which is at or above any n: the loop ends.
            let candidate = step.saturating_mul(power);
            if candidate >= n {
                return candidate;
            }
        }
        power = power.saturating_mul(10);
    }
}

/// The height of `count` on an axis reaching `scale` at `height`.
pub fn scaled(count: u64, scale: u64, height: f64) -> f64 {
    if scale == 0 {
        0.0
    } else {
        count as f64 / scale as f64 * height
    }
}

const CHART_WIDTH: f64 = 1000.0;
const CHART_HEIGHT: f64 = 200.0;
const AXIS: f64 = 44.0;
const BASELINE: f64 = CHART_HEIGHT - 24.0;
const TOP: f64 = 8.0;

/// The stacked bars with their axis, labels and a legend; each bar's tooltip gives its counts.
/// The caller shows a message instead when there are no bars.
#[component]
pub fn HistogramChart(histogram: Histogram) -> impl IntoView {
    let bucket = histogram.bucket;
    let label = |bar: Option<&Bar>| bar.map(|bar| bucket.label(bar.start)).unwrap_or_default();
    let (first, last) = (label(histogram.bars.first()), label(histogram.bars.last()));
    let plot_height = BASELINE - TOP;
    let step = (CHART_WIDTH - AXIS) / histogram.bars.len() as f64;
    let gap = if step > 4.0 { step * 0.15 } else { 0.0 };
    let scale = histogram.scale;
    let bars = histogram
        .bars
        .iter()
        .enumerate()
        .filter(|(_, bar)| bar.total() > 0)
        .map(|(i, bar)| {
            let x = AXIS + i as f64 * step + gap / 2.0;
            let mut y = BASELINE;
            let rects = EventKind::ALL
                .iter()
                .zip(bar.counts)
                .filter(|(_, count)| *count > 0)
                .map(|(kind, count)| {
                    let h = scaled(count, scale, plot_height);
                    y -= h;
                    view! {
                        <rect class=format!("bar {}", kind.as_str()) x=fixed(x, 2) y=fixed(y, 2)
                            width=fixed(step - gap, 2) height=fixed(h, 2) />
                    }
                })
                .collect_view();
            let detail = EventKind::ALL
                .iter()
                .zip(bar.counts)
                .filter(|(_, count)| *count > 0)
                .map(|(kind, count)| format!("{} {count}", kind_label(*kind)))
                .collect::<Vec<_>>()
                .join(", ");
            let title = format!("{}: {} ({detail})", bucket.label(bar.start), bar.total());
            view! { <g><title>{title}</title>{rects}</g> }
        })
        .collect_view();
    let summary = format!(
        "{} incidents per {} from {first} to {last}, stacked by kind; the tallest bar reaches at most {scale}",
        histogram.total(),
        bucket.as_str(),
    );
    let legend = EventKind::ALL
        .iter()
        .map(|kind| view! { <li><span class=format!("swatch {}", kind.as_str())></span>{kind_label(*kind)}</li> })
        .collect_view();
    view! {
        <figure class="histogram" data-testid="histogram" data-bucket=bucket.as_str()>
            <svg viewBox=["0 0 ", &fixed(CHART_WIDTH, 0), " ", &fixed(CHART_HEIGHT, 0)].concat() role="img" aria-label=summary.clone()>
                <line class="axis" x1=fixed(AXIS, 0) y1=fixed(BASELINE, 0) x2=fixed(CHART_WIDTH, 0) y2=fixed(BASELINE, 0) />
                <line class="grid" x1=fixed(AXIS, 0) y1=fixed(TOP, 0) x2=fixed(CHART_WIDTH, 0) y2=fixed(TOP, 0) />
                <text class="tick" x=fixed(AXIS - 6.0, 0) y=fixed(TOP + 5.0, 0) text-anchor="end">{scale.to_string()}</text>
                <text class="tick" x=fixed(AXIS - 6.0, 0) y=fixed(BASELINE, 0) text-anchor="end">"0"</text>
                {bars}
                <text class="tick" x=fixed(AXIS, 0) y=fixed(CHART_HEIGHT - 4.0, 0)>{first}</text>
                <text class="tick" x=fixed(CHART_WIDTH, 0) y=fixed(CHART_HEIGHT - 4.0, 0) text-anchor="end">{last}</text>
            </svg>
            <figcaption>
                <span>{format!("Incidents opened per {}", bucket.as_str())}</span>
                <ul class="legend">{legend}</ul>
            </figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn count(start: OffsetDateTime, kind: EventKind, count: u64) -> BucketCount {
        BucketCount { start, kind, count }
    }

    #[test]
    fn the_bucket_follows_the_range() {
        let now = Some(datetime!(2026-11-22 12:00 UTC));
        let ago = |span: Duration| now.map(|now| now - span);
        assert_eq!(Bucket::for_range(None, None), Bucket::Day);
        assert_eq!(Bucket::for_range(ago(Duration::HOUR), None), Bucket::Day);
        assert_eq!(Bucket::for_range(None, now), Bucket::Day);
        assert_eq!(Bucket::for_range(ago(Duration::HOUR), now), Bucket::Minute);
        assert_eq!(Bucket::for_range(ago(Duration::days(3)), now), Bucket::Hour);
        assert_eq!(Bucket::for_range(ago(Duration::days(30)), now), Bucket::Day);
        assert_eq!(Bucket::for_span(Duration::hours(6)), Bucket::Minute);
        assert_eq!(Bucket::for_span(Duration::days(14)), Bucket::Hour);
    }

    #[test]
    fn a_narrow_answer_asks_for_finer_buckets() {
        let day = datetime!(2026-11-22 00:00 UTC);
        let one_day = [count(day, EventKind::Jam, 3)];
        assert_eq!(Bucket::Day.refined(&one_day), Some(Bucket::Hour));
        let hours = [
            count(day + Duration::hours(8), EventKind::Jam, 1),
            count(day + Duration::hours(9), EventKind::Accident, 1),
        ];
        assert_eq!(Bucket::Hour.refined(&hours), Some(Bucket::Minute));
        let spread = [
            count(day, EventKind::Jam, 1),
            count(day + Duration::days(40), EventKind::Jam, 1),
        ];
        assert_eq!(Bucket::Day.refined(&spread), None);
        assert_eq!(Bucket::Minute.refined(&hours), None, "nothing finer");
        assert_eq!(Bucket::Day.refined(&[]), None);
    }

    #[test]
    fn bars_fill_the_gaps_and_stack_kinds() {
        let t = datetime!(2026-11-22 08:00 UTC);
        let counts = [
            count(t + Duration::hours(3), EventKind::Jam, 4),
            count(t, EventKind::Accident, 2),
            count(t, EventKind::ZoneExit, 5),
        ];
        let histogram = Histogram::new(Bucket::Hour, &counts);
        let bars: Vec<(OffsetDateTime, [u64; 4])> = histogram
            .bars
            .iter()
            .map(|bar| (bar.start, bar.counts))
            .collect();
        assert_eq!(
            bars,
            [
                (t, [2, 0, 0, 5]),
                (t + Duration::hours(1), [0; 4]),
                (t + Duration::hours(2), [0; 4]),
                (t + Duration::hours(3), [0, 4, 0, 0]),
            ]
        );
        assert_eq!(histogram.scale, 10, "the tallest bar is 7");
        assert_eq!(histogram.total(), 11);
    }

    #[test]
    fn too_wide_a_range_keeps_only_counted_buckets() {
        let t = datetime!(2026-01-01 00:00 UTC);
        let far = t + Duration::minutes(MAX_FILLED_BARS + 10);
        let histogram = Histogram::new(
            Bucket::Minute,
            &[count(far, EventKind::Jam, 1), count(t, EventKind::Jam, 1)],
        );
        let starts: Vec<OffsetDateTime> = histogram.bars.iter().map(|b| b.start).collect();
        assert_eq!(starts, [t, far]);
    }

    #[test]
    fn the_axis_reaches_a_round_number() {
        let ceilings: Vec<u64> = [0, 1, 2, 3, 6, 10, 11, 21, 499, 501, 7000]
            .into_iter()
            .map(nice_ceiling)
            .collect();
        assert_eq!(ceilings, [1, 1, 2, 5, 10, 10, 20, 50, 500, 1000, 10000]);
        assert_eq!(nice_ceiling(u64::MAX), u64::MAX);
        assert_eq!(scaled(5, 10, 200.0), 100.0);
        assert_eq!(scaled(10, 10, 200.0), 200.0);
        assert_eq!(scaled(0, 0, 200.0), 0.0);
    }

    #[test]
    fn labels_fit_the_bucket() {
        let t = datetime!(2026-11-22 08:30 UTC);
        assert_eq!(Bucket::Day.label(t), "2026-11-22");
        assert_eq!(Bucket::Hour.label(t), "2026-11-22 08:30");
    }
}
