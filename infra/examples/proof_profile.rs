//! Where the time of an inclusion proof goes below GraphQL and HTTP (BENCHMARKS.md, target 2):
//! times [`audit_tree::inclusion_proof`] and its parts in process, against a log written by
//! `build_log`, over a pool opened as the server opens it and over variants of that pool.
//!
//! ```text
//! cargo run --release -p amanah-infra --example proof_profile -- DB_PATH [--requests 5000] [--seed 1]
//! ```
//!
//! For each pool it prints p50/p95/p99/max of, in turn (each sequential, after 500 warm-up
//! calls): `SELECT 1` (one statement through the pool: acquire + one round trip to the SQLite
//! worker thread), [`audit_tree::latest_checkpoint`], 1 and 21 consecutive leaves in one range
//! query (what rows cost, beside the lookups), [`audit_tree::leaf_at`] (one node by primary key) and the whole [`audit_tree::inclusion_proof`] at the latest checkpoint (the
//! checkpoint lookup, then every node of the proof in one query). The pools:
//!
//! * `server`: [`database::connect`], exactly what `amanah serve` uses;
//! * `no-ping`: the same settings but without sqlx's liveness ping on every pool checkout
//!   (`test_before_acquire(false)`), which costs a round trip to the worker thread per query;
//! * `one-conn`: the same settings as `no-ping`, one connection only;
//! * `mmap`: as `no-ping`, plus `PRAGMA mmap_size` of 2 GiB (pages read from the mapped file,
//!   no `pread` per page missing from the connection's own page cache);
//! * `cache`: as `no-ping`, plus `PRAGMA cache_size` of 64 MiB per connection (default 2 MiB).

use std::time::{Duration, Instant};

use amanah_infra::audit::tree as audit_tree;
use amanah_infra::store::database;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait as _, Database, DatabaseConnection, Statement};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(pool: &str, what: &str, mut latencies: Vec<Duration>) {
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{pool:<8} {what:<22} p50 {:.3} ms  p95 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 95.0)),
        ms(percentile(&latencies, 99.0)),
        ms(*latencies.last().unwrap_or(&Duration::ZERO)),
    );
}

/// The server's SQLite settings ([`database::connect`]), with a chosen pool size and ping.
/// A `PRAGMA` set on every connection of a pool variant: name and value.
type Pragma = Option<(&'static str, &'static str)>;

async fn variant(
    path: &str,
    connections: u32,
    ping: bool,
    pragma: Pragma,
) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let mut options = ConnectOptions::new(format!("sqlite://{path}?mode=rw"));
    options
        .max_connections(connections)
        .connect_timeout(database::CONNECT_TIMEOUT)
        .acquire_timeout(database::CONNECT_TIMEOUT)
        .sqlx_logging(false)
        .test_before_acquire(ping)
        .map_sqlx_sqlite_opts(move |sqlite: SqliteConnectOptions| {
            let sqlite = sqlite
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(database::SQLITE_BUSY_TIMEOUT);
            match pragma {
                Some((key, value)) => sqlite.pragma(key, value),
                None => sqlite,
            }
        });
    Database::connect(options).await
}

async fn time<F, Fut>(
    requests: usize,
    mut call: F,
) -> Result<Vec<Duration>, Box<dyn std::error::Error>>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<(), Box<dyn std::error::Error>>>,
{
    let mut latencies = Vec::with_capacity(requests);
    for n in 0..500 + requests {
        let began = Instant::now();
        call(n).await?;
        if n >= 500 {
            latencies.push(began.elapsed());
        }
    }
    Ok(latencies)
}

async fn profile(
    name: &str,
    db: &DatabaseConnection,
    requests: usize,
    seed: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let size = audit_tree::latest_checkpoint(db)
        .await?
        .ok_or("no signed checkpoint")?
        .size;
    let select_one = time(requests, |_| async {
        db.query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT 1",
        ))
        .await?;
        Ok(())
    })
    .await?;
    report(name, "SELECT 1", select_one);
    let checkpoint = time(requests, |_| async {
        audit_tree::latest_checkpoint(db).await?;
        Ok(())
    })
    .await?;
    report(name, "latest_checkpoint", checkpoint);
    let indexes: Vec<u64> = {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..500 + requests)
            .map(|_| rng.gen_range(0..size))
            .collect()
    };
    // The cost of rows themselves: consecutive leaves, one cheap range scan, 1 or 21 rows.
    for rows in [1_u64, 21] {
        let range = time(requests, |n| {
            let index = indexes[n].min(size - rows);
            async move {
                let sql = "SELECT level, idx, hash FROM merkle_nodes WHERE level = 0 AND idx >= ? \
                           AND idx < ?";
                let found = db
                    .query_all_raw(Statement::from_sql_and_values(
                        db.get_database_backend(),
                        sql,
                        [
                            i64::try_from(index)?.into(),
                            i64::try_from(index + rows)?.into(),
                        ],
                    ))
                    .await?;
                if found.len() as u64 != rows {
                    return Err("a leaf is missing".into());
                }
                Ok(())
            }
        })
        .await?;
        report(name, &format!("{rows} leaves (range)"), range);
    }
    let leaf = time(requests, |n| {
        let index = indexes[n];
        async move {
            audit_tree::leaf_at(db, index).await?;
            Ok(())
        }
    })
    .await?;
    report(name, "leaf_at (1 node)", leaf);
    let proof = time(requests, |n| {
        let index = indexes[n];
        async move {
            let hashes = audit_tree::inclusion_proof(db, index, None).await?.hashes;
            if hashes.is_empty() {
                return Err("an empty proof".into());
            }
            Ok(())
        }
    })
    .await?;
    report(name, "inclusion_proof", proof);
    Ok(())
}

#[tokio::main(worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut path = None;
    let mut requests = 5000;
    let mut seed = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--requests" => requests = value()?.parse()?,
            "--seed" => seed = value()?.parse()?,
            _ => path = Some(arg),
        }
    }
    let path = path.ok_or("usage: proof_profile DB_PATH [--requests N] [--seed S]")?;

    let server = database::connect(&format!("sqlite://{path}?mode=rw")).await?;
    profile("server", &server, requests, seed).await?;
    server.close().await?;
    let variants: [(&str, u32, Pragma); 4] = [
        ("no-ping", database::SQLITE_MAX_CONNECTIONS, None),
        ("one-conn", 1, None),
        (
            "mmap",
            database::SQLITE_MAX_CONNECTIONS,
            Some(("mmap_size", "2147483648")),
        ),
        (
            "cache",
            database::SQLITE_MAX_CONNECTIONS,
            Some(("cache_size", "-65536")),
        ),
    ];
    for (name, connections, pragma) in variants {
        let db = variant(&path, connections, false, pragma).await?;
        profile(name, &db, requests, seed).await?;
        db.close().await?;
    }
    Ok(())
}
