//! Applying the schema: once ([`migrate`]), or as soon as MySQL can be reached
//! ([`migrate_when_available`], what the server and the collector do at start).

use std::time::Duration;

use anyhow::Context;

/// The schema, applied by [`migrate`] and by `#[sqlx::test(migrator = "vigie_store::MIGRATOR")]`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a program waits for another one applying the migrations.
const MIGRATION_LOCK_SECONDS: i32 = 120;

/// The wait after the first failed attempt to reach MySQL, doubled after each failure…
const FIRST_RETRY: Duration = Duration::from_millis(500);
/// … up to this.
const LONGEST_RETRY: Duration = Duration::from_secs(30);

/// Applies the migrations, one program at a time: the server and the collector both call this at
/// start, and sqlx's own lock does not hold on MariaDB (its `GET_LOCK(…, -1)` returns at once), so
/// two programs starting together could each apply half. Our named lock serializes them.
pub async fn migrate(pool: &sqlx::MySqlPool) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await.context("connecting to MySQL")?;
    let locked: Option<i64> =
        sqlx::query_scalar("SELECT GET_LOCK(CONCAT('vigie-migrate-', DATABASE()), ?)")
            .bind(MIGRATION_LOCK_SECONDS)
            .fetch_one(&mut *conn)
            .await
            .context("taking the migration lock")?;
    anyhow::ensure!(
        locked == Some(1),
        "another program held the migration lock for {MIGRATION_LOCK_SECONDS} s"
    );
    // The lock lives on `conn`; the migrations run on another connection of the pool.
    let applied = MIGRATOR
        .run(pool)
        .await
        .context("applying the database migrations");
    sqlx::query("SELECT RELEASE_LOCK(CONCAT('vigie-migrate-', DATABASE()))")
        .execute(&mut *conn)
        .await
        .ok();
    applied
}

/// [`migrate`] as soon as MySQL can be reached: while it is down, still starting or overloaded
/// ([`is_unavailable`](crate::is_unavailable)), waits (0.5 s doubling up to 30 s, besides the
/// pool's own connection timeout) and tries again, with a warning each time. Only what waiting
/// cannot fix ends it with an error: refused credentials (MySQL error 1045), an unknown
/// database, a failed migration.
///
/// Never returns while MySQL stays away: a program races it with its shutdown.
pub async fn migrate_when_available(pool: &sqlx::MySqlPool) -> anyhow::Result<()> {
    let mut attempt = 0;
    loop {
        match migrate(pool).await {
            Ok(()) => {
                if attempt > 0 {
                    tracing::info!(attempt = attempt + 1, "MySQL available; schema up to date");
                }
                return Ok(());
            }
            Err(error) if unavailable(&error) => {
                attempt += 1;
                let retry_in = retry_delay(attempt);
                tracing::warn!(
                    error = format!("{error:#}"),
                    attempt,
                    retry_in_ms = retry_in.as_millis() as u64,
                    "MySQL unavailable; retrying"
                );
                tokio::time::sleep(retry_in).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Whether MySQL failed for now (down, starting, overloaded) rather than refused us.
fn unavailable(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<sqlx::Error>())
        .any(crate::is_unavailable)
}

/// The wait after `failures` failed attempts in a row.
fn retry_delay(failures: u32) -> Duration {
    FIRST_RETRY
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(LONGEST_RETRY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_30_s() {
        let delays: Vec<u64> = (1..=9).map(|n| retry_delay(n).as_millis() as u64).collect();
        assert_eq!(
            delays,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        assert_eq!(retry_delay(u32::MAX), LONGEST_RETRY);
    }

    #[test]
    fn only_a_database_out_of_reach_is_worth_waiting_for() {
        let down = anyhow::Error::new(sqlx::Error::PoolTimedOut).context("connecting to MySQL");
        assert!(unavailable(&down));
        let refused = anyhow::Error::new(sqlx::Error::Protocol("access denied".into()));
        assert!(!unavailable(&refused));
        assert!(!unavailable(&anyhow::anyhow!("a migration failed")));
    }
}
