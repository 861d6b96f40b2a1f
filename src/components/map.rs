use leptos::prelude::*;
use vigie_model::city::{Bounds, LonLat};
use vigie_model::event::format_time;
use vigie_model::{Event, Incident};

use crate::components::history::HistoryState;
use crate::components::live::kind_label;
use crate::components::rows;
use crate::feed::shown_severity;
use crate::open::OpenIncident;
use vigie_model::number::fixed;

/// Width of the map's SVG coordinate space; the height keeps the city's aspect.
const WIDTH: f64 = 1000.0;

/// Longitude/latitude to SVG coordinates (equirectangular at the city's latitude: at a city's
/// scale the distortion is invisible, and no tiles are needed).
#[derive(Debug, Clone, Copy)]
struct Projection {
    bounds: Bounds,
    height: f64,
}

impl Projection {
    fn new(bounds: Bounds) -> Projection {
        let mid_lat = (bounds.min_lat + bounds.max_lat) / 2.0;
        let width_m = (bounds.max_lon - bounds.min_lon) * mid_lat.to_radians().cos();
        let height_m = bounds.max_lat - bounds.min_lat;
        Projection {
            bounds,
            height: WIDTH * height_m / width_m,
        }
    }

    fn point(&self, [lon, lat]: LonLat) -> (f64, f64) {
        let b = self.bounds;
        let x = (lon - b.min_lon) / (b.max_lon - b.min_lon) * WIDTH;
        let y = (b.max_lat - lat) / (b.max_lat - b.min_lat) * self.height;
        (x, y)
    }

    fn path(&self, points: &[LonLat]) -> String {
        points
            .iter()
            .map(|&p| self.point(p))
            .map(|(x, y)| [fixed(x, 1), fixed(y, 1)].join(","))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Most history results drawn at once (the table pages further).
const MAX_HISTORY_MARKERS: usize = 500;

/// How long an incident's marker stands out after its latest event.
const RECENT: time::Duration = time::Duration::minutes(1);
/// How often markers are checked for having stopped being recent.
const TICK: std::time::Duration = std::time::Duration::from_secs(15);

/// The city in SVG (zones, roads) with a marker per open incident, those with an event in the
/// last minute ringed, and a diamond per history result. A marker opens the incident's
/// details.
#[component]
pub fn CityMap(open: Memo<Vec<OpenIncident>>, history: HistoryState) -> impl IntoView {
    let now = RwSignal::new(crate::clock::now());
    if let Ok(ticker) = set_interval_with_handle(move || now.set(crate::clock::now()), TICK) {
        on_cleanup(move || ticker.clear());
    }
    let city = crate::api::city();
    let projection = Projection::new(city.bounds);
    let zones = city
        .zones
        .iter()
        .map(|zone| {
            let (x, y) = centroid(&projection, &zone.polygon);
            view! {
                <g class="zone">
                    <polygon points=projection.path(&zone.polygon)><title>{zone.name.clone()}</title></polygon>
                    <text x=fixed(x, 1) y=fixed(y, 1)>{zone.name.clone()}</text>
                </g>
            }
        })
        .collect_view();
    let roads = city
        .roads
        .iter()
        .map(|road| {
            view! { <polyline class="road" points=projection.path(&road.points)><title>{road.name.clone()}</title></polyline> }
        })
        .collect_view();
    let select = history.selected;
    let past = move || {
        history.results.with(|results| {
            results
                .iter()
                .take(MAX_HISTORY_MARKERS)
                .map(|incident| history_marker(&projection, incident, select))
                .collect_view()
        })
    };
    view! {
        <section class="pane map" aria-labelledby="map-title">
            <h2 id="map-title">"Map"</h2>
            <svg viewBox=["0 0 ", &fixed(WIDTH, 0), " ", &fixed(projection.height, 0)].concat() role="group" aria-labelledby="map-title">
                <g aria-hidden="true">{zones}{roads}</g>
                // For the mouse: the table's rows are the keyboard's (and screen readers') way in.
                <g class="history-markers" data-testid="map-history" aria-hidden="true">{past}</g>
                <g class="markers" data-testid="map-markers">
                    {rows(
                        move || {
                            let now = now.get();
                            open.get().into_iter().map(move |open| (now - open.latest.occurred_at < RECENT, open))
                        },
                        |(recent, open)| (open.latest.id.clone(), *recent),
                        move |(recent, open)| marker(&projection, open.latest, recent, select),
                    )}
                </g>
            </svg>
            <p class="map-legend">"● open incidents, live (ringed: an event in the last minute) · ◆ history results · Enter on a marker opens its details"</p>
        </section>
    }
}

/// An open incident: a circle a keyboard can reach.
fn marker(
    projection: &Projection,
    event: Event,
    recent: bool,
    select: RwSignal<Option<String>>,
) -> impl IntoView {
    let (x, y) = projection.point([event.lon, event.lat]);
    let class = format!("marker {} {}", event.kind.as_str(), event.severity.as_str());
    let incident = event.incident.clone();
    let focus_key = ["marker-", &event.incident].concat();
    let open = move || select.set(Some(incident.clone()));
    let on_key = {
        let open = open.clone();
        move |ev: leptos::ev::KeyboardEvent| {
            if ev.key() == "Enter" || ev.key() == " " {
                ev.prevent_default();
                open();
            }
        }
    };
    view! {
        <circle class=class class:recent=recent cx=fixed(x, 1) cy=fixed(y, 1) r="12" data-incident-id=event.incident.clone()
            data-focus-key=focus_key tabindex="0" role="button" aria-label=event.body() on:click=move |_| open() on:keydown=on_key>
            <title>{event.body()}</title>
        </circle>
    }
}

/// A history result: a diamond, for the mouse (the table row is its keyboard way in).
fn history_marker(
    projection: &Projection,
    incident: &Incident,
    select: RwSignal<Option<String>>,
) -> impl IntoView {
    let (x, y) = projection.point([incident.lon, incident.lat]);
    let severity = shown_severity(incident.kind, incident.severity);
    let class = format!(
        "marker history {} {}",
        incident.kind.as_str(),
        severity.unwrap_or_default()
    );
    let id = incident.id.clone();
    let severity = severity
        .map(|severity| format!(", {severity}"))
        .unwrap_or_default();
    let title = format!(
        "{} ({}){severity}, opened {}",
        kind_label(incident.kind),
        incident.status.as_str(),
        format_time(incident.opened_at)
    );
    view! {
        <rect class=class x=fixed(x - 8.0, 1) y=fixed(y - 8.0, 1) width="16" height="16"
            transform=["rotate(45 ", &fixed(x, 1), " ", &fixed(y, 1), ")"].concat() data-incident-id=incident.id.clone()
            on:click=move |_| select.set(Some(id.clone()))>
            <title>{title}</title>
        </rect>
    }
}

fn centroid(projection: &Projection, ring: &[LonLat]) -> (f64, f64) {
    let n = ring.len().max(1) as f64;
    let (sx, sy) = ring
        .iter()
        .map(|&p| projection.point(p))
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    (sx / n, sy / n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_maps_the_bounds_to_the_view_box() {
        let city = crate::api::city();
        let projection = Projection::new(city.bounds);
        let b = city.bounds;
        assert_eq!(projection.point([b.min_lon, b.max_lat]), (0.0, 0.0));
        let (x, y) = projection.point([b.max_lon, b.min_lat]);
        assert!((x - WIDTH).abs() < 1e-9 && (y - projection.height).abs() < 1e-9);
        // 0.07° of longitude by 0.04° of latitude at 45.76° N is about 5.4 km by 4.4 km.
        assert!(
            (projection.height / WIDTH - 0.81).abs() < 0.01,
            "{}",
            projection.height
        );
    }
}
