//! The collector's position in each room's MAM archive (table `collector_cursor`).

use sqlx::{MySqlExecutor, MySqlPool};

use crate::Result;

/// The archive id of the last message stored from `room`, if any.
pub async fn load_archive_cursor(pool: &MySqlPool, room: &str) -> Result<Option<String>> {
    sqlx::query_scalar("SELECT archive_id FROM collector_cursor WHERE room = ?")
        .bind(room)
        .fetch_optional(pool)
        .await
}

/// Remembers `archive_id` as the last message stored from `room`.
pub async fn save_archive_cursor(pool: &MySqlPool, room: &str, archive_id: &str) -> Result<()> {
    save(pool, room, archive_id).await
}

pub(crate) async fn save(
    executor: impl MySqlExecutor<'_>,
    room: &str,
    archive_id: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO collector_cursor (room, archive_id) VALUES (?, ?) \
         ON DUPLICATE KEY UPDATE archive_id = VALUES(archive_id)",
    )
    .bind(room)
    .bind(archive_id)
    .execute(executor)
    .await?;
    Ok(())
}
