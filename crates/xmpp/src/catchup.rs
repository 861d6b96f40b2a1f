//! Filling the gap a lost session leaves in a room (XEP-0313 with XEP-0059 paging, XEP-0359
//! stanza ids), with [`ClientConfig::catch_up`](crate::ClientConfig::catch_up).
//!
//! Per room, the client remembers the archive id of the newest message it showed (the
//! cursor). When it is in the room again after a session that could not be resumed, it
//! pages through the room's archive after the cursor and shows what it missed. Live
//! messages keep arriving meanwhile: they are shown at once but do not move the cursor
//! (the archive may still hold older messages we have not shown), and every shown id is
//! remembered for a while so a message comes once, live or archived, never twice.

use std::collections::VecDeque;

use crate::mam::{ArchivePage, ArchiveQuery};

/// Messages asked for per archive page.
pub const PAGE_SIZE: u32 = 50;
/// Archive ids remembered per room to recognise a message seen both live and archived;
/// far more than the live messages that can arrive while one catch-up runs.
const REMEMBERED_IDS: usize = 512;

/// Where the archive stands for us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Cursor {
    /// Nothing known yet (a first join before the newest archive id came back).
    #[default]
    Unknown,
    /// The archive was empty: everything in it is new to us.
    EmptyArchive,
    /// We have shown everything up to this archive id.
    At(String),
}

/// One room's cursor and the ids recently shown there.
#[derive(Debug, Clone, Default)]
pub struct RoomCursor {
    cursor: Cursor,
    shown: VecDeque<String>,
    catching_up: bool,
    /// The newest live message shown during the catch-up that the archive pages have not
    /// reached yet: it becomes the cursor when the catch-up ends.
    live_ahead: Option<String>,
    /// Messages the current catch-up showed.
    caught_up: u32,
}

/// What the client should ask the room's archive once it is in the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnJoin {
    /// First time here: the newest archive id, as the starting cursor (nothing is shown).
    Baseline(ArchiveQuery),
    /// Back after a lost session: the first page of what we missed.
    CatchUp(ArchiveQuery),
}

impl RoomCursor {
    /// A live groupchat message with the room's archive id: whether to show it (false if it
    /// was already shown).
    pub fn live(&mut self, archive_id: &str) -> bool {
        if !self.remember(archive_id) {
            return false;
        }
        if self.catching_up {
            self.live_ahead = Some(archive_id.to_owned());
        } else {
            self.cursor = Cursor::At(archive_id.to_owned());
        }
        true
    }

    /// A message of a catch-up page: whether to show it.
    pub fn archived(&mut self, archive_id: &str) -> bool {
        // Archive and live stream are both in archive order: once the pages reach the
        // newest live message, every live one is behind the cursor too.
        if self.live_ahead.as_deref() == Some(archive_id) {
            self.live_ahead = None;
        }
        self.cursor = Cursor::At(archive_id.to_owned());
        let new = self.remember(archive_id);
        if new {
            self.caught_up += 1;
        }
        new
    }

    /// The answer to [`OnJoin::Baseline`]: the newest archive id, `None` for an empty
    /// archive. Ignored if a live message set the cursor first.
    pub fn baseline(&mut self, newest: Option<&str>) {
        if self.cursor == Cursor::Unknown {
            self.cursor = newest.map_or(Cursor::EmptyArchive, |id| Cursor::At(id.to_owned()));
        }
    }

    /// We are in the room (again): what to ask its archive.
    pub fn on_join(&mut self) -> OnJoin {
        let after_id = match &self.cursor {
            Cursor::Unknown => {
                return OnJoin::Baseline(ArchiveQuery {
                    before_id: Some(String::new()),
                    max: Some(1),
                    ..ArchiveQuery::default()
                })
            }
            Cursor::EmptyArchive => None,
            Cursor::At(id) => Some(id.clone()),
        };
        self.catching_up = true;
        self.live_ahead = None;
        self.caught_up = 0;
        OnJoin::CatchUp(page_after(after_id))
    }

    /// The end of a catch-up page: the next page to ask for, or `Err(shown)` when the
    /// catch-up is over, with the number of messages it showed.
    pub fn page_done(&mut self, page: &ArchivePage) -> Result<ArchiveQuery, u32> {
        if let Some(last) = &page.last_id {
            self.cursor = Cursor::At(last.clone());
        }
        match &page.last_id {
            Some(last) if !page.complete => Ok(page_after(Some(last.clone()))),
            _ => Err(self.finish()),
        }
    }

    /// The catch-up failed (error, timeout, lost connection): the cursor stays where the
    /// archive got us; live messages shown meanwhile are remembered, so the next catch-up
    /// shows them no second time.
    pub fn abort(&mut self) {
        self.catching_up = false;
        self.live_ahead = None;
    }

    /// The archive id of the newest message shown, for the application to keep across
    /// processes; it does not move while a catch-up runs.
    pub fn position(&self) -> Option<&str> {
        match &self.cursor {
            Cursor::At(id) => Some(id),
            Cursor::Unknown | Cursor::EmptyArchive => None,
        }
    }

    /// Starts from `archive_id`, kept from an earlier session or process: the next join
    /// catches up after it.
    pub fn set_position(&mut self, archive_id: &str) {
        self.cursor = Cursor::At(archive_id.to_owned());
    }

    /// Whether a catch-up is running.
    pub fn is_catching_up(&self) -> bool {
        self.catching_up
    }

    fn finish(&mut self) -> u32 {
        self.catching_up = false;
        if let Some(live) = self.live_ahead.take() {
            self.cursor = Cursor::At(live);
        }
        self.caught_up
    }

    /// Records `id` as shown; false if it already was.
    fn remember(&mut self, id: &str) -> bool {
        if self.shown.iter().any(|shown| shown == id) {
            return false;
        }
        if self.shown.len() == REMEMBERED_IDS {
            self.shown.pop_front();
        }
        self.shown.push_back(id.to_owned());
        true
    }
}

fn page_after(after_id: Option<String>) -> ArchiveQuery {
    ArchiveQuery {
        after_id,
        max: Some(PAGE_SIZE),
        ..ArchiveQuery::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(last: Option<&str>, complete: bool) -> ArchivePage {
        ArchivePage {
            complete,
            last_id: last.map(str::to_owned),
        }
    }

    fn after(query: &OnJoin) -> Option<&str> {
        match query {
            OnJoin::CatchUp(query) => query.after_id.as_deref(),
            OnJoin::Baseline(_) => panic!("expected a catch-up"),
        }
    }

    #[test]
    fn first_join_asks_for_the_newest_id_then_catches_up_after_it() {
        let mut room = RoomCursor::default();
        let OnJoin::Baseline(query) = room.on_join() else {
            panic!("expected a baseline query");
        };
        assert_eq!((query.before_id.as_deref(), query.max), (Some(""), Some(1)));
        room.baseline(Some("a5"));
        assert_eq!(after(&room.on_join()), Some("a5"));

        let mut empty = RoomCursor::default();
        empty.on_join();
        empty.baseline(None);
        assert_eq!(after(&empty.on_join()), None, "the whole archive is new");

        // A live message that beat the baseline answer wins.
        let mut raced = RoomCursor::default();
        raced.on_join();
        assert!(raced.live("a7"));
        raced.baseline(Some("a6"));
        assert_eq!(after(&raced.on_join()), Some("a7"));
    }

    #[test]
    fn live_messages_during_a_catch_up_are_shown_once_and_do_not_move_the_cursor() {
        let mut room = RoomCursor::default();
        room.baseline(None);
        assert!(room.live("a1"));
        assert_eq!(after(&room.on_join()), Some("a1"));
        // a2, a3 were missed; a3 also arrives live before the archive page.
        assert!(room.live("a3"));
        assert!(room.archived("a2"));
        assert!(!room.archived("a3"), "already shown live");
        assert_eq!(room.page_done(&page(Some("a3"), true)), Err(1));
        assert!(!room.is_catching_up());
        assert!(room.live("a4"));
        assert_eq!(after(&room.on_join()), Some("a4"));
    }

    #[test]
    fn a_live_message_newer_than_the_last_page_becomes_the_cursor() {
        let mut room = RoomCursor::default();
        room.baseline(Some("a1"));
        room.on_join();
        assert!(room.archived("a2"));
        assert_eq!(
            room.page_done(&page(Some("a2"), false))
                .unwrap()
                .after_id
                .as_deref(),
            Some("a2")
        );
        // Archived after the last page was read: only seen live.
        assert!(room.live("a3"));
        assert_eq!(room.page_done(&page(None, true)), Err(1));
        assert_eq!(after(&room.on_join()), Some("a3"));
    }

    #[test]
    fn an_aborted_catch_up_resumes_from_the_archive_and_skips_what_came_live() {
        let mut room = RoomCursor::default();
        room.baseline(Some("a1"));
        room.on_join();
        assert!(room.archived("a2"));
        assert!(room.live("a4"));
        room.abort();
        assert_eq!(after(&room.on_join()), Some("a2"));
        assert!(room.archived("a3"));
        assert!(!room.archived("a4"));
    }

    #[test]
    fn a_position_kept_elsewhere_is_where_the_first_join_catches_up() {
        let mut room = RoomCursor::default();
        assert_eq!(room.position(), None);
        room.set_position("a9");
        assert_eq!(after(&room.on_join()), Some("a9"));
        assert!(room.live("a11"));
        assert_eq!(
            room.position(),
            Some("a9"),
            "live messages wait for the archive"
        );
        assert!(room.archived("a10"));
        assert_eq!(room.page_done(&page(Some("a10"), true)), Err(1));
        assert_eq!(room.position(), Some("a11"));
    }

    #[test]
    fn remembers_a_bounded_number_of_ids() {
        let mut room = RoomCursor::default();
        for n in 0..=REMEMBERED_IDS {
            assert!(room.live(&format!("a{n}")));
        }
        assert_eq!(room.shown.len(), REMEMBERED_IDS);
        assert!(room.live("a0"), "the oldest id was forgotten");
        assert!(!room.live(&format!("a{REMEMBERED_IDS}")));
    }
}
