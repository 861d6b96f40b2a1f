//! The history's filters and their place in the URL. The page's query string is the REST API's
//! filter query itself, so a shared link, the table, the exports and the statistics all read the
//! same filters. Plain Rust, tested natively.

use std::fmt::Write as _;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use vigie_model::event::format_time;
use vigie_model::{EventKind, Severity, Status};

use crate::sorting::sorted_by_key;

/// Longest free text the API accepts (`vigie_store::MAX_TEXT_LEN`), in characters.
pub const MAX_TEXT_CHARS: usize = 200;
/// Longest vehicle name the API accepts, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// What the history shows; empty fields filter nothing. `from`/`to` bound the opening time,
/// `[from, to)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryFilter {
    pub kinds: Vec<EventKind>,
    pub status: Option<Status>,
    pub severity: Option<Severity>,
    pub zones: Vec<String>,
    pub vehicle: String,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub text: String,
}

impl HistoryFilter {
    /// The query string (without `?`), in a fixed order so equal filters give equal links.
    pub fn to_query(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        pairs.extend(self.kinds.iter().map(|k| ("kind", k.as_str().to_owned())));
        pairs.extend(self.status.map(|s| ("status", s.as_str().to_owned())));
        pairs.extend(self.severity.map(|s| ("severity", s.as_str().to_owned())));
        pairs.extend(self.zones.iter().map(|z| ("zone", z.clone())));
        if !self.vehicle.is_empty() {
            pairs.push(("vehicle", self.vehicle.clone()));
        }
        pairs.extend(self.from.map(|at| ("from", format_time(at))));
        pairs.extend(self.to.map(|at| ("to", format_time(at))));
        if !self.text.is_empty() {
            pairs.push(("text", self.text.clone()));
        }
        pairs
            .iter()
            .map(|(name, value)| format!("{name}={}", encode(value)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Reads a query string (a leading `?` is fine). What cannot be used is left out and
    /// described in the returned notes, so a damaged link still opens and says what it dropped.
    pub fn from_query(query: &str) -> (HistoryFilter, Vec<String>) {
        let mut filter = HistoryFilter::default();
        let mut notes = Vec::new();
        let query = query.strip_prefix('?').unwrap_or(query);
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (name, value) = (decode(name), decode(value));
            let used = match name.as_str() {
                "kind" => push_parsed(&mut filter.kinds, &value),
                "zone" => {
                    let valid = is_name(&value);
                    if valid && !filter.zones.contains(&value) {
                        filter.zones.push(value.clone());
                    }
                    valid
                }
                "status" => {
                    // An incident is open or cleared; `update` is an event's status.
                    let incident_status = value
                        .parse()
                        .is_ok_and(|status| Status::OF_INCIDENTS.contains(&status));
                    incident_status && set_parsed(&mut filter.status, &value)
                }
                "severity" => set_parsed(&mut filter.severity, &value),
                "vehicle" => is_name(&value) && set_once(&mut filter.vehicle, &value),
                "text" => {
                    value.chars().count() <= MAX_TEXT_CHARS && set_once(&mut filter.text, &value)
                }
                "from" => set_instant(&mut filter.from, &value),
                "to" => set_instant(&mut filter.to, &value),
                _ => {
                    notes.push(format!("unknown parameter “{}” ignored", shorten(&name)));
                    continue;
                }
            };
            if !used {
                notes.push(format!("{name}={} ignored", shorten(&value)));
            }
        }
        if let Err(problem) = filter.check() {
            notes.push(format!("{problem}: “to” ignored"));
            filter.to = None;
        }
        (filter, notes)
    }

    /// What the API would refuse, said before asking it.
    pub fn check(&self) -> Result<(), String> {
        match (self.from, self.to) {
            (Some(from), Some(to)) if to < from => Err("“to” is before “from”".into()),
            _ => Ok(()),
        }
    }

    /// Adds the kind, or removes it if present; kinds stay in [`EventKind::ALL`]'s order.
    pub fn toggle_kind(&mut self, kind: EventKind) {
        if let Some(at) = self.kinds.iter().position(|k| *k == kind) {
            self.kinds.remove(at);
        } else {
            self.kinds.push(kind);
            let kinds = std::mem::take(&mut self.kinds);
            self.kinds = sorted_by_key(kinds, |k| EventKind::ALL.iter().position(|all| all == k));
        }
    }

    /// Adds the zone, or removes it if present; zones stay in `order`.
    pub fn toggle_zone(&mut self, zone: &str, order: &[String]) {
        if let Some(at) = self.zones.iter().position(|z| z == zone) {
            self.zones.remove(at);
        } else {
            self.zones.push(zone.to_owned());
            let zones = std::mem::take(&mut self.zones);
            self.zones = sorted_by_key(zones, |z| {
                order.iter().position(|o| o == z).unwrap_or(order.len())
            });
        }
    }
}

fn push_parsed<T: std::str::FromStr + PartialEq>(values: &mut Vec<T>, value: &str) -> bool {
    match value.parse() {
        Ok(parsed) => {
            if !values.contains(&parsed) {
                values.push(parsed);
            }
            true
        }
        Err(_) => false,
    }
}

/// Single parameters keep their first value, as the API takes only one.
fn set_parsed<T: std::str::FromStr>(slot: &mut Option<T>, value: &str) -> bool {
    slot.is_none() && value.parse().map(|parsed| *slot = Some(parsed)).is_ok()
}

fn set_once(slot: &mut String, value: &str) -> bool {
    let empty = slot.is_empty();
    if empty {
        *slot = value.to_owned();
    }
    empty
}

fn set_instant(slot: &mut Option<OffsetDateTime>, value: &str) -> bool {
    slot.is_none()
        && OffsetDateTime::parse(value, &Rfc3339)
            .ok()
            .filter(|at| (1000..=9999).contains(&at.year()))
            .map(|at| *slot = Some(at))
            .is_some()
}

fn is_name(value: &str) -> bool {
    (1..=MAX_NAME_CHARS).contains(&value.chars().count())
}

/// A note quotes at most 40 characters of what it drops.
fn shorten(value: &str) -> String {
    match value.char_indices().nth(40) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_owned(),
    }
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

/// The inverse of [`encode`]; malformed escapes are kept as they are, invalid UTF-8 replaced.
pub fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A time as a `datetime-local` input shows it (UTC, to the minute).
pub fn input_value(at: Option<OffsetDateTime>) -> String {
    at.map(|at| format_time(at).chars().take(16).collect())
        .unwrap_or_default()
}

/// A `datetime-local` input's value (`YYYY-MM-DDTHH:MM`, optionally `:SS`), read as UTC.
pub fn parse_input(value: &str) -> Option<OffsetDateTime> {
    let rfc3339 = match value.len() {
        16 => format!("{value}:00Z"),
        19 => format!("{value}Z"),
        _ => return None,
    };
    OffsetDateTime::parse(&rfc3339, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn full() -> HistoryFilter {
        HistoryFilter {
            kinds: vec![EventKind::Accident, EventKind::ZoneExit],
            status: Some(Status::Cleared),
            severity: Some(Severity::Major),
            zones: vec!["centre".into(), "east side".into()],
            vehicle: "v1".into(),
            from: Some(datetime!(2026-11-20 08:00 UTC)),
            to: Some(datetime!(2026-11-22 17:30 UTC)),
            text: "50% <b>stopped</b> & \"quoted\" é+".into(),
        }
    }

    #[test]
    fn the_url_round_trips_every_field() {
        let filter = full();
        let query = filter.to_query();
        assert_eq!(
            query,
            "kind=accident&kind=zone_exit&status=cleared&severity=major&zone=centre&zone=east+side\
             &vehicle=v1&from=2026-11-20T08%3A00%3A00Z&to=2026-11-22T17%3A30%3A00Z\
             &text=50%25+%3Cb%3Estopped%3C%2Fb%3E+%26+%22quoted%22+%C3%A9%2B"
        );
        assert_eq!(
            HistoryFilter::from_query(&format!("?{query}")),
            (filter, vec![])
        );
        let empty = HistoryFilter::default();
        assert_eq!(empty.to_query(), "");
        assert_eq!(HistoryFilter::from_query(""), (empty, vec![]));
    }

    #[test]
    fn the_api_forms_are_read_too() {
        // Unencoded colons and a time offset, as a person would type them.
        let (filter, notes) =
            HistoryFilter::from_query("kind=jam&kind=jam&from=2026-11-22T09:00:00%2B01:00");
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(filter.kinds, [EventKind::Jam]);
        assert_eq!(filter.from, Some(datetime!(2026-11-22 08:00 UTC)));
    }

    #[test]
    fn a_damaged_link_opens_with_notes() {
        let (filter, notes) = HistoryFilter::from_query(
            "kind=fire&kind=jam&status=open&status=cleared&bbox=1,2,3,4&from=yesterday\
             &from=2026-11-22T10:00:00Z&to=2026-11-22T09:00:00Z&zone=&text=%ZZ",
        );
        assert_eq!(filter.kinds, [EventKind::Jam]);
        assert_eq!(filter.status, Some(Status::Open));
        assert_eq!(filter.from, Some(datetime!(2026-11-22 10:00 UTC)));
        assert_eq!(filter.to, None);
        assert_eq!(filter.text, "%ZZ");
        assert_eq!(
            notes,
            [
                "kind=fire ignored",
                "status=cleared ignored",
                "unknown parameter “bbox” ignored",
                "from=yesterday ignored",
                "zone= ignored",
                "“to” is before “from”: “to” ignored",
            ]
        );
    }

    #[test]
    fn an_event_status_is_not_an_incident_filter() {
        let (filter, notes) = HistoryFilter::from_query("status=update");
        assert_eq!(filter.status, None);
        assert_eq!(notes, ["status=update ignored"]);
    }

    #[test]
    fn overlong_values_are_dropped_with_a_short_note() {
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        let (filter, notes) = HistoryFilter::from_query(&format!("text={long}"));
        assert_eq!(filter.text, "");
        assert_eq!(notes, [format!("text={}… ignored", "x".repeat(40))]);
    }

    #[test]
    fn encoding_survives_any_text() {
        for text in [
            "",
            "a+b c",
            "100%",
            "%%41",
            "日本語",
            "a=b&c=d",
            "\u{0}\n\t",
        ] {
            assert_eq!(decode(&encode(text)), text, "{text:?}");
        }
        assert_eq!(decode("%e9"), "\u{FFFD}", "invalid UTF-8 is replaced");
    }

    #[test]
    fn toggles_keep_a_fixed_order() {
        let mut filter = HistoryFilter::default();
        filter.toggle_kind(EventKind::ZoneExit);
        filter.toggle_kind(EventKind::Accident);
        assert_eq!(filter.kinds, [EventKind::Accident, EventKind::ZoneExit]);
        filter.toggle_kind(EventKind::ZoneExit);
        assert_eq!(filter.kinds, [EventKind::Accident]);
        let order = ["centre", "north", "east"].map(String::from);
        filter.toggle_zone("east", &order);
        filter.toggle_zone("centre", &order);
        assert_eq!(filter.zones, ["centre", "east"]);
        filter.toggle_zone("centre", &order);
        assert_eq!(filter.zones, ["east"]);
    }

    #[test]
    fn datetime_inputs_are_utc_minutes() {
        let at = datetime!(2026-11-22 08:05:59.5 UTC);
        assert_eq!(input_value(Some(at)), "2026-11-22T08:05");
        assert_eq!(input_value(None), "");
        assert_eq!(
            parse_input("2026-11-22T08:05"),
            Some(datetime!(2026-11-22 08:05 UTC))
        );
        assert_eq!(
            parse_input("2026-11-22T08:05:30"),
            Some(datetime!(2026-11-22 08:05:30 UTC))
        );
        assert_eq!(parse_input(""), None);
        assert_eq!(parse_input("2026-13-22T08:05"), None);
    }
}
