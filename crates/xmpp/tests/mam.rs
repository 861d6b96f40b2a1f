//! XEP-0313 room archive catch-up against the in-memory fake server, page by page.

mod common;

use std::time::Duration;

use common::{FakeRoom, FakeServer, Pair};
use vigie_xmpp::{ArchivePage, ArchiveQuery, Error, Event, History};

const ROOM: &str = "jams@rooms.localhost";

fn pair_with_three_archived_messages() -> Pair {
    let server = FakeServer::new().with_room(FakeRoom {
        jid: ROOM.into(),
        ..FakeRoom::default()
    });
    let mut pair = Pair::online(server);
    pair.client.join_room(ROOM, "me", History::None).unwrap();
    pair.drive();
    for n in 1..=3 {
        pair.client
            .send_groupchat_with_id(ROOM, &format!("event-{n}"), "jam", None)
            .unwrap();
    }
    pair.drive();
    pair.take_events();
    pair
}

/// Fetches one page and returns (origin ids, page end).
fn fetch(pair: &mut Pair, query: ArchiveQuery) -> (Vec<String>, ArchivePage) {
    let query_id = pair.client.query_room_archive(ROOM, query).unwrap();
    pair.drive();
    let mut ids = Vec::new();
    for event in pair.take_events() {
        match event {
            Event::ArchivedMessage {
                query_id: got,
                message,
            } => {
                assert_eq!(got, query_id);
                assert_eq!(message.room, ROOM);
                assert_eq!(message.delay.as_deref(), Some("2026-11-22T00:30:00Z"));
                assert!(message
                    .stanza_id
                    .as_deref()
                    .is_some_and(|id| id.starts_with("archive-")));
                ids.push(message.origin_id.unwrap());
            }
            Event::ArchiveQueryDone {
                query_id: got,
                result,
            } => {
                assert_eq!(got, query_id);
                return (ids, result.unwrap());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    panic!("no end of page");
}

#[test]
fn catches_up_page_by_page_after_the_last_known_id() {
    let mut pair = pair_with_three_archived_messages();
    let (first, page) = fetch(
        &mut pair,
        ArchiveQuery {
            max: Some(2),
            ..ArchiveQuery::default()
        },
    );
    assert_eq!(first, ["event-1", "event-2"]);
    assert_eq!(
        page,
        ArchivePage {
            complete: false,
            last_id: Some("archive-2".into())
        }
    );
    let (rest, page) = fetch(
        &mut pair,
        ArchiveQuery {
            max: Some(2),
            after_id: page.last_id,
            ..ArchiveQuery::default()
        },
    );
    assert_eq!(rest, ["event-3"]);
    assert!(page.complete);
}

#[test]
fn results_from_anyone_but_the_room_are_not_archive_results() {
    let mut pair = pair_with_three_archived_messages();
    pair.server.silent = true;
    let query_id = pair
        .client
        .query_room_archive(ROOM, ArchiveQuery::default())
        .unwrap();
    pair.drive();
    pair.server.send_raw(&format!(
        "<message xmlns='jabber:client' from='evil@localhost'><result xmlns='urn:xmpp:mam:2' queryid='{query_id}' id='x'>\
         <forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' type='groupchat' from='{ROOM}/gateway'>\
         <body>forged</body></message></forwarded></result></message>"
    ));
    pair.drive();
    assert!(matches!(&pair.take_events()[..], [Event::Message(_)]));
    pair.advance(Duration::from_secs(30));
    assert_eq!(
        pair.take_events(),
        [Event::ArchiveQueryDone {
            query_id,
            result: Err(Error::Timeout("the archive"))
        }]
    );
}
