//! Liveness and readiness probes: `GET /healthz` and `GET /readyz`.
//!
//! Liveness says the process serves HTTP, nothing more, so an orchestrator restarts only a process
//! that is truly stuck. Readiness says this replica can do useful work: the database answers
//! `SELECT 1`, no migration is pending and the audit signing key is loaded (every committed batch
//! is signed). A failed readiness check answers `503` with a JSON body naming the failed check;
//! the details go to the log, not to the unauthenticated caller.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use amanah_domain::errors::Chain;

use crate::state::ApiState;

/// A readiness check that takes longer than this has failed: probes have short deadlines.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// `GET /readyz`.
pub async fn readyz(state: web::Data<ApiState>) -> HttpResponse {
    let database = check("database", database_answers(&state)).await;
    let migrations = if database.is_ok() {
        check("migrations", migrations_current(&state)).await
    } else {
        Err("not checked: the database does not answer".to_owned())
    };
    let signing_key = if state.checkpoint_signer.is_some() {
        Ok(())
    } else {
        Err("no checkpoint signing key is loaded".to_owned())
    };
    let ready = database.is_ok() && migrations.is_ok() && signing_key.is_ok();
    let describe =
        |outcome: Result<(), String>| outcome.map_or_else(|reason| reason, |()| "ok".to_owned());
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "unavailable" },
        "checks": {
            "database": describe(database),
            "migrations": describe(migrations),
            "signingKey": describe(signing_key),
        },
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Runs one check with [`CHECK_TIMEOUT`], logging the detailed reason of a failure.
async fn check(
    name: &str,
    outcome: impl Future<Output = Result<(), CheckFailure>>,
) -> Result<(), String> {
    let failure = match tokio::time::timeout(CHECK_TIMEOUT, outcome).await {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(failure)) => failure,
        Err(_) => CheckFailure {
            public: format!("no answer within {} s", CHECK_TIMEOUT.as_secs()),
            detail: None,
        },
    };
    tracing::warn!(check = name, reason = %failure.public, detail = failure.detail.as_deref(), "readiness check failed");
    Err(failure.public)
}

struct CheckFailure {
    /// Safe for the unauthenticated caller.
    public: String,
    /// For the log only.
    detail: Option<String>,
}

async fn database_answers(state: &ApiState) -> Result<(), CheckFailure> {
    state.db.ping().await.map_err(|error| CheckFailure {
        public: "the database does not answer".to_owned(),
        detail: Some(Chain(&error).to_string()),
    })
}

async fn migrations_current(state: &ApiState) -> Result<(), CheckFailure> {
    match state.db.pending_migrations().await {
        Ok(0) => Ok(()),
        Ok(pending) => Err(CheckFailure {
            public: format!("{pending} migration(s) pending; run `amanah migrate`"),
            detail: None,
        }),
        Err(error) => Err(CheckFailure {
            public: "the migration state could not be read".to_owned(),
            detail: Some(Chain(&error).to_string()),
        }),
    }
}
