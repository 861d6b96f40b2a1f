//! The client's deadlines, in one table: the next timeout is the earliest armed timer.

use web_time::Instant;

/// Every deadline the client may wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Stream negotiation (open → SASL → bind) or closing handshake must finish by then.
    Handshake,
    /// The connection has been idle for a ping interval: send an XEP-0199 ping.
    Ping,
    /// No traffic since our ping: the connection is considered dead.
    PongDeadline,
    /// The earliest deadline of the caller's pending IQ requests.
    IqDeadline,
    /// The connection was lost: ask for a new transport then.
    Reconnect,
    /// XEP-0198: stanzas await the server's acknowledgement; ask for it (`<r/>`).
    AckRequest,
    /// XEP-0410: ping ourselves in each joined room.
    SelfPing,
}

impl Timer {
    const ALL: [Timer; 7] = [
        Timer::Handshake,
        Timer::Ping,
        Timer::PongDeadline,
        Timer::IqDeadline,
        Timer::Reconnect,
        Timer::AckRequest,
        Timer::SelfPing,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// One optional deadline per [`Timer`].
#[derive(Debug, Clone, Default)]
pub struct TimerTable {
    deadlines: [Option<Instant>; Timer::ALL.len()],
}

impl TimerTable {
    pub fn set(&mut self, timer: Timer, deadline: Instant) {
        self.deadlines[timer.index()] = Some(deadline);
    }

    pub fn set_or_stop(&mut self, timer: Timer, deadline: Option<Instant>) {
        self.deadlines[timer.index()] = deadline;
    }

    pub fn stop(&mut self, timer: Timer) {
        self.deadlines[timer.index()] = None;
    }

    pub fn stop_all(&mut self) {
        self.deadlines = Default::default();
    }

    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer.index()]
    }

    /// The earliest armed deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Disarms and returns the timers whose deadline is at or before `now`.
    pub fn take_expired(&mut self, now: Instant) -> Vec<Timer> {
        Timer::ALL
            .into_iter()
            .filter(|&timer| {
                let slot = &mut self.deadlines[timer.index()];
                let expired = slot.is_some_and(|deadline| deadline <= now);
                if expired {
                    *slot = None;
                }
                expired
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn next_deadline_is_the_minimum_and_expiry_disarms() {
        let start = Instant::now();
        let mut timers = TimerTable::default();
        assert_eq!(timers.next_deadline(), None);
        timers.set(Timer::Ping, start + Duration::from_secs(30));
        timers.set(Timer::Handshake, start + Duration::from_secs(10));
        assert_eq!(
            timers.next_deadline(),
            Some(start + Duration::from_secs(10))
        );
        assert_eq!(
            timers.take_expired(start + Duration::from_secs(10)),
            [Timer::Handshake]
        );
        assert_eq!(
            timers.next_deadline(),
            Some(start + Duration::from_secs(30))
        );
        timers.stop(Timer::Ping);
        assert_eq!(timers.next_deadline(), None);
    }
}
