//! Load driver of the proof latency benchmark (BENCHMARKS.md, target 2): sequential
//! `auditInclusionProof` queries to a running `amanah serve`, one keep-alive connection,
//! per-request latency measured at the client.
//!
//! ```text
//! cargo run --release -p amanah-infra --example proof_latency -- \
//!     --url http://127.0.0.1:8080/graphql --token "$(amanah token --sub bench --role auditor)" \
//!     --checkpoints DB_PATH.checkpoints \
//!     [--requests 5000] [--warmup 500] [--tree-size none|random] [--seed 1]
//! ```
//!
//! The auditor token comes from `amanah token` run with the server's configuration; with
//! `--data-dir DIR` instead, it is minted here with the HS256 secret the server generated in its
//! data directory (`DIR/auth-hs256.secret`), as `amanah token` does. The index of each query is uniform over
//! the log; with `--tree-size random` each query also names a `treeSize` drawn uniformly from the
//! signed checkpoint sizes (`build_log` wrote them) and an index below it. Before timing, one
//! proof is checked end to end against its checkpoint's root, and every timed answer must hold
//! the expected number of hashes and no error. `--baseline` sends `{ __typename }` instead, with
//! the same token over the same connection: the cost of HTTP, authentication and GraphQL alone.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use amanah_audit::merkle::{inclusion_plan, verify_inclusion};
use amanah_infra::auth::{Role, load_or_create_secret, mint_hs256};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Value, json};

const QUERY: &str = "query($index: Int!) { auditInclusionProof(index: $index) { hashes } }";
const QUERY_SIZED: &str = "query($index: Int!, $size: Int) { \
                           auditInclusionProof(index: $index, treeSize: $size) { hashes } }";

struct Options {
    url: String,
    token: Option<String>,
    data_dir: PathBuf,
    checkpoints: PathBuf,
    requests: usize,
    warmup: usize,
    sized: bool,
    baseline: bool,
    seed: u64,
}

fn options() -> Result<Options, Box<dyn std::error::Error>> {
    let mut options = Options {
        url: "http://127.0.0.1:8080/graphql".to_owned(),
        token: None,
        data_dir: PathBuf::from("./amanah-data"),
        checkpoints: PathBuf::new(),
        requests: 5000,
        warmup: 500,
        sized: false,
        baseline: false,
        seed: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--url" => options.url = value()?,
            "--token" => options.token = Some(value()?.trim().to_owned()),
            "--data-dir" => options.data_dir = PathBuf::from(value()?),
            "--checkpoints" => options.checkpoints = PathBuf::from(value()?),
            "--requests" => options.requests = value()?.parse()?,
            "--warmup" => options.warmup = value()?.parse()?,
            "--seed" => options.seed = value()?.parse()?,
            "--baseline" => options.baseline = true,
            "--tree-size" => {
                options.sized = match value()?.as_str() {
                    "none" => false,
                    "random" => true,
                    other => return Err(format!("--tree-size none|random, not {other}").into()),
                }
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if options.checkpoints.as_os_str().is_empty() {
        return Err("--checkpoints FILE (written by build_log) is required".into());
    }
    Ok(options)
}

/// Posts one query; returns its `data`.
async fn prove(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Result<Value, Box<dyn std::error::Error>> {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await?;
    let status = response.status();
    let mut body: Value = response.json().await?;
    if !status.is_success() || body.get("errors").is_some() {
        return Err(format!("HTTP {status}: {body}").into());
    }
    Ok(body["data"].take())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = options()?;
    let sizes: Vec<u64> = std::fs::read_to_string(&options.checkpoints)?
        .lines()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let latest = *sizes.last().ok_or("no signed checkpoint")?;
    let token = match &options.token {
        Some(token) => token.clone(),
        None => {
            let secret = load_or_create_secret(&options.data_dir.join("auth-hs256.secret"))?.secret;
            mint_hs256(
                &secret,
                "bench",
                &[Role::Auditor],
                None,
                Duration::from_secs(3600),
                "amanah",
                "amanah",
            )?
        }
    };
    // One connection, kept alive.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .build()?;

    // One proof checked end to end: the answer is a real proof of the signed root.
    let index = latest / 3;
    let checked = prove(
        &client,
        &options.url,
        &token,
        "query($index: Int!) { auditInclusionProof(index: $index) { leafIndex treeSize leafHash \
         hashes checkpoint { treeSize rootHash } } }",
        json!({"index": index}),
    )
    .await?["auditInclusionProof"]
        .take();
    let decode = |value: &Value| -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        Ok(STANDARD.decode(value.as_str().ok_or("not a string")?)?)
    };
    let hashes = checked["hashes"]
        .as_array()
        .ok_or("no hashes")?
        .iter()
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
    let size = checked["treeSize"].as_u64().ok_or("no treeSize")?;
    let root = decode(&checked["checkpoint"]["rootHash"])?;
    let leaf = decode(&checked["leafHash"])?;
    verify_inclusion(index, size, &leaf, &hashes, &root)?;
    println!(
        "checked: leaf {index} in the signed tree of size {size} ({} hashes) verifies against its root",
        hashes.len()
    );

    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut latencies = Vec::with_capacity(options.requests);
    let total = options.warmup + options.requests;
    let started = Instant::now();
    let mut timed_from = started;
    for n in 0..total {
        if n == options.warmup {
            timed_from = Instant::now();
        }
        let (query, variables, size) = if options.baseline {
            ("{ __typename }", json!({}), 0)
        } else if options.sized {
            let size = sizes[rng.gen_range(0..sizes.len())];
            let index = rng.gen_range(0..size);
            (QUERY_SIZED, json!({"index": index, "size": size}), size)
        } else {
            let index = rng.gen_range(0..latest);
            (QUERY, json!({"index": index}), latest)
        };
        let index = variables["index"].as_u64().unwrap_or(0);
        let began = Instant::now();
        let data = prove(&client, &options.url, &token, query, variables).await?;
        let elapsed = began.elapsed();
        if options.baseline {
            if data["__typename"] != "Query" {
                return Err(format!("request {n}: unexpected answer {data}").into());
            }
        } else {
            let expected = inclusion_plan(index, size)?.len();
            let got = data["auditInclusionProof"]["hashes"]
                .as_array()
                .map_or(0, Vec::len);
            if got != expected {
                return Err(format!("request {n}: {got} hashes, expected {expected}").into());
            }
        }
        if n >= options.warmup {
            latencies.push(elapsed);
        }
    }
    let wall = timed_from.elapsed();
    latencies.sort();
    let mean = latencies.iter().sum::<Duration>() / u32::try_from(latencies.len().max(1))?;
    println!(
        "{} requests ({} warm-up) {}, log size {latest}, {} signed sizes: \
         p50 {:.3} ms  p95 {:.3} ms  p99 {:.3} ms  max {:.3} ms  mean {:.3} ms  ({:.0} requests/s)",
        latencies.len(),
        options.warmup,
        match (options.baseline, options.sized) {
            (true, _) => "baseline { __typename }",
            (false, true) => "proofs with a random treeSize",
            (false, false) => "proofs without treeSize",
        },
        sizes.len(),
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 95.0)),
        ms(percentile(&latencies, 99.0)),
        ms(*latencies.last().ok_or("no requests")?),
        ms(mean),
        latencies.len() as f64 / wall.as_secs_f64()
    );
    Ok(())
}
