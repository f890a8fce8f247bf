//! The log's side of witnessing (`docs/witness.md` §3): with `audit.witness_policy` set, the
//! server pushes its newest signed checkpoint to each witness of the policy, keeps the
//! cosignatures they return, and serves the newest checkpoint that meets the policy's quorum.
//!
//! Pushing runs in its own task, never in the commit path: an append is answered after its
//! batch's commit whatever the witnesses do. Every `audit.witness_push_secs` (10 s), the newest
//! signed size n goes to each witness that holds less, all witnesses at once, each with a 5 s
//! timeout; every 10 minutes it goes again even when n has not grown, which renews the
//! cosignature's time. The request's `old` is the size the witness is known to hold
//! (`audit_witness_state`), and its proof the RFC 9162 consistency proof from there.
//!
//! | answer | what the log does |
//! |---|---|
//! | 200 | keeps the lines of that witness that verify over the note; the witness holds n |
//! | 409 `text/x.tlog.size`, s | s a size the log signed, at most n: the witness holds s, push again once from s; otherwise alert: the witness holds a checkpoint this log never signed |
//! | 409 of another type, 422 | alert: the witness rejects the log's consistency |
//! | 404, 403 | alert: the witness does not know this log or its key (configuration) |
//! | 429, 5xx, no answer | the witness is unreachable: tried again after a back-off |
//!
//! Each failure backs off: the next attempt comes after `interval × 2^(failures − 1)`, at most
//! five minutes. A failure of this server's own database during a push is logged, not counted
//! against the witness, and tried again next round. Several replicas may push at once; a witness that got a checkpoint from one
//! answers the others 409 with its size, from which they resync.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use amanah_audit::note::{VerifierKey, parse_note};
use amanah_audit::policy::{Policy, PolicyWitness};
use amanah_audit::witness::AddCheckpoint;
use amanah_domain::errors::Chain;
use amanah_domain::ports::{AuditLog, AuditReadError, StoredCheckpoint};
use amanah_infra::audit::cosignatures::{Cosignatures, WitnessedCheckpoints};

/// How long one push may take.
const PUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// A checkpoint is pushed again after this long even when the log has not grown.
const REPUBLISH: Duration = Duration::from_secs(600);
/// The longest back-off after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Why the witness policy cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WitnessPolicyError {
    #[error("cannot read the witness policy {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the witness policy {path}: {source}")]
    Parse {
        path: String,
        source: amanah_audit::policy::PolicyError,
    },
    #[error(
        "the witness policy {path} names the log key {named}, but this server signs with {ours}: \
         witnesses would refuse its checkpoints"
    )]
    NotThisLog {
        path: String,
        named: String,
        ours: String,
    },
    #[error(
        "the witness policy {path}: witness {name} has no URL (write `witness <name> <vkey> \
         <url>`); the server pushes checkpoints to that URL"
    )]
    NoUrl { path: String, name: String },
    #[error(
        "the witness policy {path}: witness {name}'s URL {url:?} must start with http:// or \
         https://"
    )]
    BadUrl {
        path: String,
        name: String,
        url: String,
    },
}

/// Reads and checks the policy at `path` for a log that signs with `ours`: its `log` line must be
/// this log's key, and every witness must have the URL the server pushes to.
///
/// # Errors
/// [`WitnessPolicyError`] naming the file and what is wrong.
pub fn load_policy(
    path: &std::path::Path,
    ours: &VerifierKey,
) -> Result<Policy, WitnessPolicyError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| WitnessPolicyError::Read {
        path: shown.clone(),
        source,
    })?;
    let policy = Policy::parse(&text).map_err(|source| WitnessPolicyError::Parse {
        path: shown.clone(),
        source,
    })?;
    if &policy.log != ours {
        return Err(WitnessPolicyError::NotThisLog {
            path: shown,
            named: policy.log.to_string(),
            ours: ours.to_string(),
        });
    }
    for witness in &policy.witnesses {
        let Some(url) = &witness.url else {
            return Err(WitnessPolicyError::NoUrl {
                path: shown,
                name: witness.name.clone(),
            });
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(WitnessPolicyError::BadUrl {
                path: shown,
                name: witness.name.clone(),
                url: url.clone(),
            });
        }
    }
    Ok(policy)
}

/// Why a push did not end in a cosignature: the `reason` label of
/// `amanah_witness_push_failures_total`. Its value is its place in [`Failure::ALL`] and in
/// [`WitnessReport::failures`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No answer in time, a network error, 429 or 5xx.
    Unreachable = 0,
    /// 422, a 409 without a size, a 400, or a 200 without a valid cosignature.
    Rejected = 1,
    /// 404 or 403: the witness does not know this log or its key.
    Misconfigured = 2,
    /// A 409 with a size this log never signed, or larger than the checkpoint pushed.
    UnknownCheckpoint = 3,
}

// Each failure's value is its place in `Failure::ALL`, checked when compiling.
const _: () = {
    let mut place = 0;
    while place < Failure::ALL.len() {
        assert!(Failure::ALL[place] as usize == place);
        place += 1;
    }
};

impl Failure {
    pub const ALL: [Self; 4] = [
        Self::Unreachable,
        Self::Rejected,
        Self::Misconfigured,
        Self::UnknownCheckpoint,
    ];

    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::Rejected => "rejected",
            Self::Misconfigured => "misconfigured",
            Self::UnknownCheckpoint => "unknown_checkpoint",
        }
    }
}

/// What the server knows of one witness (`/metrics`).
#[derive(Debug, Clone, Default)]
pub struct WitnessReport {
    pub name: String,
    /// The largest size it cosigned for this process.
    pub cosigned_size: u64,
    /// The time `T` of its newest cosignature (POSIX seconds), 0 before the first.
    pub cosigned_at: u64,
    /// The newest checkpoint's size minus `cosigned_size`, as of the last round.
    pub lag: u64,
    /// Whether the last push got a cosignature.
    pub up: bool,
    /// Failed pushes since the start, by [`Failure::ALL`]'s order.
    pub failures: [u64; 4],
}

#[derive(Debug)]
struct WitnessTrack {
    report: WitnessReport,
    consecutive_failures: u32,
    next_attempt: Option<Instant>,
    last_cosigned: Option<Instant>,
}

/// The witnesses' state for `/metrics` and the quorum checkpoint's size.
#[derive(Debug, Default)]
pub struct WitnessStatus {
    witnesses: Mutex<Vec<WitnessTrack>>,
    /// The size of the checkpoint `/audit/checkpoint` serves, and of the newest signed one.
    quorum: Mutex<(Option<u64>, u64)>,
}

impl WitnessStatus {
    fn new(policy: &Policy) -> Self {
        let witnesses = policy
            .witnesses
            .iter()
            .map(|witness| WitnessTrack {
                report: WitnessReport {
                    name: witness.name.clone(),
                    ..WitnessReport::default()
                },
                consecutive_failures: 0,
                next_attempt: None,
                last_cosigned: None,
            })
            .collect();
        Self {
            witnesses: Mutex::new(witnesses),
            quorum: Mutex::new((None, 0)),
        }
    }

    /// Each witness's report, in policy order.
    #[must_use]
    pub fn reports(&self) -> Vec<WitnessReport> {
        self.lock().iter().map(|t| t.report.clone()).collect()
    }

    /// The size of the newest checkpoint that met the quorum (`None` while none has), and the
    /// newest signed size, as of the last round.
    #[must_use]
    pub fn quorum(&self) -> (Option<u64>, u64) {
        *self.quorum.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<WitnessTrack>> {
        self.witnesses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The witnesses of a log: the checkpoints it serves with their cosignatures, and the state of
/// the pushes.
#[derive(Debug, Clone)]
pub struct Witnessing {
    pub checkpoints: WitnessedCheckpoints,
    pub status: Arc<WitnessStatus>,
}

impl Witnessing {
    #[must_use]
    pub fn new(policy: Policy, cosignatures: Cosignatures, log: Arc<dyn AuditLog>) -> Self {
        let status = Arc::new(WitnessStatus::new(&policy));
        Self {
            checkpoints: WitnessedCheckpoints::new(Arc::new(policy), cosignatures, log),
            status,
        }
    }
}

/// Pushes checkpoints to the witnesses until `stopping` becomes true.
#[derive(Debug)]
pub struct Pusher {
    witnessing: Witnessing,
    cosignatures: Cosignatures,
    log: Arc<dyn AuditLog>,
    client: reqwest::Client,
    interval: Duration,
}

/// What one attempt came to.
enum Outcome {
    /// With the newest time `T` of the lines kept.
    Cosigned(u64),
    /// The witness holds this size, which the log signed: push again from there.
    Holds(u64),
    Failed(Failure, String),
    /// This server could not read or keep what the push needs (its own database): not the
    /// witness's doing, so not counted against it; the next round tries again.
    Local(String),
}

impl Pusher {
    /// # Errors
    /// When the HTTP client cannot be built (its TLS roots).
    pub fn new(
        witnessing: Witnessing,
        cosignatures: Cosignatures,
        log: Arc<dyn AuditLog>,
        interval: Duration,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(PUSH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            witnessing,
            cosignatures,
            log,
            client,
            interval,
        })
    }

    /// Runs rounds every interval until `stopping` is true.
    pub async fn run(self, mut stopping: tokio::sync::watch::Receiver<bool>) {
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => self.round().await,
                changed = stopping.changed() => {
                    if changed.is_err() || *stopping.borrow() {
                        return;
                    }
                }
            }
        }
    }

    /// One round: the newest checkpoint to every witness that needs it, at once.
    pub async fn round(&self) {
        let newest = match self.log.signed_checkpoint(None).await {
            Ok(newest) => newest,
            Err(AuditReadError::NoCheckpoint) => return,
            Err(error) => {
                tracing::warn!(error = %Chain(&error), "witnesses: cannot read the newest checkpoint");
                return;
            }
        };
        let policy = self.witnessing.checkpoints.policy();
        futures::future::join_all(
            policy
                .witnesses
                .iter()
                .enumerate()
                .map(|(index, witness)| self.push_to(index, witness, &newest)),
        )
        .await;
        match self.witnessing.checkpoints.refresh().await {
            Ok(met) => {
                *self
                    .witnessing
                    .status
                    .quorum
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = (met, newest.size);
            }
            Err(error) => {
                tracing::warn!(error = %Chain(&error), "witnesses: cannot read the quorum checkpoint");
            }
        }
    }

    async fn push_to(&self, index: usize, witness: &PolicyWitness, newest: &StoredCheckpoint) {
        let vkey = witness.key.to_string();
        let republish_due = {
            let tracks = self.witnessing.status.lock();
            let track = &tracks[index];
            if track.next_attempt.is_some_and(|at| Instant::now() < at) {
                return;
            }
            track
                .last_cosigned
                .is_none_or(|at| at.elapsed() >= REPUBLISH)
        };
        let mut old = match self.cosignatures.last_size(&vkey).await {
            Ok(size) => size,
            Err(error) => {
                tracing::warn!(witness = %witness.name, error = %Chain(&error), "witnesses: cannot read the size a witness holds");
                return;
            }
        };
        self.set_lag(index, newest.size.saturating_sub(old));
        if old > newest.size || (old == newest.size && !republish_due) {
            return;
        }
        let mut retried = false;
        let outcome = loop {
            match self.attempt(witness, &vkey, old, newest).await {
                Outcome::Holds(size) if !retried => {
                    tracing::info!(witness = %witness.name, holds = size, believed = old, "witnesses: the witness holds another size; pushing again from it");
                    if let Err(error) = self.cosignatures.set_last_size(&vkey, size).await {
                        break Outcome::Local(format!("cannot keep the witness's size: {error}"));
                    }
                    old = size;
                    retried = true;
                }
                Outcome::Holds(size) => {
                    break Outcome::Failed(
                        Failure::Rejected,
                        format!("the witness answered 409 again, holding size {size}"),
                    );
                }
                outcome => break outcome,
            }
        };
        let mut tracks = self.witnessing.status.lock();
        let track = &mut tracks[index];
        match outcome {
            Outcome::Cosigned(time) => {
                track.consecutive_failures = 0;
                track.next_attempt = None;
                track.last_cosigned = Some(Instant::now());
                track.report.up = true;
                track.report.cosigned_size = track.report.cosigned_size.max(newest.size);
                track.report.cosigned_at = track.report.cosigned_at.max(time);
                track.report.lag = 0;
            }
            Outcome::Failed(failure, reason) => {
                track.consecutive_failures = track.consecutive_failures.saturating_add(1);
                let backoff = self
                    .interval
                    .saturating_mul(1 << track.consecutive_failures.min(16).saturating_sub(1))
                    .min(MAX_BACKOFF);
                track.next_attempt = Some(Instant::now() + backoff);
                track.report.up = false;
                track.report.failures[failure as usize] += 1;
                let alert = match failure {
                    Failure::Unreachable => "witness unreachable",
                    Failure::Rejected => "witness rejects consistency",
                    Failure::Misconfigured => "witness does not know this log or its key",
                    Failure::UnknownCheckpoint => "witness holds an unknown checkpoint",
                };
                let level_error = matches!(failure, Failure::Rejected | Failure::UnknownCheckpoint);
                if level_error {
                    tracing::error!(witness = %witness.name, size = newest.size, %reason, next_attempt_secs = backoff.as_secs(), "{alert}");
                } else {
                    tracing::warn!(witness = %witness.name, size = newest.size, %reason, next_attempt_secs = backoff.as_secs(), "{alert}");
                }
            }
            Outcome::Local(reason) => {
                tracing::error!(witness = %witness.name, size = newest.size, %reason, "witnesses: a push could not be completed here");
            }
            Outcome::Holds(_) => {}
        }
    }

    fn set_lag(&self, index: usize, lag: u64) {
        if let Some(track) = self.witnessing.status.lock().get_mut(index) {
            track.report.lag = lag;
        }
    }

    /// One `add-checkpoint` of `newest` from `old`.
    async fn attempt(
        &self,
        witness: &PolicyWitness,
        vkey: &str,
        old: u64,
        newest: &StoredCheckpoint,
    ) -> Outcome {
        let proof = if old == 0 || old == newest.size {
            Vec::new()
        } else {
            match self.log.consistency_proof(old, Some(newest.size)).await {
                Ok(proof) => proof.hashes,
                Err(error) => {
                    return Outcome::Local(format!("no consistency proof from {old}: {error}"));
                }
            }
        };
        let body = AddCheckpoint {
            old,
            proof,
            checkpoint: newest.note.clone(),
        }
        .to_body();
        let url = format!(
            "{}/add-checkpoint",
            witness
                .url
                .as_deref()
                .unwrap_or_default()
                .trim_end_matches('/')
        );
        let response = match self.client.post(&url).body(body).send().await {
            Ok(response) => response,
            Err(error) => return Outcome::Failed(Failure::Unreachable, Chain(&error).to_string()),
        };
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = match response.text().await {
            Ok(text) => text,
            Err(error) => return Outcome::Failed(Failure::Unreachable, Chain(&error).to_string()),
        };
        match status {
            200 => self.keep(witness, vkey, newest, &text).await,
            409 if content_type.starts_with("text/x.tlog.size") => {
                self.held(old, newest, &text).await
            }
            404 | 403 => Outcome::Failed(Failure::Misconfigured, answer(status, &text)),
            429 | 500..=599 => Outcome::Failed(Failure::Unreachable, answer(status, &text)),
            _ => Outcome::Failed(Failure::Rejected, answer(status, &text)),
        }
    }

    /// A 200: keeps the lines of this witness that verify over the checkpoint's text.
    async fn keep(
        &self,
        witness: &PolicyWitness,
        vkey: &str,
        newest: &StoredCheckpoint,
        answer_text: &str,
    ) -> Outcome {
        let Ok(parsed) = parse_note(newest.note.as_bytes()) else {
            return Outcome::Local("the log's own note does not parse".into());
        };
        let text = parsed.text;
        let mut lines = Vec::new();
        for line in answer_text.lines() {
            let single = format!("{text}\n{line}\n");
            let Ok(one) = parse_note(single.as_bytes()) else {
                continue;
            };
            for signature in &one.signatures {
                if let Ok(time) = witness.key.verify(text, signature) {
                    lines.push((time, format!("{line}\n")));
                }
            }
        }
        if lines.is_empty() {
            return Outcome::Failed(
                Failure::Rejected,
                format!("200 without a valid cosignature by {}", witness.key),
            );
        }
        if let Err(error) = self.cosignatures.record(newest.size, vkey, &lines).await {
            return Outcome::Local(format!("cannot keep the cosignature: {error}"));
        }
        if let Err(error) = self.cosignatures.set_last_size(vkey, newest.size).await {
            return Outcome::Local(format!("cannot keep the witness's size: {error}"));
        }
        Outcome::Cosigned(
            lines
                .iter()
                .map(|(time, _)| *time)
                .max()
                .unwrap_or_default(),
        )
    }

    /// A 409 with the size the witness holds.
    async fn held(&self, old: u64, newest: &StoredCheckpoint, text: &str) -> Outcome {
        let Some(size) = text
            .strip_suffix('\n')
            .and_then(|digits| digits.parse::<u64>().ok())
        else {
            return Outcome::Failed(Failure::Rejected, answer(409, text));
        };
        if size > newest.size {
            return Outcome::Failed(
                Failure::UnknownCheckpoint,
                format!(
                    "the witness holds size {size}, beyond the newest checkpoint {}",
                    newest.size
                ),
            );
        }
        if size != 0 {
            match self.log.signed_checkpoint(Some(size)).await {
                Ok(_) => {}
                Err(AuditReadError::NotSigned(_)) => {
                    return Outcome::Failed(
                        Failure::UnknownCheckpoint,
                        format!("the witness holds size {size}, which this log never signed"),
                    );
                }
                Err(error) => return Outcome::Local(error.to_string()),
            }
        }
        if size == old {
            return Outcome::Failed(
                Failure::Rejected,
                format!("the witness answered 409 holding size {size}, the size the log sent"),
            );
        }
        Outcome::Holds(size)
    }
}

fn answer(status: u16, text: &str) -> String {
    let text: String = text.chars().take(200).collect();
    format!("{status}: {}", text.trim())
}
