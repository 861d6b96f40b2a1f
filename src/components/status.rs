use std::time::Duration;

use leptos::prelude::*;
use web_time::Instant;

use crate::session::Link;

/// Connection state: connecting, online over WebSocket or BOSH (rooms joined), reconnecting
/// with a countdown, or failed.
#[component]
pub fn LinkIndicator(link: RwSignal<Link>) -> impl IntoView {
    let tick = ticker(move || matches!(link.get(), Link::Reconnecting { .. }));
    let words = Memo::new(move |_| {
        tick.track();
        describe(&link.get(), Instant::now())
    });
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
            {move || words.with(|(said, _, _)| said.clone())}
            <span aria-hidden="true">{move || words.with(|(_, countdown, _)| countdown.clone())}</span>
            {move || words.with(|(_, _, after)| after.clone())}
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

/// The indicator's words for `link` at `now`, in three parts: the middle one, a countdown, is
/// kept from screen readers, which would read the live region out again every second.
fn describe(link: &Link, now: Instant) -> (String, String, String) {
    let said = |words: String| (words, String::new(), String::new());
    match link {
        Link::Connecting(kind) => said(format!("connecting · {}…", kind.label())),
        Link::Joining(kind) => said(format!("joining the rooms · {}…", kind.label())),
        Link::Online { transport, rooms } => {
            let plural = if *rooms == 1 { "" } else { "s" };
            said(format!(
                "live · {} · {rooms} room{plural}",
                transport.label()
            ))
        }
        Link::Reconnecting { attempt, at } => {
            let seconds = seconds_until(*at, now);
            (
                "reconnecting".to_owned(),
                format!(" in {seconds} s"),
                format!(" (attempt {attempt})"),
            )
        }
        Link::Failed(error) => said(format!("offline: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use vigie_dashboard::transport::Kind;

    use super::*;

    /// What the indicator shows.
    fn shown(link: &Link, now: Instant) -> String {
        let (said, countdown, after) = describe(link, now);
        [said, countdown, after].concat()
    }

    #[test]
    fn names_the_transport() {
        let now = Instant::now();
        let online = |transport, rooms| Link::Online { transport, rooms };
        assert_eq!(
            shown(&online(Kind::WebSocket, 3), now),
            "live · WebSocket · 3 rooms"
        );
        assert_eq!(shown(&online(Kind::Bosh, 1), now), "live · BOSH · 1 room");
        assert_eq!(
            shown(&Link::Connecting(Kind::Bosh), now),
            "connecting · BOSH…"
        );
        assert_eq!(
            shown(&Link::Joining(Kind::WebSocket), now),
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
        assert_eq!(shown(&link, now), "reconnecting in 5 s (attempt 2)");
        assert_eq!(
            shown(&link, now + Duration::from_secs(3)),
            "reconnecting in 2 s (attempt 2)"
        );
        assert_eq!(
            shown(&link, now + Duration::from_secs(9)),
            "reconnecting in 0 s (attempt 2)"
        );
        let (said, countdown, after) = describe(&link, now);
        assert_eq!(
            (said.as_str(), after.as_str()),
            ("reconnecting", " (attempt 2)"),
            "what a screen reader reads changes with the attempt, not every second"
        );
        assert_eq!(countdown, " in 5 s");
    }
}
