//! The collector: every event posted in the rooms lands in MySQL exactly once.
//!
//! On start and after every reconnect it joins the rooms, then catches up on each room's
//! archive (XEP-0313) from the last archive id it stored, page by page to the end. Live messages
//! that arrive meanwhile are stored too (storing is idempotent by event id) but never move the
//! archive position: only archive pages and, once a room is caught up, live messages in order do.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::mysql::MySqlPoolOptions;
use sqlx::MySqlPool;
use vigie_model::contract::{self, room_jid};
use vigie_model::Event;
use vigie_store::Recorded;
use vigie_xmpp::driver_tokio::Handle;
use vigie_xmpp::{ArchiveQuery, Event as XmppEvent, History, RoomMessage};

use crate::session::{backoff, join_rooms, XmppArgs};
use crate::stats::Stats;

#[derive(Debug, Clone, clap::Args)]
pub struct CollectorArgs {
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    #[command(flatten)]
    pub xmpp: XmppArgs,
    #[arg(long, env = "COLLECTOR_NICK", default_value = "collector")]
    pub nick: String,
    /// Only events posted by this nick are trusted (the gateway's).
    #[arg(long, env = "GATEWAY_NICK", default_value = crate::gateway::NICK)]
    pub gateway_nick: String,
}

/// Archive page size asked for (the server may cap it: see `deploy/prosody.cfg.lua`).
pub const PAGE: u32 = 1000;
/// Most live events stored in one transaction.
const MAX_BURST: usize = 500;

/// Runs until `shutdown` resolves, reconnecting to XMPP and MySQL as needed.
pub async fn run(
    args: CollectorArgs,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let pool = MySqlPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy(&args.database_url)
        .context("DATABASE_URL is not a MySQL URL")?;
    tokio::pin!(shutdown);
    // MySQL may still be starting: wait for it (the events wait in the rooms' archives). Only
    // what retrying cannot fix, such as refused credentials, ends the program.
    tokio::select! {
        () = &mut shutdown => return Ok(()),
        migrated = vigie_store::migrate_when_available(&pool) => {
            migrated.context("preparing the MySQL database (DATABASE_URL)")?;
        }
    }
    let mut stats = Stats::default();
    let mut attempt = 0;
    loop {
        let session = tokio::select! {
            () = &mut shutdown => return Ok(()),
            session = collect(&args, &pool, &mut stats) => session,
        };
        match session {
            Ok(()) => attempt = 0,
            Err(error) => {
                attempt += 1;
                tracing::warn!(
                    error = format!("{error:#}"),
                    attempt,
                    "collector session ended; reconnecting"
                );
            }
        }
        stats.log();
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            () = tokio::time::sleep(backoff(attempt)) => {}
        }
    }
}

/// One XMPP session: join, catch up, then store live events until the session ends.
async fn collect(args: &CollectorArgs, pool: &MySqlPool, stats: &mut Stats) -> anyhow::Result<()> {
    let rooms: Vec<String> = contract::EVENT_ROOMS.iter().map(|r| room_jid(r)).collect();
    let (handle, mut events, early) =
        join_rooms(&args.xmpp, &rooms, &args.nick, History::None).await?;
    tracing::info!(?rooms, "collector joined the event rooms");
    let mut collector = Collector {
        args,
        pool,
        stats,
        caught_up: HashSet::new(),
        queries: HashMap::new(),
        live: HashMap::new(),
    };
    for room in &rooms {
        let after_id = vigie_store::load_archive_cursor(pool, room).await?;
        collector.ask_page(&handle, room, after_id).await?;
    }
    for event in early {
        collector.handle(&handle, event).await?;
    }
    while let Some(first) = events.recv().await {
        // What arrived together is stored together: one transaction per room and burst.
        let burst = std::iter::once(first).chain(std::iter::from_fn(|| events.try_recv().ok()));
        for event in burst.take(MAX_BURST) {
            if let XmppEvent::Disconnected { error } = event {
                anyhow::bail!("XMPP session ended: {error:?}");
            }
            collector.handle(&handle, event).await?;
        }
        collector.store_live().await?;
    }
    anyhow::bail!("XMPP session ended")
}

struct Collector<'a> {
    args: &'a CollectorArgs,
    pool: &'a MySqlPool,
    stats: &'a mut Stats,
    /// Rooms whose archive was read to the end in this session.
    caught_up: HashSet<String>,
    /// Archive query id → its room, when it was asked, and the events of the page so far.
    queries: HashMap<String, (String, Instant, Vec<Event>)>,
    /// Live events not stored yet, by room, with the room's archive id to move to.
    live: HashMap<String, (Vec<Event>, Option<String>)>,
}

impl Collector<'_> {
    async fn ask_page(
        &mut self,
        handle: &Handle,
        room: &str,
        after_id: Option<String>,
    ) -> anyhow::Result<()> {
        let query = ArchiveQuery {
            after_id,
            max: Some(PAGE),
            ..ArchiveQuery::default()
        };
        let id = handle.query_room_archive(room, query).await?;
        self.queries
            .insert(id, (room.to_owned(), Instant::now(), Vec::new()));
        Ok(())
    }

    async fn handle(&mut self, handle: &Handle, event: XmppEvent) -> anyhow::Result<()> {
        match event {
            XmppEvent::ArchivedMessage { query_id, message } => {
                if let (Some(event), Some((_, _, page))) =
                    (self.event_of(&message), self.queries.get_mut(&query_id))
                {
                    page.push(event);
                }
            }
            XmppEvent::ArchiveQueryDone { query_id, result } => {
                let Some((room, asked, page)) = self.queries.remove(&query_id) else {
                    return Ok(());
                };
                let done = result.with_context(|| format!("reading the archive of {room}"))?;
                let round_trip = asked.elapsed();
                // The next page is on its way while this one is written (its position is only
                // saved with this page's events, so a crash mid-way replays from here).
                if done.complete {
                    tracing::info!(%room, "caught up with the room archive");
                } else {
                    self.ask_page(handle, &room, done.last_id.clone()).await?;
                }
                let writing = Instant::now();
                match &done.last_id {
                    Some(last_id) => self.store(&page, Some((&room, last_id))).await?,
                    None => self.store(&page, None).await?,
                }
                tracing::debug!(
                    %room,
                    events = page.len(),
                    round_trip_ms = round_trip.as_secs_f64() * 1e3,
                    write_ms = writing.elapsed().as_secs_f64() * 1e3,
                    "archive page stored"
                );
                if done.complete {
                    self.caught_up.insert(room);
                }
            }
            XmppEvent::GroupchatMessage(message) => {
                if let Some(event) = self.event_of(&message) {
                    // Before the room is caught up its archive position belongs to the pages.
                    let caught_up = self.caught_up.contains(&message.room);
                    let (events, position) = self.live.entry(message.room).or_default();
                    events.push(event);
                    if caught_up && message.stanza_id.is_some() {
                        *position = message.stanza_id;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The event a message carries, if it is a valid one from the gateway.
    fn event_of(&mut self, message: &RoomMessage) -> Option<Event> {
        if message.nick != self.args.gateway_nick {
            return None;
        }
        match Event::find_in(&message.payloads)? {
            Ok(event) => Some(event),
            Err(error) => {
                tracing::warn!(%error, room = %message.room, "skipping a malformed event");
                self.stats.reject("event");
                None
            }
        }
    }

    async fn store_live(&mut self) -> anyhow::Result<()> {
        for (room, (events, position)) in std::mem::take(&mut self.live) {
            self.store(&events, position.as_deref().map(|id| (room.as_str(), id)))
                .await?;
        }
        Ok(())
    }

    async fn store(
        &mut self,
        events: &[Event],
        position: Option<(&str, &str)>,
    ) -> anyhow::Result<()> {
        let outcomes = match position {
            Some((room, archive_id)) => {
                vigie_store::record_events_and_cursor(self.pool, events, room, archive_id).await?
            }
            None => vigie_store::record_events(self.pool, events).await?,
        };
        if let Some(newest) = events.iter().map(|event| event.occurred_at).max() {
            let lag = time::OffsetDateTime::now_utc() - newest;
            self.stats.set_lag(lag.whole_milliseconds() as i64);
        }
        for (event, outcome) in events.iter().zip(outcomes) {
            match outcome {
                Recorded::Inserted => self.stats.events(std::slice::from_ref(event)),
                Recorded::Duplicate => {}
                Recorded::Rejected(rejection) => {
                    tracing::warn!(event = %event.id, %rejection, "event not storable");
                    self.stats.reject("unstorable");
                }
            }
        }
        Ok(())
    }
}
