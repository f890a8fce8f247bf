//! `amanah witness`: the small server a supreme audit institution runs on its own machine to
//! cosign Amanah's checkpoints (`docs/witness.md` §2), so that no one can be shown a history
//! that contradicts what the institution has seen.
//!
//! * `init --name NAME --key FILE` creates the witness's `cosignature/v1` key (mode 0600);
//!   `key --key FILE` prints its verifier key, which the log operator and auditors put in their
//!   policies.
//! * `add-log --db FILE <log vkey>` starts witnessing a log (its origin is the key's name).
//! * `serve --listen ADDR --db FILE --key FILE` answers `POST /add-checkpoint` (C2SP
//!   tlog-witness) and `GET /<hex SHA-256(origin)>/checkpoint`.
//!
//! The decision is `amanah_audit::witness::decide`; what is stored is
//! `amanah_infra::witness::WitnessStore`. A cosignature is stored before it is returned, by one
//! conditional update from the request's `old` size, and requests that the log signed but that
//! contradict the witnessed history are kept as evidence.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, HttpServer, web};
use amanah_audit::cosignature::Cosigner;
use amanah_audit::note::VerifierKey;
use amanah_audit::witness::{AddCheckpoint, Decision, MAX_BODY_BYTES, Refusal, Trusted, decide};
use amanah_infra::witness::{WitnessStore, WitnessStoreError};
use clap::Subcommand;
use futures::StreamExt as _;
use sha2::{Digest as _, Sha256};

/// `amanah witness …`.
#[derive(Debug, Subcommand)]
pub enum WitnessCommand {
    /// Create the witness's key: a `cosignature/v1` Ed25519 key written to FILE (mode 0600).
    Init {
        /// The witness's name, e.g. `bpk.go.id/amanah-witness`.
        #[arg(long)]
        name: String,
        /// Where to write the secret key.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
    /// Print the witness's verifier key (`<name>+<key ID>+<key>`) for policies.
    Key {
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
    /// Start witnessing a log, given its verifier key (as `amanah audit key` prints it).
    AddLog {
        #[arg(long, value_name = "FILE")]
        db: PathBuf,
        /// The log's verifier key; its name is the log's origin.
        vkey: String,
    },
    /// Serve `add-checkpoint` and the cosigned checkpoints.
    Serve {
        /// The address to listen on (port 0: any free port; the address is printed).
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        #[arg(long, value_name = "FILE")]
        db: PathBuf,
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
}

/// Why a witness command failed.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("{0}")]
    Key(#[from] amanah_audit::note::KeyError),
    #[error(transparent)]
    File(#[from] amanah_infra::private_file::PrivateFileError),
    #[error("{} exists already: a witness key is never overwritten", .0.display())]
    KeyExists(PathBuf),
    #[error(transparent)]
    Store(#[from] WitnessStoreError),
    #[error("cannot serve on {address}: {source}")]
    Serve {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// Runs a witness command.
///
/// # Errors
/// [`WitnessError`] saying what failed.
pub async fn run(command: WitnessCommand) -> Result<(), WitnessError> {
    match command {
        WitnessCommand::Init { name, key } => {
            let cosigner = Cosigner::generate(&name)?;
            let mut secret = cosigner.to_private_key_string();
            secret.push('\n');
            if !amanah_infra::private_file::create_new(&key, secret.as_bytes(), "the witness key")?
            {
                return Err(WitnessError::KeyExists(key));
            }
            println!("{}", cosigner.verifier());
            Ok(())
        }
        WitnessCommand::Key { key } => {
            println!("{}", load_key(&key)?.verifier());
            Ok(())
        }
        WitnessCommand::AddLog { db, vkey } => {
            let key = VerifierKey::parse(vkey.trim())?;
            WitnessStore::open(&db).await?.add_log(&key).await?;
            println!("witnessing {}", key.name());
            Ok(())
        }
        WitnessCommand::Serve { listen, db, key } => {
            let witness = Witness {
                store: WitnessStore::open(&db).await?,
                cosigner: Arc::new(load_key(&key)?),
            };
            serve(witness, listen).await
        }
    }
}

fn load_key(path: &Path) -> Result<Cosigner, WitnessError> {
    let text = amanah_infra::private_file::read(path, "the witness key")?;
    Ok(Cosigner::from_private_key_string(&text)?)
}

/// What the handlers share.
#[derive(Debug, Clone)]
struct Witness {
    store: WitnessStore,
    cosigner: Arc<Cosigner>,
}

async fn serve(witness: Witness, listen: SocketAddr) -> Result<(), WitnessError> {
    let failed = |source| WitnessError::Serve {
        address: listen,
        source,
    };
    let listener = std::net::TcpListener::bind(listen).map_err(failed)?;
    let address = listener.local_addr().map_err(failed)?;
    println!(
        "witness {} listening on http://{address}",
        witness.cosigner.name()
    );
    let data = web::Data::new(witness);
    HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/add-checkpoint", web::post().to(add_checkpoint))
            .route("/{log}/checkpoint", web::get().to(checkpoint))
    })
    .workers(2)
    .listen(listener)
    .map_err(failed)?
    .run()
    .await
    .map_err(failed)
}

fn text(status: StatusCode, body: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .body(body.into())
}

fn refused(refusal: &Refusal) -> HttpResponse {
    let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
    match refusal {
        Refusal::Conflict { size } => HttpResponse::build(status)
            .content_type("text/x.tlog.size")
            .body(format!("{size}\n")),
        other => text(status, format!("{other}\n")),
    }
}

fn unavailable(error: &WitnessStoreError) -> HttpResponse {
    tracing::error!(%error, "the witness database failed");
    // A busy or failing database: the log retries later.
    text(
        StatusCode::TOO_MANY_REQUESTS,
        "the witness cannot answer now; retry later\n",
    )
}

/// `POST /add-checkpoint`.
async fn add_checkpoint(witness: web::Data<Witness>, mut payload: web::Payload) -> HttpResponse {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return text(StatusCode::BAD_REQUEST, "the body could not be read\n");
        };
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY_BYTES {
            return text(StatusCode::BAD_REQUEST, "the body is larger than 16 KiB\n");
        }
    }
    let request = match AddCheckpoint::parse(&body) {
        Ok(request) => request,
        Err(refusal) => return refused(&refusal),
    };
    match answer(&witness, &request, &body).await {
        Ok(response) => response,
        Err(error) => unavailable(&error),
    }
}

async fn answer(
    witness: &Witness,
    request: &AddCheckpoint,
    body: &[u8],
) -> Result<HttpResponse, WitnessStoreError> {
    // The origin decides which stored log to read; the decision re-reads it from the note.
    let origin = request
        .checkpoint
        .split('\n')
        .next()
        .unwrap_or_default()
        .to_owned();
    let stored = witness.store.log(&origin).await?;
    let decision = decide(request, |found| {
        stored
            .as_ref()
            .filter(|log| log.origin == found)
            .map(|log| Trusted {
                keys: log.keys.clone(),
                size: log.size,
                root: log.root,
            })
    });
    let (checkpoint, note_text) = match decision {
        Decision::Refuse(refusal) => {
            if refusal.is_evidence() {
                let body = String::from_utf8_lossy(body);
                witness
                    .store
                    .record_evidence(&origin, refusal.status(), &body)
                    .await?;
            }
            return Ok(refused(&refusal));
        }
        Decision::Cosign { checkpoint, text } => (checkpoint, text),
    };
    let time = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(1);
    let line = witness.cosigner.cosign(&note_text, time);
    let cosigned = format!("{}{line}", request.checkpoint);
    let moved = witness
        .store
        .advance(
            &checkpoint.origin,
            request.old,
            checkpoint.size,
            &checkpoint.root,
            &cosigned,
        )
        .await?;
    if !moved {
        // Another request moved the log first: answer with the size it holds now.
        let size = witness
            .store
            .log(&checkpoint.origin)
            .await?
            .map_or(0, |log| log.size);
        return Ok(refused(&Refusal::Conflict { size }));
    }
    Ok(text(StatusCode::OK, line))
}

/// `GET /<hex SHA-256(origin)>/checkpoint`: the last checkpoint cosigned for that log.
async fn checkpoint(witness: web::Data<Witness>, log: web::Path<String>) -> HttpResponse {
    let wanted = log.into_inner().to_ascii_lowercase();
    let found = async {
        for origin in witness.store.origins().await? {
            let hash = Sha256::digest(origin.as_bytes());
            let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
            if hex == wanted {
                return witness.store.log(&origin).await;
            }
        }
        Ok(None)
    };
    match found.await {
        Ok(Some(log)) => match log.checkpoint {
            Some(note) => text(StatusCode::OK, note),
            None => text(StatusCode::NOT_FOUND, "no checkpoint cosigned yet\n"),
        },
        Ok(None) => text(StatusCode::NOT_FOUND, "unknown log\n"),
        Err(error) => unavailable(&error),
    }
}
