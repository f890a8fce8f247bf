//! `amanah-bench`: the benchmark harness of BENCHMARKS.md.
//!
//! ```text
//! amanah-bench load    --url URL --token TOKEN [--orgs 500 --projects 1000 --activities 20]
//! amanah-bench run     --url URL --scenario r1|r2|w1|w2|w3 [--token TOKEN] [--connections 32] [--seconds 10]
//! amanah-bench compare --bin AMANAH --scenario r1 [--runs 3] [--seconds 10] [--connections 32]
//!                      [--orgs 500 --projects 1000 --activities 20] [--no-anchor] [--no-postgres]
//! amanah-bench smoke   --bin AMANAH
//! ```
//!
//! * `load` registers a synthetic portfolio through the public GraphQL mutations (every write
//!   goes through the real append path): organisations, projects with three participating
//!   organisations, ten recipient countries and one sector, and activities under each project.
//!   (A 1,000,000-event log is bulk-built by `cargo run --release -p amanah-infra --example
//!   build_log`.)
//! * `run` drives one scenario over HTTP with a fixed number of connections for a fixed time and
//!   prints throughput, p50 and p99 from an HDR histogram, errors, SQL statements per request
//!   and the server's resident memory (both read from the server's `/metrics`).
//! * `compare` starts Amanah on SQLite and on PostgreSQL (a scratch database), loads both, starts
//!   the anchor — PostGraphile 5 on a copy of Amanah's PostgreSQL read model
//!   (`bench/anchor.sh`), or for writes a bare `INSERT; COMMIT` loop (pgbench) — and runs the
//!   scenario on each in turn, `runs` times, so the ratios hold even on a loaded machine.
//! * `smoke` is what CI runs: a tiny portfolio, every scenario for a second on two connections,
//!   failing on any error, so that the harness cannot rot.
//!
//! Scenarios: `r1` the frontend list page (`projects(first: 20)` with participants and the first
//! five activities of each); `r2` one project page (budgets, transactions, documents, sectors,
//! countries, participants, activities with partners); `w1` `registerOrganisation`; `w2`
//! `planActivity` and `recordTransaction` on a project of each connection's own; `w3` every
//! connection revising one project with `expectedVersion`, retrying on `CONFLICT` — and then
//! checking that no update was lost.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::{Value, json};

#[derive(Parser)]
#[command(
    name = "amanah-bench",
    about = "Amanah's benchmark harness (see BENCHMARKS.md)"
)]
struct Cli {
    #[command(subcommand)]
    command: Action,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    R1,
    R2,
    W1,
    W2,
    W3,
}

#[derive(clap::Args, Clone)]
struct Size {
    #[arg(long, default_value_t = 500)]
    orgs: usize,
    #[arg(long, default_value_t = 1000)]
    projects: usize,
    #[arg(long, default_value_t = 20)]
    activities: usize,
}

#[derive(Subcommand)]
enum Action {
    Load {
        #[arg(long)]
        url: String,
        #[arg(long)]
        token: String,
        #[command(flatten)]
        size: Size,
    },
    Run {
        #[arg(long)]
        url: String,
        #[arg(long, value_enum)]
        scenario: Scenario,
        #[arg(long)]
        token: Option<String>,
        #[arg(long, default_value_t = 32)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    Compare {
        #[arg(long)]
        bin: String,
        #[arg(long, value_enum)]
        scenario: Scenario,
        #[arg(long, default_value_t = 3)]
        runs: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 32)]
        connections: usize,
        #[command(flatten)]
        size: Size,
        /// Leave out the anchor (PostGraphile or pgbench).
        #[arg(long)]
        no_anchor: bool,
        /// Leave out PostgreSQL (Amanah on SQLite only).
        #[arg(long)]
        no_postgres: bool,
    },
    Smoke {
        #[arg(long)]
        bin: String,
    },
}

type Error = Box<dyn std::error::Error + Send + Sync>;

const SECRET: &str = "amanah-bench-secret-0123456789abcdef0123456789";
const COUNTRIES: [&str; 10] = ["BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN"];
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";

/// The list page of the frontend (R1).
const R1: &str = "{ projects(first: 20) { edges { node { title status participatingOrganisations \
                  { role organisation { name } } activities(first: 5) { edges { node { title kind \
                  status } } } } } } }";
/// The same page from PostGraphile, over the same tables.
const R1_ANCHOR: &str = "{ allProjects(first: 20, orderBy: IATI_IDENTIFIER_ASC) { edges { node { \
                         title statusCode projectParticipantsByProjectId { nodes { roleCode \
                         organisationByOrganisationId { name } } } activitiesByProjectId(first: 5) \
                         { edges { node { title kind status } } } } } } }";
/// One project's page (R2).
const R2: &str = "query($id: ID!) { project(id: $id) { iatiIdentifier title description status \
                  plannedStart plannedEnd budgets { type status periodStart periodEnd value { \
                  minorUnits currency } } transactions(first: 20) { edges { node { type date \
                  value { minorUnits currency } } } } documents { url title categoryCode } sectors { \
                  code percentage } recipientCountries { country { code name } percentage } \
                  participatingOrganisations { role organisation { name acronym } } \
                  activities(first: 20) { edges { node { title kind status plannedStart partners \
                  { role organisation { name } } } } } } }";
/// The same page from PostGraphile.
const R2_ANCHOR: &str = "query($id: String!) { projectByRowId(rowId: $id) { iatiIdentifier title \
                         statusCode plannedStart plannedEnd projectBudgetsByProjectId { nodes { \
                         typeCode statusCode periodStart periodEnd minorUnits currency } } \
                         projectTransactionsByProjectId(first: 20) { nodes { typeCode date \
                         minorUnits currency } } projectDocumentsByProjectId { nodes { url title \
                         categoryCode } } projectSectorsByProjectId { nodes { sectorCode percentage \
                         } } projectCountriesByProjectId { nodes { countryCode percentage } } \
                         projectParticipantsByProjectId { nodes { roleCode \
                         organisationByOrganisationId { name acronym } } } \
                         activitiesByProjectId(first: 20) { nodes { title kind status plannedStart \
                         activityPartnersByActivityId { nodes { role organisationByOrganisationId { \
                         name } } } } } } }";

/// A GraphQL client of one server.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl Client {
    fn new(url: &str, token: Option<String>) -> Self {
        Self {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(1024)
                .build()
                .unwrap_or_default(),
            url: url.trim_end_matches('/').to_owned(),
            token,
        }
    }

    /// Sends a request; the body, or an error for a non-2xx answer or any GraphQL error.
    async fn graphql(&self, query: &str, variables: Value) -> Result<Value, Error> {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.url))
            .header("accept", "application/json")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if !status.is_success() || body.get("errors").is_some() {
            return Err(format!("{status}: {body}").into());
        }
        Ok(body)
    }

    /// `/metrics` as text.
    async fn metrics(&self) -> Result<String, Error> {
        Ok(self
            .http
            .get(format!("{}/metrics", self.url))
            .send()
            .await?
            .text()
            .await?)
    }
}

/// A value of `/metrics` (the first line starting with `name`).
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.trim().parse().ok())
}

// ---------------------------------------------------------------------------------------------
// Loading a portfolio
// ---------------------------------------------------------------------------------------------

/// What `load` registered: the projects with their participants.
struct Portfolio {
    projects: Vec<(String, [String; 3])>,
}

async fn load(client: &Client, size: &Size, concurrency: usize) -> Result<Portfolio, Error> {
    let started = Instant::now();
    let orgs = in_parallel(size.orgs, concurrency, {
        let client = client.clone();
        move |i| {
            let client = client.clone();
            async move {
                let body = client
                    .graphql(
                        "mutation($i: RegisterOrganisationInput!) { registerOrganisation(input: $i) \
                         { organisation { id } } }",
                        json!({ "i": { "ref": format!("XM-LOAD-{i}"),
                                       "name": format!("Load Test Institution {i}"),
                                       "acronym": format!("LTI{i}"), "type": "GOVERNMENT",
                                       "country": COUNTRIES[i % 10] } }),
                    )
                    .await?;
                Ok(text(&body["data"]["registerOrganisation"]["organisation"]["id"]))
            }
        }
    })
    .await?;
    let orgs = Arc::new(orgs);
    let projects = in_parallel(size.projects, concurrency, {
        let client = client.clone();
        let orgs = Arc::clone(&orgs);
        move |j| {
            let client = client.clone();
            let orgs = Arc::clone(&orgs);
            async move {
                let o = [0, 1, 2].map(|k| orgs[(j * 3 + k) % orgs.len()].clone());
                let countries: Vec<Value> = COUNTRIES
                    .iter()
                    .map(|c| json!({ "country": c, "percentage": "10" }))
                    .collect();
                let body = client
                    .graphql(
                        "mutation($i: RegisterProjectInput!) { registerProject(input: $i) { \
                         project { id } } }",
                        json!({ "i": {
                            "iatiIdentifier": format!("XM-LOAD-{}-P{j:06}", (j * 3) % orgs.len()),
                            "reportingOrganisationId": o[0],
                            "title": format!("Regional integration support {j}"),
                            "description": "Capacity development for regional bodies.",
                            "plannedStart": "2026-01-01", "plannedEnd": "2028-12-31",
                            "participatingOrganisations": [
                                { "organisationId": o[0], "role": "FUNDING" },
                                { "organisationId": o[1], "role": "ACCOUNTABLE" },
                                { "organisationId": o[2], "role": "IMPLEMENTING" }],
                            "recipientCountries": countries,
                            "sectors": [{ "code": "15113", "percentage": "100" }] } }),
                    )
                    .await?;
                Ok((text(&body["data"]["registerProject"]["project"]["id"]), o))
            }
        }
    })
    .await?;
    let projects = Arc::new(projects);
    let per_project = size.activities;
    in_parallel(size.projects * per_project, concurrency, {
        let client = client.clone();
        let projects = Arc::clone(&projects);
        move |n| {
            let client = client.clone();
            let projects = Arc::clone(&projects);
            async move {
                let (project, orgs) = &projects[n / per_project.max(1)];
                plan_activity(&client, project, &orgs[2], n % per_project.max(1)).await
            }
        }
    })
    .await?;
    let mutations = size.orgs + size.projects * (1 + per_project);
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "loaded {} organisations, {} projects, {} activities: {mutations} mutations in {seconds:.1} s \
         ({:.0}/s)",
        size.orgs,
        size.projects,
        size.projects * per_project,
        precise(mutations) / seconds
    );
    Ok(Portfolio {
        projects: Arc::try_unwrap(projects).unwrap_or_else(|shared| (*shared).clone()),
    })
}

async fn plan_activity(
    client: &Client,
    project: &str,
    organiser: &str,
    k: usize,
) -> Result<(), Error> {
    client
        .graphql(
            "mutation($i: PlanActivityInput!) { planActivity(input: $i) { activity { id } } }",
            json!({ "i": { "projectId": project, "title": format!("Workshop {k}"),
                           "description": "Integrity workshop.", "kind": "WORKSHOP",
                           "uncacChapters": ["PREVENTION"],
                           "partners": [{ "organisationId": organiser, "role": "ORGANISER" }],
                           "location": { "country": COUNTRIES[k % 10], "city": "Jakarta" },
                           "plannedStart": "2026-06-01", "plannedEnd": "2026-06-02" } }),
        )
        .await
        .map(drop)
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

#[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
fn precise(count: usize) -> f64 {
    count as f64
}

/// Runs `job(0..count)` with `concurrency` at a time; the outputs in order.
async fn in_parallel<T, F, Fut>(count: usize, concurrency: usize, job: F) -> Result<Vec<T>, Error>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, Error>> + Send + 'static,
{
    let next = Arc::new(AtomicU64::new(0));
    let job = Arc::new(job);
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let next = Arc::clone(&next);
        let job = Arc::clone(&job);
        workers.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let n = usize::try_from(next.fetch_add(1, Ordering::Relaxed)).unwrap_or(usize::MAX);
                if n >= count {
                    return Ok::<_, Error>(done);
                }
                done.push((n, job(n).await?));
            }
        }));
    }
    let mut all = Vec::with_capacity(count);
    for worker in workers {
        all.extend(worker.await??);
    }
    all.sort_by_key(|(n, _)| *n);
    Ok(all.into_iter().map(|(_, value)| value).collect())
}

// ---------------------------------------------------------------------------------------------
// Driving a scenario
// ---------------------------------------------------------------------------------------------

/// What one run measured.
struct Measured {
    requests: u64,
    errors: u64,
    seconds: f64,
    latencies: Histogram<u64>,
    /// SQL statements per `/graphql` request, its own (from the server's histogram: what the
    /// request's task and its batch loaders sent); `None` for the anchor.
    statements: Option<f64>,
    /// All SQL statements the server sent during the run, per request: for writes, the append
    /// batches' statements (sent by the store's sequencer, not by the request), and background
    /// work.
    all_statements: Option<f64>,
    rss_mb: Option<f64>,
    note: String,
}

impl Measured {
    fn print(&self, name: &str) {
        #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        let throughput = self.requests as f64 / self.seconds;
        let micros = |quantile: f64| self.latencies.value_at_quantile(quantile) as f64 / 1000.0;
        let statements = match (self.statements, self.all_statements) {
            (Some(own), Some(all)) => format!("{own:.1}/{all:.1}"),
            _ => "-".to_owned(),
        };
        let rss = self
            .rss_mb
            .map_or_else(|| "-".to_owned(), |rss| format!("{rss:.0} MB"));
        println!(
            "{name:<16} {throughput:>9.1} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {:>4}  \
             sql/request (own/all) {statements:>9}  rss {rss}{}",
            micros(0.5),
            micros(0.99),
            self.errors,
            self.note
        );
    }
}

/// One request of a scenario, made by connection `worker` for the `n`th time.
#[derive(Clone)]
struct Driver {
    client: Client,
    scenario: Scenario,
    /// R2: the projects to read; W2: each connection's own project and its organisation.
    projects: Arc<Vec<(String, [String; 3])>>,
    anchor: bool,
    /// How many connections drive it (W2 gives each its own projects).
    connections: usize,
}

impl Driver {
    async fn request(
        &self,
        worker: usize,
        n: u64,
        versions: &mut HashMap<usize, u64>,
    ) -> Result<bool, Error> {
        match self.scenario {
            Scenario::R1 => {
                let query = if self.anchor { R1_ANCHOR } else { R1 };
                self.client.graphql(query, Value::Null).await.map(|_| true)
            }
            Scenario::R2 => {
                let project =
                    &self.projects[usize::try_from(n).unwrap_or(0) % self.projects.len()].0;
                let query = if self.anchor { R2_ANCHOR } else { R2 };
                self.client
                    .graphql(query, json!({ "id": project }))
                    .await
                    .map(|_| true)
            }
            Scenario::W1 => self
                .client
                .graphql(
                    "mutation($i: RegisterOrganisationInput!) { registerOrganisation(input: $i) { \
                     auditIndex } }",
                    json!({ "i": { "name": format!("W1 Institution {worker}-{n}"),
                                   "type": "GOVERNMENT" } }),
                )
                .await
                .map(|_| true),
            Scenario::W2 => {
                // Each connection its own projects (disjoint from the others'), in turn, so that
                // no project grows past what a real one holds over a run.
                let own = (self.projects.len() / self.connections.max(1)).max(1);
                let turn = usize::try_from(n / 2).unwrap_or(0) % own;
                let index = (worker + turn * self.connections.max(1)) % self.projects.len();
                let (project, orgs) = &self.projects[index];
                if n.is_multiple_of(2) {
                    plan_activity(
                        &self.client,
                        project,
                        &orgs[2],
                        usize::try_from(n).unwrap_or(0),
                    )
                    .await
                    .map(|()| true)
                } else {
                    let expected = match versions.get(&index) {
                        Some(version) => *version,
                        None => self.project_version(project).await?,
                    };
                    let body = self
                        .client
                        .graphql(
                            "mutation($i: RecordTransactionInput!) { recordTransaction(input: $i) \
                             { project { version } } }",
                            json!({ "i": { "projectId": project, "expectedVersion": expected,
                                           "type": "DISBURSEMENT", "date": "2026-07-01",
                                           "valueDate": "2026-07-01",
                                           "value": { "minorUnits": "100000", "currency": "EUR" } } }),
                        )
                        .await?;
                    if let Some(version) =
                        body["data"]["recordTransaction"]["project"]["version"].as_u64()
                    {
                        versions.insert(index, version);
                    }
                    Ok(true)
                }
            }
            Scenario::W3 => {
                let project = &self.projects[0].0;
                let expected = self.project_version(project).await?;
                let answer = self
                    .client
                    .http
                    .post(format!("{}/graphql", self.client.url))
                    .bearer_auth(self.client.token.as_deref().unwrap_or_default())
                    .header("accept", "application/json")
                    .json(&json!({
                        "query": "mutation($i: ReviseProjectInput!) { reviseProject(input: $i) { \
                                  project { version } } }",
                        "variables": { "i": { "id": project, "expectedVersion": expected,
                                              "title": format!("Revised by {worker} ({n})") } } }))
                    .send()
                    .await?
                    .json::<Value>()
                    .await?;
                match answer["errors"][0]["extensions"]["code"].as_str() {
                    None => Ok(true),
                    // Another writer was first: the client reads again and retries.
                    Some("CONFLICT") => Ok(false),
                    Some(_) => Err(answer.to_string().into()),
                }
            }
        }
    }

    async fn project_version(&self, project: &str) -> Result<u64, Error> {
        let body = self
            .client
            .graphql(
                "query($id: ID!) { project(id: $id) { version } }",
                json!({ "id": project }),
            )
            .await?;
        body["data"]["project"]["version"]
            .as_u64()
            .ok_or_else(|| format!("no version in {body}").into())
    }
}

/// Runs `driver` with `connections` for `seconds`.
async fn drive(driver: &Driver, connections: usize, seconds: u64) -> Result<Measured, Error> {
    let before = if driver.anchor {
        None
    } else {
        Some(driver.client.metrics().await?)
    };
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let conflicts = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for worker in 0..connections {
        let driver = driver.clone();
        let conflicts = Arc::clone(&conflicts);
        workers.push(tokio::spawn(async move {
            let mut latencies = Histogram::<u64>::new(3)?;
            let (mut done, mut errors, mut first_error) = (0_u64, 0_u64, None);
            let mut versions = HashMap::new();
            while Instant::now() < deadline {
                let sent = Instant::now();
                match driver.request(worker, done + errors, &mut versions).await {
                    Ok(applied) => {
                        let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                        latencies.record(micros.max(1))?;
                        done += 1;
                        if !applied {
                            conflicts.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(error) => {
                        errors += 1;
                        versions.clear();
                        first_error.get_or_insert_with(|| error.to_string());
                    }
                }
            }
            Ok::<_, Error>((latencies, done, errors, first_error))
        }));
    }
    let mut latencies = Histogram::<u64>::new(3)?;
    let (mut requests, mut errors, mut first_error) = (0, 0, None);
    for worker in workers {
        let (own, done, failed, error) = worker.await??;
        latencies.add(own)?;
        requests += done;
        errors += failed;
        first_error = first_error.or(error);
    }
    let seconds = started.elapsed().as_secs_f64();
    let (statements, all_statements, rss_mb) = match before {
        Some(before) => {
            let after = driver.client.metrics().await?;
            let sum = "amanah_http_request_sql_statements_sum{route=\"/graphql\"}";
            let count = "amanah_http_request_sql_statements_count{route=\"/graphql\"}";
            let delta = |name: &str| {
                metric(&after, name).unwrap_or(0.0) - metric(&before, name).unwrap_or(0.0)
            };
            let per_request = delta(count).max(1.0);
            (
                Some(delta(sum) / per_request),
                Some(delta("amanah_sql_statements_total ") / per_request),
                metric(&after, "process_resident_memory_bytes").map(|bytes| bytes / 1_048_576.0),
            )
        }
        None => (None, None, None),
    };
    let mut note = String::new();
    if driver.scenario == Scenario::W3 {
        note = format!("  conflicts {}", conflicts.load(Ordering::Relaxed));
    }
    if let Some(error) = first_error {
        note.push_str(&format!(
            "  first error: {}",
            error.chars().take(200).collect::<String>()
        ));
    }
    Ok(Measured {
        requests,
        errors,
        seconds,
        latencies,
        statements,
        all_statements,
        rss_mb,
        note,
    })
}

/// W3's check: every successful revision moved the version by one, none was lost.
async fn check_no_lost_update(driver: &Driver, before: u64, applied: u64) -> Result<(), Error> {
    let after = driver.project_version(&driver.projects[0].0).await?;
    if after - before == applied {
        println!("w3: {applied} revisions applied, version {before} → {after}: no update lost");
        Ok(())
    } else {
        Err(format!(
            "w3: {applied} revisions answered as applied, but the version moved {before} → {after}"
        )
        .into())
    }
}

// ---------------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------------

/// A server process this harness started; stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16, Error> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_ready(url: &str) -> Result<(), Error> {
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if http
            .get(format!("{url}/readyz"))
            .send()
            .await
            .is_ok_and(|response| response.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{url} did not become ready").into())
}

/// `amanah serve` on `database` (a URL), with a data directory in `dir`.
async fn start_amanah(bin: &str, dir: &std::path::Path, database: &str) -> Result<Server, Error> {
    let port = free_port()?;
    std::fs::create_dir_all(dir)?;
    let log = std::fs::File::create(dir.join("serve.log"))?;
    let child = Command::new(bin)
        .arg("serve")
        .env("AMANAH_DATA_DIR", dir)
        .env("AMANAH_LISTEN", format!("127.0.0.1:{port}"))
        .env("AMANAH_DATABASE_URL", database)
        .env("AMANAH_AUTH_HS256_SECRET", SECRET)
        .env("AMANAH_LOG_FORMAT", "json")
        .stdout(log)
        .stderr(Stdio::null())
        .spawn()?;
    let server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    wait_ready(&server.url).await?;
    Ok(server)
}

fn token(bin: &str, dir: &std::path::Path) -> Result<String, Error> {
    let output = Command::new(bin)
        .args([
            "token",
            "--sub",
            "amanah-bench",
            "--role",
            "admin",
            "--ttl",
            "8h",
        ])
        .env("AMANAH_DATA_DIR", dir)
        .env("AMANAH_AUTH_HS256_SECRET", SECRET)
        .output()?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned().into());
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

fn psql(database: &str, sql: &str) -> Result<(), Error> {
    let status = Command::new("psql")
        .args([
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            &format!("{POSTGRES}/{database}"),
            "-c",
            sql,
        ])
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("psql failed: {sql}").into())
    }
}

/// The anchor of a scenario.
enum Anchor {
    /// PostGraphile 5 serving a copy of the read model.
    PostGraphile(Server),
    /// pgbench's bare `INSERT; COMMIT` loop.
    Bare,
}

/// What `compare` runs.
struct Comparison<'a> {
    bin: &'a str,
    scenario: Scenario,
    runs: usize,
    seconds: u64,
    connections: usize,
    size: &'a Size,
    with_anchor: bool,
    with_postgres: bool,
}

async fn compare(comparison: Comparison<'_>) -> Result<(), Error> {
    let Comparison {
        bin,
        scenario,
        runs,
        seconds,
        connections,
        size,
        with_anchor,
        with_postgres,
    } = comparison;
    let work = tempfile::tempdir()?;
    let bench_db = format!("amanah_bench_{}", std::process::id());
    let mut targets: Vec<(String, Server)> = Vec::new();
    let sqlite_dir = work.path().join("sqlite");
    let sqlite = start_amanah(
        bin,
        &sqlite_dir,
        &format!("sqlite://{}/amanah.db?mode=rwc", sqlite_dir.display()),
    )
    .await?;
    targets.push(("amanah-sqlite".to_owned(), sqlite));
    if with_postgres {
        psql("postgres", &format!("CREATE DATABASE {bench_db}"))?;
        let pg = start_amanah(
            bin,
            &work.path().join("pg"),
            &format!("{POSTGRES}/{bench_db}"),
        )
        .await?;
        targets.push(("amanah-pg".to_owned(), pg));
    }
    let token = token(bin, &work.path().join("token"))?;
    let mut portfolios = Vec::new();
    for (name, server) in &targets {
        print!("{name}: ");
        portfolios.push(load(&Client::new(&server.url, Some(token.clone())), size, 32).await?);
    }
    let anchor = if with_anchor && with_postgres {
        match scenario {
            Scenario::R1 | Scenario::R2 => {
                let port = free_port()?;
                let script = concat!(env!("CARGO_MANIFEST_DIR"), "/anchor.sh");
                let log = std::fs::File::create(work.path().join("anchor.log"))?;
                let child = Command::new("bash")
                    .args([script, &format!("{POSTGRES}/{bench_db}"), &port.to_string()])
                    .stdout(log)
                    .stderr(Stdio::inherit())
                    .spawn()?;
                let server = Server {
                    child,
                    url: format!("http://127.0.0.1:{port}"),
                };
                wait_for_graphql(&server.url).await?;
                Some(Anchor::PostGraphile(server))
            }
            Scenario::W1 | Scenario::W2 | Scenario::W3 => Some(Anchor::Bare),
        }
    } else {
        None
    };
    for run in 1..=runs {
        for ((name, server), portfolio) in targets.iter().zip(&portfolios) {
            let driver = Driver {
                client: Client::new(&server.url, Some(token.clone())),
                scenario,
                projects: Arc::new(portfolio.projects.clone()),
                anchor: false,
                connections,
            };
            let before = if scenario == Scenario::W3 {
                Some(driver.project_version(&portfolio.projects[0].0).await?)
            } else {
                None
            };
            let measured = drive(&driver, connections, seconds).await?;
            measured.print(&format!("run {run} {name}"));
            if let Some(before) = before {
                let applied = measured.requests - conflicts_of(&measured);
                check_no_lost_update(&driver, before, applied).await?;
            }
        }
        match &anchor {
            Some(Anchor::PostGraphile(server)) => {
                let driver = Driver {
                    client: Client::new(&server.url, None),
                    scenario,
                    projects: Arc::new(
                        portfolios
                            .last()
                            .map(|p| p.projects.clone())
                            .unwrap_or_default(),
                    ),
                    anchor: true,
                    connections,
                };
                drive(&driver, connections, seconds)
                    .await?
                    .print(&format!("run {run} postgraphile"));
            }
            Some(Anchor::Bare) => bare_insert_loop(run, connections, seconds)?,
            None => {}
        }
    }
    drop(anchor);
    drop(targets);
    if with_postgres {
        psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {bench_db}_anchor WITH (FORCE)"),
        )?;
        psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {bench_db} WITH (FORCE)"),
        )?;
    }
    Ok(())
}

/// The conflicts a W3 run counted (from its note).
fn conflicts_of(measured: &Measured) -> u64 {
    measured
        .note
        .split("conflicts ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse().ok())
        .unwrap_or(0)
}

async fn wait_for_graphql(url: &str) -> Result<(), Error> {
    let client = Client::new(url, None);
    for _ in 0..600 {
        if client.graphql("{ __typename }", Value::Null).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("the anchor at {url} did not answer").into())
}

/// pgbench: a bare 500-byte `INSERT; COMMIT` loop on the same PostgreSQL, `connections` clients.
fn bare_insert_loop(run: usize, connections: usize, seconds: u64) -> Result<(), Error> {
    let database = format!("amanah_bench_bare_{}", std::process::id());
    psql("postgres", &format!("DROP DATABASE IF EXISTS {database}"))?;
    psql("postgres", &format!("CREATE DATABASE {database}"))?;
    psql(
        &database,
        "CREATE TABLE t (id bigserial PRIMARY KEY, body text)",
    )?;
    let script = tempfile::NamedTempFile::new()?;
    std::fs::write(
        script.path(),
        "INSERT INTO t(body) VALUES (repeat('x', 500));\n",
    )?;
    let output = Command::new("pgbench")
        .args([
            "-n",
            "-c",
            &connections.to_string(),
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
            "-f",
            &script.path().display().to_string(),
            &format!("{POSTGRES}/{database}"),
        ])
        .output()?;
    let report = String::from_utf8_lossy(&output.stdout);
    let tps = report
        .lines()
        .find(|line| line.starts_with("tps"))
        .unwrap_or("tps: not reported");
    println!("run {run} bare-insert     {tps}");
    psql("postgres", &format!("DROP DATABASE IF EXISTS {database}"))?;
    Ok(())
}

/// Tiny end to end: every scenario for a second against a fresh SQLite server, no error allowed.
async fn smoke(bin: &str) -> Result<(), Error> {
    let work = tempfile::tempdir()?;
    let dir = work.path().join("sqlite");
    let server = start_amanah(
        bin,
        &dir,
        &format!("sqlite://{}/amanah.db?mode=rwc", dir.display()),
    )
    .await?;
    let token = token(bin, &work.path().join("token"))?;
    let client = Client::new(&server.url, Some(token));
    let size = Size {
        orgs: 6,
        projects: 4,
        activities: 3,
    };
    let portfolio = load(&client, &size, 4).await?;
    for scenario in [
        Scenario::R1,
        Scenario::R2,
        Scenario::W1,
        Scenario::W2,
        Scenario::W3,
    ] {
        let driver = Driver {
            client: client.clone(),
            scenario,
            projects: Arc::new(portfolio.projects.clone()),
            anchor: false,
            connections: 2,
        };
        let before = driver.project_version(&portfolio.projects[0].0).await?;
        let measured = drive(&driver, 2, 1).await?;
        measured.print(&format!("{scenario:?}"));
        if measured.errors > 0 || measured.requests == 0 {
            return Err(format!(
                "{scenario:?}: {} requests, {} errors{}",
                measured.requests, measured.errors, measured.note
            )
            .into());
        }
        // Every scenario sends statements (a write's are its batch's, sent by the sequencer: a
        // creation reads nothing of its own); a read's are its own.
        let read = matches!(scenario, Scenario::R1 | Scenario::R2);
        if measured.all_statements.is_none_or(|s| s <= 0.0)
            || (read && measured.statements.is_none_or(|s| s <= 0.0))
            || measured.rss_mb.is_none()
        {
            return Err(format!("{scenario:?}: no statements or RSS read from /metrics").into());
        }
        if scenario == Scenario::W3 {
            check_no_lost_update(&driver, before, measured.requests - conflicts_of(&measured))
                .await?;
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Action::Load { url, token, size } => load(&Client::new(&url, Some(token)), &size, 32)
            .await
            .map(drop),
        Action::Run {
            url,
            scenario,
            token,
            connections,
            seconds,
        } => run_one(&url, scenario, token, connections, seconds).await,
        Action::Compare {
            bin,
            scenario,
            runs,
            seconds,
            connections,
            size,
            no_anchor,
            no_postgres,
        } => {
            compare(Comparison {
                bin: &bin,
                scenario,
                runs,
                seconds,
                connections,
                size: &size,
                with_anchor: !no_anchor,
                with_postgres: !no_postgres,
            })
            .await
        }
        Action::Smoke { bin } => smoke(&bin).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("amanah-bench: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `run`: one scenario against a running server (its projects read from the server).
async fn run_one(
    url: &str,
    scenario: Scenario,
    token: Option<String>,
    connections: usize,
    seconds: u64,
) -> Result<(), Error> {
    let client = Client::new(url, token);
    let body = client
        .graphql(
            "{ projects(first: 100) { edges { node { id participatingOrganisations { \
             organisation { id } } } } } }",
            Value::Null,
        )
        .await?;
    let mut projects = Vec::new();
    for edge in body["data"]["projects"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let orgs: Vec<String> = edge["node"]["participatingOrganisations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| text(&p["organisation"]["id"]))
            .collect();
        let org = |k: usize| orgs.get(k).or(orgs.first()).cloned().unwrap_or_default();
        projects.push((text(&edge["node"]["id"]), [org(0), org(1), org(2)]));
    }
    if projects.is_empty() && scenario != Scenario::W1 && scenario != Scenario::R1 {
        return Err("the server has no projects: run `load` first".into());
    }
    let driver = Driver {
        client,
        scenario,
        projects: Arc::new(projects),
        anchor: false,
        connections,
    };
    drive(&driver, connections, seconds)
        .await?
        .print(&format!("{scenario:?}"));
    Ok(())
}
