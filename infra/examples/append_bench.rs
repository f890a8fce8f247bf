//! What the Merkle tree and checkpoint signing cost the append path (BENCHMARKS.md, target 3).
//!
//! ```text
//! cargo run --release -p amanah-infra --example append_bench -- \
//!     [--events 20000] [--tasks 16,64] [--runs 3] [--engines sqlite,postgres]
//! ```
//!
//! For each engine and each concurrency K, and `--runs` times, appends EVENTS single-event
//! requests from K concurrent tasks (each task its own streams, EVENTS / K requests in a row)
//! through [`SqlEventStore`] into a fresh, migrated database, in three modes:
//!
//! * `bare`: `maintain_tree: false`, no signer — the log alone;
//! * `tree`: the Merkle tree maintained, no signer;
//! * `signed`: the tree and one signed checkpoint per batch;
//! * `served`: as `signed`, with the in-memory copy of the tree following the log
//!   ([`TreeCache::follow`], refreshing after every batch) — what `amanah serve` does. Not timed:
//!   waiting for the copy to catch up at the end, which checks that it did.
//!
//! The modes run in turn within each run (rotating which goes first), each on its own fresh
//! database, and the medians of events/s are compared: overhead = bare rate / mode rate − 1.
//! PostgreSQL runs when `AMANAH_TEST_POSTGRES_URL` is set (a scratch database per measurement,
//! created on that server and dropped afterwards), or when `--engines` names it.

use std::sync::Arc;
use std::time::Instant;

use amanah_audit::note::SigningKey;
use amanah_domain::ports::EventStore as _;
use amanah_infra::audit::tree::latest_checkpoint;
use amanah_infra::audit::tree_cache::TreeCache;
use amanah_infra::testing::{POSTGRES_URL_VAR, TestDatabase};
use amanah_infra::{NoProjection, SqlEventStore, StoreConfig};

mod common;
#[path = "common/requests.rs"]
mod requests;

/// Streams each task appends to, in turn.
const STREAMS_PER_TASK: u64 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Bare,
    Tree,
    Signed,
    Served,
}

const MODES: [Mode; 4] = [Mode::Bare, Mode::Tree, Mode::Signed, Mode::Served];

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Self::Bare => "bare (no tree, no signer)",
            Self::Tree => "tree, no signer",
            Self::Signed => "tree + signed checkpoints",
            Self::Served => "signed + tree copy",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Sqlite,
    Postgres,
}

/// One measurement: appends `events` from `tasks` tasks into a fresh database; events/s and
/// requests per batch.
async fn measure(
    engine: Engine,
    mode: Mode,
    tasks: u64,
    events: u64,
) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let database = match engine {
        Engine::Sqlite => TestDatabase::try_sqlite().await?,
        Engine::Postgres => TestDatabase::try_postgres()
            .await?
            .ok_or("no PostgreSQL server")?,
    };
    let signer = Arc::new(SigningKey::from_seed("bench.example/audit", &[7; 32])?);
    let store = SqlEventStore::start(
        database.connection().clone(),
        StoreConfig {
            checkpoint_signer: matches!(mode, Mode::Signed | Mode::Served).then_some(signer),
            maintain_tree: mode != Mode::Bare,
            ..StoreConfig::default()
        },
        NoProjection,
    );
    let copy = Arc::new(TreeCache::new(u64::MAX));
    let follower = (mode == Mode::Served).then(|| copy.follow(&store));
    // Requests are built before the clock starts: only the store is timed.
    let mut work = Vec::new();
    for task in 0..tasks {
        let mut requests = Vec::new();
        let mut versions = [0_u64; STREAMS_PER_TASK as usize];
        let mut n = task;
        while n < events {
            let slot = (requests.len() as u64 % STREAMS_PER_TASK) as usize;
            let stream = task * STREAMS_PER_TASK + slot as u64;
            requests.push(requests::request(stream, versions[slot], n));
            versions[slot] += 1;
            n += tasks;
        }
        work.push(requests);
    }

    let started = Instant::now();
    let mut handles = Vec::new();
    for requests in work {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            for request in requests {
                store.append(request).await?;
            }
            Ok::<(), amanah_domain::ports::StoreError>(())
        }));
    }
    for handle in handles {
        handle.await??;
    }
    let seconds = started.elapsed().as_secs_f64();

    let stats = store.stats();
    let size = store.size().await?;
    if size != events || stats.events != events {
        return Err(format!("appended {size} events, expected {events}").into());
    }
    let checkpoint = latest_checkpoint(database.connection()).await?;
    match (mode, checkpoint) {
        (Mode::Signed | Mode::Served, Some(checkpoint)) if checkpoint.size == events => {}
        (Mode::Signed | Mode::Served, _) => {
            return Err("the last batch has no signed checkpoint".into());
        }
        (_, Some(_)) => return Err("a checkpoint was signed without a signer".into()),
        (_, None) => {}
    }
    if follower.is_some() {
        let nodes: u64 = (0..64).map(|level| events >> level).sum();
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        while copy.stats().nodes != nodes {
            if Instant::now() > deadline {
                return Err(format!("the tree copy holds {:?}", copy.stats()).into());
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
    drop(copy);
    drop(store);
    database.cleanup().await;
    Ok((
        events as f64 / seconds,
        stats.requests as f64 / stats.batches.max(1) as f64,
    ))
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        len if len % 2 == 1 => sorted[len / 2],
        len => (sorted[len / 2 - 1] + sorted[len / 2]) / 2.0,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut events: u64 = 20_000;
    let mut task_counts: Vec<u64> = vec![16, 64];
    let mut runs = 3;
    let mut engines = vec![Engine::Sqlite];
    if std::env::var_os(POSTGRES_URL_VAR).is_some_and(|url| !url.is_empty()) {
        engines.push(Engine::Postgres);
    }
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--events" => events = value()?.replace('_', "").parse()?,
            "--runs" => runs = value()?.parse()?,
            "--tasks" => {
                task_counts = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
            }
            "--engines" => {
                engines = value()?
                    .split(',')
                    .map(|name| match name {
                        "sqlite" => Ok(Engine::Sqlite),
                        "postgres" => Ok(Engine::Postgres),
                        other => Err(format!("unknown engine {other}")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }

    let mut summary = Vec::new();
    for &engine in &engines {
        for &tasks in &task_counts {
            let mut rates: [Vec<f64>; 4] = Default::default();
            for run in 0..runs {
                for turn in 0..MODES.len() {
                    let slot = (turn + run) % MODES.len();
                    let mode = MODES[slot];
                    let (rate, per_batch) = measure(engine, mode, tasks, events).await?;
                    println!(
                        "{engine:?} K={tasks:<3} run {} {:<27} {rate:>8.0} events/s  \
                         ({per_batch:.1} requests/batch)",
                        run + 1,
                        mode.name()
                    );
                    rates[slot].push(rate);
                }
            }
            summary.push((engine, tasks, rates.map(|r| median(&r))));
        }
    }

    println!();
    println!(
        "median of {runs} runs, {events} single-event appends each (overhead = bare / mode - 1):"
    );
    for (engine, tasks, [bare, tree, signed, served]) in summary {
        println!(
            "{engine:?} K={tasks:<3} bare {bare:>7.0}/s  tree {tree:>7.0}/s ({:+.1} %)  \
             tree+signed {signed:>7.0}/s ({:+.1} %)  signed+copy {served:>7.0}/s ({:+.1} %)",
            (bare / tree - 1.0) * 100.0,
            (bare / signed - 1.0) * 100.0,
            (bare / served - 1.0) * 100.0
        );
    }
    Ok(())
}
