//! Builds a large audit log in a SQLite database through the real append path, for the proof
//! latency benchmark (BENCHMARKS.md, target 2).
//!
//! ```text
//! cargo run --release -p amanah-infra --example build_log -- DB_PATH EVENTS [--tasks K] [--key FILE]
//! ```
//!
//! Creates and migrates `DB_PATH` (which must not hold events yet), loads or creates the
//! checkpoint signing key `FILE` (default: `audit-signing.key` beside the database, origin
//! `amanah.local/audit` — what `amanah serve` uses with `AMANAH_DATA_DIR` set to that directory),
//! and appends EVENTS single-event requests from K concurrent tasks (default 256) through
//! [`SqlEventStore`] with a checkpoint signer, so that group commit forms batches, the Merkle tree
//! is maintained and one checkpoint is signed per batch, exactly as the server does. Each task
//! owns its own streams, so no append conflicts. When done it writes the signed tree sizes, one a
//! line, to `DB_PATH.checkpoints` (the load driver picks `treeSize` arguments from it).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use amanah_domain::ports::EventStore as _;
use amanah_infra::audit::files::load_or_create_signing_key;
use amanah_infra::store::database;
use amanah_infra::{NoProjection, SqlEventStore, StoreConfig};
use sea_orm::{ConnectionTrait as _, DbBackend, Statement};

mod common;
#[path = "common/requests.rs"]
mod requests;

/// Streams each task appends to, in turn.
const STREAMS_PER_TASK: u64 = 8;

/// The origin `amanah serve` signs with by default.
const ORIGIN: &str = "amanah.local/audit";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut positional = Vec::new();
    let mut tasks: u64 = 256;
    let mut key_path = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tasks" => tasks = args.next().ok_or("--tasks K")?.parse()?,
            "--key" => key_path = Some(PathBuf::from(args.next().ok_or("--key FILE")?)),
            _ => positional.push(arg),
        }
    }
    let [db_path, events] = positional.as_slice() else {
        return Err("usage: build_log DB_PATH EVENTS [--tasks K] [--key FILE]".into());
    };
    let db_path = PathBuf::from(db_path);
    let events: u64 = events.replace('_', "").parse()?;
    let tasks = tasks.clamp(1, events.max(1));
    let key_path = key_path.unwrap_or_else(|| {
        db_path
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join("audit-signing.key")
    });

    let db = database::connect(&format!("sqlite://{}?mode=rwc", db_path.display())).await?;
    database::migrate(&db).await?;
    let (key, created) = load_or_create_signing_key(&key_path, ORIGIN)?;
    println!(
        "{} signing key {} ({})",
        if created { "created" } else { "loaded" },
        key_path.display(),
        key.verifier_key()
    );
    let store = SqlEventStore::start(
        db.clone(),
        StoreConfig {
            checkpoint_signer: Some(Arc::new(key)),
            ..StoreConfig::default()
        },
        NoProjection,
    );
    if store.size().await? != 0 {
        return Err(format!("{} already holds events", db_path.display()).into());
    }

    let started = Instant::now();
    let mut handles = Vec::new();
    for task in 0..tasks {
        // Task t appends events t, t + K, t + 2K, … of the EVENTS, round-robin over its streams.
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut versions = [0_u64; STREAMS_PER_TASK as usize];
            let mut n = task;
            let mut done = 0_u64;
            while n < events {
                let slot = (done % STREAMS_PER_TASK) as usize;
                let stream = task * STREAMS_PER_TASK + slot as u64;
                let request = requests::request(stream, versions[slot], n);
                store.append(request).await.map_err(|e| e.to_string())?;
                versions[slot] += 1;
                done += 1;
                n += tasks;
                if task == 0 && done.is_multiple_of((100_000 / tasks).max(1)) {
                    let size = store.size().await.map_err(|e| e.to_string())?;
                    let stats = store.stats();
                    println!(
                        "{size:>9} events, {:.0} events/s, {:.1} requests/batch",
                        size as f64 / started.elapsed().as_secs_f64(),
                        stats.requests as f64 / stats.batches.max(1) as f64
                    );
                }
            }
            Ok::<u64, String>(done)
        }));
    }
    let mut appended = 0;
    for handle in handles {
        appended += handle.await??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let stats = store.stats();
    println!(
        "appended {appended} events in {seconds:.1} s ({:.0} events/s) from {tasks} tasks: {} batches, \
         {:.1} requests/batch",
        appended as f64 / seconds,
        stats.batches,
        stats.requests as f64 / stats.batches.max(1) as f64
    );

    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT tree_size FROM checkpoints ORDER BY tree_size",
        ))
        .await?;
    let mut sizes = String::new();
    for row in &rows {
        let size: i64 = row.try_get_by_index(0)?;
        sizes.push_str(&format!("{size}\n"));
    }
    let sizes_path = PathBuf::from(format!("{}.checkpoints", db_path.display()));
    std::fs::write(&sizes_path, sizes)?;
    println!(
        "{} signed checkpoints, sizes in {}; log size {}",
        rows.len(),
        sizes_path.display(),
        store.size().await?
    );
    Ok(())
}
