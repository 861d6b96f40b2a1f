//! Benchmark of the history API over a seeded database: for each query shape, a page of 100
//! fetched three ways, interleaved —
//! - `sql`: the statement `list_incidents` runs (`vigie_store::list_statement`), rows only;
//! - `store`: `vigie_store::list_incidents` (the SQL and the row mapping);
//! - `api`: `GET /api/v1/incidents?…` over HTTP/1.1 keep-alive to the server running in this
//!   process (routing, parsing, JSON, compression layer, metrics, the body read in full);
//! - and where the difference goes: `json`, serializing the store's page; before the table,
//!   the fixed costs of a request without the list (`GET /healthz`) and of taking a connection
//!   from the pool;
//!
//! then a CSV export read over HTTP: rows per second and the process's resident memory while it
//! streams. How to run it and the numbers measured: docs/benchmarks/server.md
//! (`bench/server/run.sh` seeds a database and runs this).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::body::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sqlx::MySqlPool;
use time::format_description::well_known::Rfc3339;
use time::{Duration as TimeDuration, OffsetDateTime};
use vigie_server::{Config, IncidentQuery};

#[derive(Debug, Parser)]
#[command(about = "p50/p99 of each query shape of the history API, and the CSV export rate")]
struct Args {
    /// A database filled by `vigie-seed`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Timed requests per shape and way (after a warm-up of a tenth as many).
    #[arg(long, default_value_t = 200)]
    iterations: usize,
    /// Filters of the CSV export (empty: skip the export).
    #[arg(long, default_value = "kind=accident")]
    export: String,
    /// Only the shapes whose name contains this.
    #[arg(long)]
    only: Option<String>,
    /// Print the EXPLAIN of each shape's statement instead of timing it.
    #[arg(long)]
    explain: bool,
    /// Pages of each walk: the deep-page shapes paged on by cursor over HTTP, as a user pages
    /// back (0: no walks).
    #[arg(long, default_value_t = 100)]
    walk_pages: usize,
}

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

/// The allocator `vigie-server` ships with (server/src/main.rs), for the server run here.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pool = vigie_server::connect(&args.database_url).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let config = Config::with_database(&args.database_url);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(vigie_server::serve(config, listener, async {
        stopped.await.ok();
    }));
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();

    let shapes = shapes(&pool, &client, &base).await?;
    if args.explain {
        for (name, query) in &shapes {
            explain(&pool, name, query).await?;
        }
        stop.send(()).ok();
        return server.await?;
    }
    fixed_costs(&pool, &client, &base, args.iterations).await?;
    println!(
        "| shape | rows | sql p50 | sql p99 | store p50 | store p99 | json p50 | api p50 | api p99 | api÷sql p50 | api÷sql p99 |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (name, query) in &shapes {
        if args.only.as_ref().is_some_and(|only| !name.contains(only)) {
            continue;
        }
        let parsed = IncidentQuery::parse(query).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        let uri = format!("{base}/api/v1/incidents?{query}");
        let (mut sql, mut store, mut json, mut api) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut rows = 0;
        for round in 0..args.iterations + args.iterations / 10 {
            let timed = round >= args.iterations / 10;
            let started = Instant::now();
            rows =
                vigie_store::list_statement(&parsed.filter, parsed.limit, parsed.cursor.as_ref())
                    .build()
                    .fetch_all(&pool)
                    .await?
                    .len()
                    .min(parsed.limit as usize);
            let sql_time = started.elapsed();
            let started = Instant::now();
            let page = vigie_store::list_incidents(
                &pool,
                &parsed.filter,
                parsed.limit,
                parsed.cursor.as_ref(),
            )
            .await?;
            let store_time = started.elapsed();
            let started = Instant::now();
            std::hint::black_box(serde_json::to_vec(&page)?);
            let json_time = started.elapsed();
            let started = Instant::now();
            let body = get(&client, &uri).await?;
            let api_time = started.elapsed();
            anyhow::ensure!(body.starts_with(b"{\"incidents\""), "{name}: {body:?}");
            if timed {
                sql.push(sql_time);
                store.push(store_time);
                json.push(json_time);
                api.push(api_time);
            }
        }
        let (sql, store, api) = (summary(sql), summary(store), summary(api));
        println!(
            "| {name} | {rows} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.2} |",
            ms(sql.0),
            ms(sql.1),
            ms(store.0),
            ms(store.1),
            ms(summary(json).0),
            ms(api.0),
            ms(api.1),
            api.0.as_secs_f64() / sql.0.as_secs_f64(),
            api.1.as_secs_f64() / sql.1.as_secs_f64(),
        );
    }

    if args.walk_pages > 0 {
        walks(&client, &base, &shapes, &args).await?;
    }
    if !args.export.is_empty() {
        export(
            &client,
            &format!("{base}/api/v1/incidents.csv?{}", args.export),
        )
        .await?;
    }
    stop.send(()).ok();
    server.await??;
    Ok(())
}

/// The query shapes, each with a page of 100: every filter alone, common combinations, and
/// deep keyset pages (a cursor in the middle of the history).
async fn shapes(
    pool: &MySqlPool,
    client: &HttpClient,
    base: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let (first, last): (OffsetDateTime, OffsetDateTime) =
        sqlx::query_as("SELECT MIN(opened_at), MAX(opened_at) FROM incidents")
            .fetch_one(pool)
            .await
            .context("an empty database? run vigie-seed first")?;
    let middle = first + (last - first) / 2_i32;
    let day_before = middle - TimeDuration::days(1);
    let (middle, day_before) = (middle.format(&Rfc3339)?, day_before.format(&Rfc3339)?);
    // The key of the last incident opened before the middle, as a cursor.
    let page: serde_json::Value = serde_json::from_slice(
        &get(
            client,
            &format!("{base}/api/v1/incidents?limit=1&to={middle}"),
        )
        .await?,
    )?;
    let cursor = page["next_cursor"]
        .as_str()
        .context("no cursor in the middle of the history")?
        .to_owned();
    let window = format!("from={day_before}&to={middle}");
    Ok([
        ("no filter", String::new()),
        ("kind=jam", "kind=jam".into()),
        ("kind=accident", "kind=accident".into()),
        ("kind=jam,accident", "kind=jam,accident".into()),
        ("status=open", "status=open".into()),
        ("severity=major", "severity=major".into()),
        ("zone=centre", "zone=centre".into()),
        ("zone=north,east", "zone=north,east".into()),
        ("vehicle=v42", "vehicle=v42".into()),
        ("from/to (one day)", window.clone()),
        ("bbox (west half)", "bbox=4.80,45.74,4.835,45.78".into()),
        ("text=entered", "text=entered".into()),
        ("kind=jam&status=open", "kind=jam&status=open".into()),
        (
            "kind=accident&severity=major&zone=east",
            "kind=accident&severity=major&zone=east".into(),
        ),
        ("kind=jam&from/to", format!("kind=jam&{window}")),
        ("vehicle=v42&kind=jam", "vehicle=v42&kind=jam".into()),
        ("deep page (cursor mid-history)", format!("cursor={cursor}")),
        ("deep page kind=jam", format!("kind=jam&cursor={cursor}")),
        (
            "deep page vehicle=v42",
            format!("vehicle=v42&cursor={cursor}"),
        ),
    ]
    .into_iter()
    .map(|(name, query)| (name.to_owned(), query))
    .collect())
}

/// p50 of what every API request pays besides its query: the HTTP round trip through the
/// router and its layers (`/healthz`, no database) and taking a pooled connection.
async fn fixed_costs(
    pool: &MySqlPool,
    client: &HttpClient,
    base: &str,
    iterations: usize,
) -> anyhow::Result<()> {
    let healthz = format!("{base}/healthz");
    let (mut http, mut acquire) = (Vec::new(), Vec::new());
    for _ in 0..iterations {
        let started = Instant::now();
        get(client, &healthz).await?;
        http.push(started.elapsed());
        let started = Instant::now();
        drop(pool.acquire().await?);
        acquire.push(started.elapsed());
    }
    println!(
        "Fixed costs, p50 of {iterations}: GET /healthz {}, pool acquire {}\n",
        ms(summary(http).0),
        ms(summary(acquire).0)
    );
    Ok(())
}

/// The EXPLAIN of the statement `list_incidents` runs for `query`, as a Markdown table.
async fn explain(pool: &MySqlPool, name: &str, query: &str) -> anyhow::Result<()> {
    use sqlx::Execute as _;
    let parsed = IncidentQuery::parse(query).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let mut statement =
        vigie_store::list_statement(&parsed.filter, parsed.limit, parsed.cursor.as_ref());
    let mut statement = statement.build();
    let arguments = statement
        .take_arguments()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .context("arguments")?;
    let sql = format!("EXPLAIN {}", statement.sql());
    let rows = sqlx::query_with(&sql, arguments).fetch_all(pool).await?;
    println!("\n`{name}`\n\n| id | select_type | table | type | key | rows | Extra |");
    println!("| --- | --- | --- | --- | --- | ---: | --- |");
    for row in rows {
        let cells: Vec<String> = ["id", "select_type", "table", "type", "key", "rows", "Extra"]
            .into_iter()
            .map(|column| cell(&row, column))
            .collect();
        println!("| {} |", cells.join(" | "));
    }
    Ok(())
}

/// An EXPLAIN cell as text, whatever its type.
fn cell(row: &sqlx::mysql::MySqlRow, column: &str) -> String {
    use sqlx::Row as _;
    row.try_get::<Option<String>, _>(column)
        .map(Option::unwrap_or_default)
        .or_else(|_| {
            row.try_get::<Option<i64>, _>(column)
                .map(|n| n.map(|n| n.to_string()).unwrap_or_default())
        })
        .or_else(|_| {
            row.try_get::<Option<u64>, _>(column)
                .map(|n| n.map(|n| n.to_string()).unwrap_or_default())
        })
        .unwrap_or_else(|_| "?".into())
}

async fn get(client: &HttpClient, uri: &str) -> anyhow::Result<Bytes> {
    let response = client.get(uri.parse()?).await?;
    anyhow::ensure!(
        response.status().is_success(),
        "{uri}: {}",
        response.status()
    );
    Ok(response.into_body().collect().await?.to_bytes())
}

/// Each deep-page shape paged on by its cursors, twice: the shapes above repeat one request,
/// while a user's every page has a new cursor, and the second walk runs on the statements the
/// server cached in the first (MariaDB once ran those 200× slower: docs/benchmarks/server.md).
async fn walks(
    client: &HttpClient,
    base: &str,
    shapes: &[(String, String)],
    args: &Args,
) -> anyhow::Result<()> {
    println!(
        "\n| walk ({} pages) | first p50 | first p99 | again p50 | again p99 |",
        args.walk_pages
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (name, query) in shapes
        .iter()
        .filter(|(name, _)| name.starts_with("deep page"))
    {
        if args.only.as_ref().is_some_and(|only| !name.contains(only)) {
            continue;
        }
        let (filters, start): (Vec<&str>, Vec<&str>) = query
            .split('&')
            .partition(|part| !part.starts_with("cursor="));
        let start = start.first().context("a deep page without a cursor")?;
        let mut cells = Vec::new();
        for _ in 0..2 {
            let mut cursor = start.trim_start_matches("cursor=").to_owned();
            let mut times = Vec::new();
            while times.len() < args.walk_pages {
                let mut parts = filters.clone();
                let cursor_part = format!("cursor={cursor}");
                parts.push(&cursor_part);
                let uri = format!("{base}/api/v1/incidents?{}", parts.join("&"));
                let started = Instant::now();
                let body = get(client, &uri).await?;
                times.push(started.elapsed());
                let page: serde_json::Value = serde_json::from_slice(&body)?;
                match page["next_cursor"].as_str() {
                    Some(next) => cursor = next.to_owned(),
                    None => break,
                }
            }
            let (p50, p99) = summary(times);
            cells.extend([ms(p50), ms(p99)]);
        }
        println!("| {name} | {} |", cells.join(" | "));
    }
    Ok(())
}

/// Streams the export, counting its rows and sampling the resident memory.
async fn export(client: &HttpClient, uri: &str) -> anyhow::Result<()> {
    let before = resident_kib();
    let peak = std::sync::Arc::new(AtomicU64::new(before));
    let sampler = tokio::spawn({
        let peak = peak.clone();
        async move {
            loop {
                peak.fetch_max(resident_kib(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    });
    let started = Instant::now();
    let response = client.get(uri.parse()?).await?;
    anyhow::ensure!(
        response.status().is_success(),
        "{uri}: {}",
        response.status()
    );
    let mut body = response.into_body();
    let (mut lines, mut bytes) = (0u64, 0u64);
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            lines += data.iter().filter(|&&b| b == b'\n').count() as u64;
            bytes += data.len() as u64;
        }
    }
    let elapsed = started.elapsed();
    sampler.abort();
    let after = resident_kib();
    let rows = lines.saturating_sub(1);
    println!();
    println!(
        "CSV export {uri}: {rows} rows, {:.1} MB in {:.2} s = {:.0} rows/s; resident memory (server and client) {} MiB before, peak {} MiB, {} MiB after",
        bytes as f64 / 1e6,
        elapsed.as_secs_f64(),
        rows as f64 / elapsed.as_secs_f64(),
        before / 1024,
        peak.load(Ordering::Relaxed).max(after) / 1024,
        after / 1024,
    );
    Ok(())
}

/// VmRSS of this process (server and client), in KiB.
fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// (p50, p99).
fn summary(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
    (at(0.50), at(0.99))
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}
