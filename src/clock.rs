//! How times read in the page: UTC, as the server and the history filters give them.

use time::{OffsetDateTime, UtcOffset};

/// The wall clock.
pub fn now() -> OffsetDateTime {
    let since_epoch = web_time::SystemTime::now()
        .duration_since(web_time::SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    OffsetDateTime::UNIX_EPOCH + since_epoch
}

/// "14:05:09" for today's times; "2026-11-21 14:05" for older ones: feed cards and chat lines.
pub fn clock(at: OffsetDateTime, now: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    if at.date() == now.to_offset(UtcOffset::UTC).date() {
        format!("{:02}:{:02}:{:02}", at.hour(), at.minute(), at.second())
    } else {
        format!("{} {:02}:{:02}", at.date(), at.hour(), at.minute())
    }
}

/// "2026-11-21 14:05:09": the history's rows and the incident details, which span days.
pub fn stamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!(
        "{} {:02}:{:02}:{:02}",
        at.date(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn today_reads_as_a_time_and_other_days_with_their_date() {
        let now = datetime!(2026-11-21 23:59:59 UTC);
        assert_eq!(clock(datetime!(2026-11-21 08:05:09.5 UTC), now), "08:05:09");
        assert_eq!(
            clock(datetime!(2026-11-20 08:30:00 UTC), now),
            "2026-11-20 08:30"
        );
        // UTC, whatever offset the time came with.
        assert_eq!(
            clock(datetime!(2026-11-22 00:30:00 +01:00), now),
            "23:30:00"
        );
    }

    #[test]
    fn stamps_carry_the_date_and_whole_seconds() {
        assert_eq!(
            stamp(datetime!(2026-11-22 07:43:42.001 UTC)),
            "2026-11-22 07:43:42"
        );
        assert_eq!(
            stamp(datetime!(2026-01-02 03:04:05 -05:00)),
            "2026-01-02 08:04:05"
        );
    }
}
