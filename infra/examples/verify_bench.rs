//! Times the offline export verifier against plain SHA-256 over the same file (BENCHMARKS.md,
//! target 1).
//!
//! ```text
//! cargo run --release -p amanah-infra --example verify_bench -- [EVENTS] [--keep] [--out DIR]
//! cargo run --release -p amanah-infra --example verify_bench -- --dir DIR
//! ```
//!
//! Writes EVENTS (default 1,000,000) envelopes to `events.jsonl` in a fresh directory (`--out
//! DIR`, else one under the temporary directory), with `checkpoint` and `log.vkey` beside it —
//! an export as `amanah audit export` writes it — then reads the file once to warm the page cache
//! and prints MB/s for (1) SHA-256 over the whole file and (2) `verify_export` over the file, plus
//! their ratio. With `--keep` (implied by `--out`) the directory stays, so that `sha256sum` and
//! `amanah audit verify DIR` can be timed on the same file; `--dir DIR` times an existing export
//! instead of writing one.
//!
//! The events are built as the store builds them ([`amanah_infra::envelope::encode`] of a
//! [`StoredEvent`]): the three stream kinds, 10,000 streams whose versions run 1, 2, 3, …, a
//! creation event first in each stream, real event names and payload shapes, about 600 bytes per
//! line.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

use amanah_audit::checkpoint::Checkpoint;
use amanah_audit::export_verify::verify_export;
use amanah_audit::merkle::{CompactRange, leaf_hash};
use amanah_audit::note::{VerifierKey, generate_signing_key};
use amanah_domain::ports::StoredEvent;
use amanah_infra::envelope;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

mod common;

/// Streams the generated events are spread over.
const STREAMS: u64 = 10_000;

/// Event `index`: the stream is a permutation of `index` modulo [`STREAMS`], so every block of
/// 10,000 consecutive events holds one event of each stream and versions run 1, 2, 3, ….
fn event(index: u64) -> Result<StoredEvent, Box<dyn std::error::Error>> {
    let stream = index * 7919 % STREAMS;
    let version = index / STREAMS + 1;
    let (event_type, data) = common::payload(stream, version, index);
    let occurred_at = DateTime::<Utc>::UNIX_EPOCH
        + Duration::days(20_785)
        + Duration::microseconds(i64::try_from(index)? * 1_234_567);
    let mut event = StoredEvent {
        index,
        id: common::uuid(1, index),
        stream: common::stream_kind(stream),
        stream_id: common::uuid(2, stream),
        stream_version: version,
        event_type: event_type.to_owned(),
        occurred_at,
        actor: common::actor(index),
        request_id: Some(common::uuid(5, index).to_string()),
        data,
        canonical: Vec::new(),
    };
    event.canonical = envelope::encode(&event)?;
    Ok(event)
}

fn mb_per_s(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 / 1e6 / seconds
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut events: u64 = 1_000_000;
    let mut keep = false;
    let mut out = None;
    let mut existing = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--keep" => keep = true,
            "--out" => out = Some(PathBuf::from(args.next().ok_or("--out DIR")?)),
            "--dir" => existing = Some(PathBuf::from(args.next().ok_or("--dir DIR")?)),
            _ => events = arg.replace('_', "").parse()?,
        }
    }
    let dir = match (&existing, &out) {
        (Some(dir), _) => dir.clone(),
        (None, Some(dir)) => {
            write_export(dir, events)?;
            dir.clone()
        }
        (None, None) => {
            let dir = std::env::temp_dir().join(format!("verify-bench-{}", std::process::id()));
            write_export(&dir, events)?;
            dir
        }
    };
    let path = dir.join("events.jsonl");
    let note = std::fs::read(dir.join("checkpoint"))?;
    let vkey = VerifierKey::parse(std::fs::read_to_string(dir.join("log.vkey"))?.trim_end())?;
    let bytes = std::fs::metadata(&path)?.len();

    // Warm the page cache, then hash the file as sha256sum does.
    let mut buffer = vec![0u8; 1 << 20];
    let mut file = File::open(&path)?;
    while file.read(&mut buffer)? > 0 {}
    let started = Instant::now();
    let mut file = File::open(&path)?;
    let mut hasher = Sha256::new();
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    let digest = hasher.finalize();
    let sha_seconds = started.elapsed().as_secs_f64();
    println!(
        "sha-256 of the file:  {:8.1} MB/s  ({sha_seconds:.3} s, {:02x}{:02x}{:02x}{:02x}…)",
        mb_per_s(bytes, sha_seconds),
        digest[0],
        digest[1],
        digest[2],
        digest[3]
    );

    let started = Instant::now();
    let reader = BufReader::with_capacity(1 << 20, File::open(&path)?);
    let verified = verify_export(reader, &note, &vkey, None)?;
    let verify_seconds = started.elapsed().as_secs_f64();
    println!(
        "verify_export:        {:8.1} MB/s  ({verify_seconds:.3} s, size {}, {:.0} events/s)",
        mb_per_s(bytes, verify_seconds),
        verified.size,
        verified.size as f64 / verify_seconds
    );
    println!("verify / sha-256:     {:8.2}", sha_seconds / verify_seconds);

    if keep || existing.is_some() || out.is_some() {
        println!("kept {}", dir.display());
    } else {
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}

/// Writes `events.jsonl`, `checkpoint` and `log.vkey` for `events` generated events.
fn write_export(dir: &Path, events: u64) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("events.jsonl");
    let key = generate_signing_key("bench.example/audit")?;
    let started = Instant::now();
    let mut range = CompactRange::new();
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
    for index in 0..events {
        let line = event(index)?.canonical;
        range.push(leaf_hash(&line));
        out.write_all(&line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    drop(out);
    let note = Checkpoint::new(key.name(), events, range.root()).sign(&key)?;
    std::fs::write(dir.join("checkpoint"), &note)?;
    std::fs::write(dir.join("log.vkey"), format!("{}\n", key.verifier_key()))?;
    let bytes = std::fs::metadata(&path)?.len();
    println!(
        "wrote {events} events, {bytes} bytes ({:.0} bytes/event) to {} in {:.1} s",
        bytes as f64 / events.max(1) as f64,
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
