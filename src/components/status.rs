use std::time::Duration;

use leptos::prelude::*;
use web_time::Instant;

use crate::session::Link;

/// Connection state: connecting, online over WebSocket or BOSH (rooms joined), reconnecting
/// with a countdown, or failed.
#[component]
pub fn LinkIndicator(link: RwSignal<Link>) -> impl IntoView {
    let tick = ticker(move || matches!(link.get(), Link::Reconnecting { .. }));
    let text = move || {
        tick.track();
        describe(&link.get(), Instant::now())
    };
    let state = move || match link.get() {
        Link::Online { .. } => "link online",
        Link::Failed(_) => "link failed",
        _ => "link pending",
    };
    let transport = move || match link.get() {
        Link::Connecting(kind)
        | Link::Joining(kind)
        | Link::Online {
            transport: kind, ..
        } => Some(kind.label()),
        _ => None,
    };
    view! {
        <span class=state role="status" aria-live="polite" data-testid="link" data-transport=transport>
            {text}
        </span>
    }
}

/// A signal that changes every second while `active` holds, so a countdown moves.
pub fn ticker(active: impl Fn() -> bool + 'static) -> RwSignal<u32> {
    let tick = RwSignal::new(0u32);
    Effect::new(move |previous: Option<Option<IntervalHandle>>| {
        if let Some(Some(interval)) = previous {
            interval.clear();
        }
        active()
            .then(|| {
                set_interval_with_handle(
                    move || tick.update(|t| *t = t.wrapping_add(1)),
                    Duration::from_secs(1),
                )
                .ok()
            })
            .flatten()
    });
    tick
}

/// Whole seconds left until `at`, rounded up: "in 0 s" only once it is due.
pub fn seconds_until(at: Instant, now: Instant) -> u64 {
    let wait = at.saturating_duration_since(now);
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// The indicator's words for `link` at `now`.
fn describe(link: &Link, now: Instant) -> String {
    match link {
        Link::Connecting(kind) => format!("connecting · {}…", kind.label()),
        Link::Joining(kind) => format!("joining the rooms · {}…", kind.label()),
        Link::Online { transport, rooms } => {
            let plural = if *rooms == 1 { "" } else { "s" };
            format!("live · {} · {rooms} room{plural}", transport.label())
        }
        Link::Reconnecting { attempt, at } => {
            let seconds = seconds_until(*at, now);
            format!("reconnecting in {seconds} s (attempt {attempt})")
        }
        Link::Failed(error) => format!("offline: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use vigie_dashboard::transport::Kind;

    use super::*;

    #[test]
    fn names_the_transport() {
        let now = Instant::now();
        let online = |transport, rooms| Link::Online { transport, rooms };
        assert_eq!(
            describe(&online(Kind::WebSocket, 3), now),
            "live · WebSocket · 3 rooms"
        );
        assert_eq!(
            describe(&online(Kind::Bosh, 1), now),
            "live · BOSH · 1 room"
        );
        assert_eq!(
            describe(&Link::Connecting(Kind::Bosh), now),
            "connecting · BOSH…"
        );
        assert_eq!(
            describe(&Link::Joining(Kind::WebSocket), now),
            "joining the rooms · WebSocket…"
        );
    }

    #[test]
    fn counts_down_to_the_next_attempt() {
        let now = Instant::now();
        let link = Link::Reconnecting {
            attempt: 2,
            at: now + Duration::from_millis(4200),
        };
        assert_eq!(describe(&link, now), "reconnecting in 5 s (attempt 2)");
        assert_eq!(
            describe(&link, now + Duration::from_secs(3)),
            "reconnecting in 2 s (attempt 2)"
        );
        assert_eq!(
            describe(&link, now + Duration::from_secs(9)),
            "reconnecting in 0 s (attempt 2)"
        );
    }
}
