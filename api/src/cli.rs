//! The `amanah` command line (`docs/api.md`, "The binary").
//!
//! Exit codes: 0 success, 1 a verification or check failed, 2 a usage, configuration or
//! environment error (the configuration is invalid, the database does not answer, the address is
//! taken), 3 `audit verify` without `--vkey` found the export consistent with its own key only
//! (which a rewritten log signed again with a new key also is). Errors are printed to stderr as
//! one sentence saying what failed and what to do.

use std::{path::PathBuf, process::ExitCode};

use amanah_audit::files::{EXIT_FAILED, EXIT_OWN_KEY_ONLY, EXIT_UNUSABLE};
use amanah_infra::audit::cosignatures::WitnessedCheckpoints;
use clap::{Parser, Subcommand};

use crate::{
    config::{Config, FileChoice},
    startup::{Application, Listener, StartupError},
    telemetry::{self, TelemetryError, TelemetrySettings},
};

/// Amanah: the audited portfolio of the ASEAN Secretariat's development cooperation.
#[derive(Debug, Parser)]
#[command(name = "amanah", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (default: ./amanah.toml when it exists); environment variables
    /// AMANAH_* override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server; creates and migrates the database when needed.
    Serve {
        /// Load the demo dataset (through the ordinary commands, so it is in the audit log)
        /// when the log is empty.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Rebuild the read model from the audit log.
    Replay {
        /// Do not rebuild: fold the log and report every difference from the live read model
        /// (exit 1 when there is any).
        #[arg(long)]
        check: bool,
    },
    /// Print the effective configuration as TOML, secrets redacted.
    Config,
    /// The signed audit log: verifier key, export, offline verification.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The portfolio as IATI 2.03 XML files.
    Iati {
        #[command(subcommand)]
        command: IatiCommand,
    },
    /// A witness of the audit log, run by a supreme audit institution (docs/witness.md).
    Witness {
        #[command(subcommand)]
        command: crate::witness::WitnessCommand,
    },
    /// Mint an HS256 bearer token for development and tests, signed with the configured secret
    /// (or the data directory's, generated when missing), and print it.
    Token(TokenArgs),
}

/// `amanah token --sub S --role R [--role R2] [--org ORG_ID] [--ttl 1h]`.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenArgs {
    /// The subject (`sub`): who the token speaks for, e.g. a user name or a partner system.
    #[arg(long)]
    pub sub: String,
    /// A role: viewer, editor, integrator, auditor or admin (repeat for several).
    #[arg(long = "role", value_name = "ROLE", required = true)]
    pub roles: Vec<amanah_infra::auth::Role>,
    /// The organisation id (`org`) an integrator acts for.
    #[arg(long, value_name = "ORG_ID")]
    pub org: Option<uuid::Uuid>,
    /// How long the token is valid: 3600s, 30m, 1h, 7d (at most 366d).
    #[arg(long, default_value = "1h", value_parser = amanah_infra::auth::parse_ttl)]
    pub ttl: std::time::Duration,
}

/// `amanah audit …` (`docs/audit-log.md` §2).
/// `amanah iati …` (`docs/iati.md`).
#[derive(Debug, Subcommand)]
pub enum IatiCommand {
    /// Write `activities.xml` and `organisations.xml` to DIR: the files `GET /iati/…` serves.
    Export {
        /// The directory to write (created when absent).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Only the projects this organisation (its IATI ref) reports.
        #[arg(long, value_name = "REF")]
        reporting_org: Option<String>,
        /// The portfolio as the audit log's first SIZE events left it.
        #[arg(long, value_name = "SIZE")]
        as_of: Option<u64>,
    },
    /// Import an IATI 2.03 activity file: validated against the schema first, then each
    /// activity through the ordinary commands, all or nothing. Prints a line per activity and
    /// what Amanah does not keep of it. Exit 0 when every activity was imported or unchanged,
    /// 1 when one was refused, 2 when the file was refused whole.
    Import {
        /// The activity file.
        file: PathBuf,
        /// Decide everything and report, but append nothing.
        #[arg(long)]
        dry_run: bool,
        /// The actor the audit log records for the changes.
        #[arg(long, value_name = "NAME", default_value = "iati-import")]
        actor: String,
        /// Write the report as JSON (one object per line) to FILE as well.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the checkpoint verifier key (`<origin>+<key id>+<public key>`); creates the signing
    /// key when absent.
    Key,
    /// Write `events.jsonl`, `checkpoint` and `log.vkey` of the latest signed checkpoint to DIR.
    /// With a witness policy (`audit.witness_policy`), the checkpoint carries the witnesses'
    /// cosignatures, and it is the newest one that meets the policy's quorum, as
    /// `GET /audit/checkpoint` serves it.
    Export {
        /// The directory to write (created when absent).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The checkpoint of this tree size (a size the log signed) instead.
        #[arg(long, value_name = "SIZE")]
        size: Option<u64>,
    },
    /// Verify an export offline: no database, no network. Exit 0 verified with the key given
    /// by --vkey, 1 verification failed, 2 usage or read error, 3 verified without --vkey
    /// (internal consistency only).
    Verify {
        /// The export directory.
        dir: PathBuf,
        /// The verifier key to trust, obtained out of band (`amanah audit key` run by the
        /// operator, or the key the operator published); the export's own `log.vkey` must be the
        /// same key. Without it every check runs with the export's own `log.vkey`, which proves
        /// only that the export is consistent with itself, and the exit code is 3.
        #[arg(long, value_name = "FILE", conflicts_with = "policy")]
        vkey: Option<PathBuf>,
        /// A witness policy (C2SP tlog-policy, docs/witness.md §4): its `log` key is the key to
        /// trust, and the checkpoint's witness cosignatures must meet its quorum.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// With --policy: the newest cosignature the policy counts must be at most this old
        /// (3600s, 30m, 1h, 7d).
        #[arg(long, value_name = "DURATION", requires = "policy", value_parser = amanah_infra::auth::parse_ttl)]
        max_age: Option<std::time::Duration>,
        /// A checkpoint kept from earlier: it must be a prefix of this log.
        #[arg(long, value_name = "FILE")]
        previous: Option<PathBuf>,
    },
    /// Verify the live database the same way, against its latest signed checkpoint.
    VerifyDb,
}

impl Cli {
    /// Which configuration file to read: `--config`, else `amanah.toml` in `working_dir`.
    #[must_use]
    pub fn file_choice<'a>(&'a self, working_dir: &'a std::path::Path) -> FileChoice<'a> {
        match &self.config {
            Some(path) => FileChoice::Explicit(path),
            None => FileChoice::DefaultIn(working_dir),
        }
    }
}

/// A command that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Telemetry(#[from] TelemetryError),
    #[error("could not create or inspect the data directory {} ({source}); check AMANAH_DATA_DIR and its permissions", path.display())]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}; check AMANAH_DATABASE_URL and that the database server is running")]
    Database(#[from] amanah_infra::store::database::DatabaseSetupError),
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("the server stopped with an error ({0})")]
    Server(std::io::Error),
    #[error("could not print the configuration ({0})")]
    PrintConfig(#[from] toml::ser::Error),
    #[error("the demo dataset could not be loaded: {0}")]
    Demo(#[from] crate::demo::DemoError),
    #[error("the audit log could not be replayed ({0}); the read model is unchanged")]
    Replay(amanah_domain::ports::StoreError),
    #[error(
        "the read model differs from the audit log in {0} row(s); run `amanah replay` to rebuild it"
    )]
    ReplayCheckFailed(usize),
    #[error("{0}; check AMANAH_AUDIT_SIGNING_KEY and AMANAH_AUDIT_ORIGIN")]
    SigningKey(#[from] amanah_infra::audit::files::SigningKeyError),
    #[error(transparent)]
    WitnessPolicy(#[from] crate::witnessing::WitnessPolicyError),
    #[error("the export failed: {0}")]
    Export(#[from] amanah_infra::audit::files::ExportError),
    #[error("{0}")]
    Verify(#[from] amanah_audit::files::VerifyError),
    #[error("{0}")]
    VerifyDb(#[from] amanah_infra::audit::files::VerifyDbError),
    #[error(
        "{} (`amanah audit key` run by the operator, or the key the operator published)",
        amanah_audit::files::OWN_KEY_ONLY
    )]
    VerifiedWithOwnKeyOnly,
    #[error("could not create a scratch directory ({0})")]
    Scratch(std::io::Error),
    #[error("{0}; set AMANAH_AUTH_HS256_SECRET or check the data directory")]
    TokenSecret(#[from] crate::auth::AuthSetupError),
    #[error("could not mint the token: {0}")]
    Mint(#[from] amanah_infra::auth::MintError),
    #[error("the IATI export failed: {0}")]
    Publish(#[from] crate::iati::PublishError),
    #[error(transparent)]
    Witness(#[from] crate::witness::WitnessError),
    #[error("the file was not imported: {0}")]
    Import(#[from] crate::iati::import::ImportError),
    #[error("{0} of the file's activities were refused (see the report)")]
    ActivitiesRefused(usize),
    #[error("could not write {} ({source})", path.display())]
    WriteFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl CliError {
    /// The process exit code for this error (see the module documentation).
    #[must_use]
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::ReplayCheckFailed(_) | Self::ActivitiesRefused(_) => ExitCode::from(1),
            Self::Verify(error) => ExitCode::from(error.exit_status()),
            Self::VerifyDb(error) if error.is_verification_failure() => ExitCode::from(EXIT_FAILED),
            Self::VerifiedWithOwnKeyOnly => ExitCode::from(EXIT_OWN_KEY_ONLY),
            _ => ExitCode::from(EXIT_UNUSABLE),
        }
    }
}

/// Runs `command` with `config`.
///
/// # Errors
/// [`CliError`] describing what failed.
pub async fn run(command: Command, config: Config) -> Result<(), CliError> {
    match command {
        Command::Config => {
            print!("{}", config.to_toml()?);
            Ok(())
        }
        Command::Migrate => {
            let _telemetry = start_telemetry(&config)?;
            let db = amanah_infra::store::database::connect_with(
                config.database_url.expose(),
                &config.connect_settings(),
            )
            .await?;
            amanah_infra::store::database::migrate(&db).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Serve { demo } => {
            let _telemetry = start_telemetry(&config)?;
            serve(config, demo).await
        }
        Command::Replay { check } => {
            let _telemetry = start_telemetry(&config)?;
            replay(&config, check).await
        }
        Command::Audit { command } => audit(&config, command).await,
        Command::Iati { command } => iati(&config, command).await,
        Command::Witness { command } => Ok(crate::witness::run(command).await?),
        Command::Token(args) => {
            println!("{}", mint_token(&config, &args)?);
            Ok(())
        }
    }
}

/// `amanah token`: an HS256 token with the configured secret, else the data directory's (the
/// directory and the secret are created when missing, so `serve` later uses the same one).
///
/// # Errors
/// The data directory or the secret file cannot be created or read; minting fails.
pub fn mint_token(config: &Config, args: &TokenArgs) -> Result<String, CliError> {
    if config.auth.hs256_secret.is_none() {
        prepare_data_dir(&config.data_dir)?;
    }
    let secret = crate::auth::hs256_secret(config)?;
    Ok(amanah_infra::auth::mint_hs256(
        &secret,
        &args.sub,
        &args.roles,
        args.org,
        args.ttl,
        &config.auth.issuer,
        &config.auth.audience,
    )?)
}

/// Creates the data directory (mode 0700: it holds the key files and the SQLite database) when
/// missing; an existing one that group or others may use is kept, with a warning.
///
/// # Errors
/// [`CliError::DataDir`] when it cannot be created or inspected.
pub fn prepare_data_dir(data_dir: &std::path::Path) -> Result<(), CliError> {
    use amanah_infra::private_file;

    let failed = |source| CliError::DataDir {
        path: data_dir.to_owned(),
        source,
    };
    private_file::create_dir(data_dir).map_err(failed)?;
    if let Some(mode) = private_file::exposed_mode(data_dir).map_err(failed)? {
        tracing::warn!(
            path = %data_dir.display(),
            mode = format!("{mode:03o}"),
            "other users may enter the data directory, which holds the key files and the SQLite \
             database; run `chmod 700` on it"
        );
    }
    Ok(())
}

fn start_telemetry(config: &Config) -> Result<telemetry::TelemetryGuard, CliError> {
    let settings = TelemetrySettings::for_binary(config.log_format);
    let (subscriber, guard) = telemetry::get_subscriber(&settings, std::io::stdout)?;
    telemetry::init_subscriber(subscriber)?;
    Ok(guard)
}

/// `amanah audit …`.
async fn audit(config: &Config, command: AuditCommand) -> Result<(), CliError> {
    use amanah_infra::audit::files as audit_files;

    let origin = &config.audit.origin;
    let key_path = &config.audit.signing_key;
    match command {
        AuditCommand::Key => {
            let (key, _) = audit_files::load_or_create_signing_key(key_path, origin)?;
            println!("{}", key.verifier_key());
        }
        AuditCommand::Verify {
            dir,
            policy: Some(policy),
            max_age,
            previous,
            ..
        } => {
            let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default();
            let (verified, cosigned) = amanah_audit::files::verify_dir_with_policy(
                &dir,
                &policy,
                previous.as_deref(),
                max_age.map(|age| age.as_secs()),
                now,
            )?;
            println!("{}", amanah_audit::files::summary(&verified));
            for (witness, time) in &cosigned.witnesses {
                let at = chrono::DateTime::from_timestamp(i64::try_from(*time).unwrap_or(0), 0)
                    .map_or_else(|| time.to_string(), |at| at.to_rfc3339());
                println!("cosigned by {witness} at {at}");
            }
        }
        AuditCommand::Verify {
            dir,
            vkey,
            previous,
            ..
        } => {
            let verified =
                amanah_audit::files::verify_dir(&dir, vkey.as_deref(), previous.as_deref())?;
            println!("{}", amanah_audit::files::summary(&verified));
            if vkey.is_none() {
                return Err(CliError::VerifiedWithOwnKeyOnly);
            }
        }
        AuditCommand::Export { out, size } => {
            let key = audit_files::load_signing_key(key_path, origin)?;
            let store = open_store(config).await?;
            let witnessed = match &config.audit.witness_policy {
                Some(path) => Some(WitnessedCheckpoints::over(
                    crate::witnessing::load_policy(path, &key.verifier_key())?,
                    store.connection(),
                )),
                None => None,
            };
            let summary =
                audit_files::export(&store, &key.verifier_key(), &out, size, witnessed.as_ref())
                    .await?;
            println!(
                "exported {} events to {}; root {}",
                summary.size,
                out.display(),
                summary.root_base64
            );
        }
        AuditCommand::VerifyDb => {
            let key = audit_files::load_signing_key(key_path, origin)?;
            let store = open_store(config).await?;
            let scratch = tempfile::tempdir().map_err(CliError::Scratch)?;
            let verified =
                audit_files::verify_db(&store, &key.verifier_key(), scratch.path()).await?;
            println!(
                "the database holds {} verified events of {}; root {}",
                verified.size,
                verified.origin,
                amanah_infra::base64_standard(&verified.root)
            );
        }
    }
    Ok(())
}

/// `amanah iati export`: the files `GET /iati/activities.xml` and `/iati/organisations.xml`
/// serve, written as they stream (bounded memory), each to a temporary name first.
async fn iati(config: &Config, command: IatiCommand) -> Result<(), CliError> {
    use futures::StreamExt as _;
    use std::io::Write as _;

    let (out, reporting_org, as_of) = match command {
        IatiCommand::Export {
            out,
            reporting_org,
            as_of,
        } => (out, reporting_org, as_of),
        IatiCommand::Import {
            file,
            dry_run,
            actor,
            json,
        } => return iati_import(config, &file, dry_run, &actor, json.as_deref()).await,
    };
    let store = open_store(config).await?;
    let read_model = amanah_infra::read_model::SqlReadModel::new(store.connection().clone());
    let publisher = crate::iati::Publisher::new(
        read_model,
        amanah_domain::service::CommandService::new(store),
    );
    let writing = |path: &std::path::Path| {
        let path = path.to_owned();
        move |source| CliError::WriteFile { path, source }
    };
    std::fs::create_dir_all(&out).map_err(writing(&out))?;
    let generated = chrono::Utc::now();
    let selection = crate::iati::Selection {
        reporting_org,
        as_of,
    };
    let files = [
        (
            "activities.xml",
            publisher.clone().activities(&selection, generated).await?,
        ),
        (
            "organisations.xml",
            publisher.organisations(generated).await?,
        ),
    ];
    for (name, mut pieces) in files {
        let path = out.join(name);
        let partial = out.join(format!(".{name}.partial"));
        let mut file =
            std::io::BufWriter::new(std::fs::File::create(&partial).map_err(writing(&partial))?);
        let mut bytes = 0;
        while let Some(piece) = pieces.next().await {
            let piece = piece?;
            bytes += piece.len();
            file.write_all(piece.as_bytes())
                .map_err(writing(&partial))?;
        }
        file.into_inner()
            .map_err(|error| error.into_error())
            .and_then(|file| file.sync_all())
            .map_err(writing(&partial))?;
        std::fs::rename(&partial, &path).map_err(writing(&path))?;
        println!("wrote {} ({bytes} bytes)", path.display());
    }
    Ok(())
}

/// `amanah iati import`: the report goes to stdout as it is made (and as JSON lines to `json`),
/// the progress to stderr.
async fn iati_import(
    config: &Config,
    file: &std::path::Path,
    dry_run: bool,
    actor: &str,
    json: Option<&std::path::Path>,
) -> Result<(), CliError> {
    use std::io::Write as _;

    prepare_data_dir(&config.data_dir)?;
    let db = amanah_infra::store::database::connect_with(
        config.database_url.expose(),
        &config.connect_settings(),
    )
    .await?;
    amanah_infra::store::database::migrate(&db).await?;
    // No in-memory copy of the proof tree: the import serves no proofs, and the copy would grow
    // with the log it appends to.
    let mut config = config.clone();
    config.audit.tree_cache_mb = 0;
    let state = crate::startup::offline_state(config, db).await?;
    let mut importer = crate::iati::import::Importer::new(
        state.commands.clone(),
        state.read_model.clone(),
        amanah_domain::ports::Actor::system(actor),
        dry_run,
    );
    let mut json_out = match json {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|source| CliError::WriteFile {
                path: path.to_owned(),
                source,
            })?,
        )),
        None => None,
    };
    let mut json_failed = None;
    let started = std::time::Instant::now();
    let summary = importer
        .import_file(file, |report| {
            // A closed stdout (`| head`) does not stop the import: the report is also in --json.
            let _ = std::io::stdout().write_all(crate::iati::import::render(report).as_bytes());
            if report.number % 100 == 0 {
                eprintln!(
                    "{} activities read ({:.0?})",
                    report.number,
                    started.elapsed()
                );
            }
            if let Some(out) = json_out.as_mut()
                && let Err(error) = serde_json::to_writer(&mut *out, report)
                    .map_err(std::io::Error::from)
                    .and_then(|()| out.write_all(b"\n"))
            {
                json_failed.get_or_insert(error);
            }
        })
        .await?;
    if let (Some(path), Some(source)) = (json, json_failed) {
        return Err(CliError::WriteFile {
            path: path.to_owned(),
            source,
        });
    }
    if let (Some(path), Some(mut out)) = (json, json_out) {
        serde_json::to_writer(&mut out, &summary)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush())
            .map_err(|source| CliError::WriteFile {
                path: path.to_owned(),
                source,
            })?;
    }
    let _ = std::io::stdout()
        .write_all(crate::iati::import::render_summary(&summary, dry_run).as_bytes());
    if summary.refused > 0 {
        return Err(CliError::ActivitiesRefused(summary.refused));
    }
    Ok(())
}

/// The event store over the configured database, read-only use (no migration).
async fn open_store(config: &Config) -> Result<amanah_infra::SqlEventStore, CliError> {
    let db = amanah_infra::store::database::connect_with(
        config.database_url.expose(),
        &config.connect_settings(),
    )
    .await?;
    Ok(amanah_infra::SqlEventStore::new(db))
}

/// `amanah replay [--check]`: rebuilds the read model from the log, or compares the two. Safe
/// beside running servers: the rebuild holds the log's append lock from its read of the log to
/// its commit, so appends wait for it rather than being lost ([`amanah_infra::read_model::rebuild`]).
async fn replay(config: &Config, check: bool) -> Result<(), CliError> {
    use amanah_infra::read_model;

    let db = amanah_infra::store::database::connect_with(
        config.database_url.expose(),
        &config.connect_settings(),
    )
    .await?;
    amanah_infra::store::database::migrate(&db).await?;
    let store = amanah_infra::SqlEventStore::new(db);
    if check {
        let differences = read_model::check(&store).await.map_err(CliError::Replay)?;
        if differences.is_empty() {
            let size = store.size().await.map_err(CliError::Replay)?;
            println!("the read model equals the fold of the audit log ({size} events)");
            return Ok(());
        }
        for difference in &differences {
            println!("{difference}");
        }
        return Err(CliError::ReplayCheckFailed(differences.len()));
    }
    let rebuilt = read_model::rebuild(&store)
        .await
        .map_err(CliError::Replay)?;
    println!(
        "rebuilt the read model of {} aggregates from {} events",
        rebuilt.aggregates, rebuilt.events
    );
    Ok(())
}

/// `amanah serve`: data dir, database, migrations, then the server until SIGINT or SIGTERM.
async fn serve(config: Config, demo: bool) -> Result<(), CliError> {
    // First, so that a taken address stops `serve` before it creates or migrates anything.
    let listener = Listener::bind(&config)?;
    prepare_data_dir(&config.data_dir)?;
    let db = amanah_infra::store::database::connect_with(
        config.database_url.expose(),
        &config.connect_settings(),
    )
    .await?;
    amanah_infra::store::database::migrate(&db).await?;
    let welcome = Welcome::new(&config, listener.address());
    let application = Application::build_on(listener, config, db).await?;
    if demo {
        let commands = &application.state().commands;
        let size = commands.store().size().await.map_err(CliError::Replay)?;
        if size == 0 {
            let summary = crate::demo::load(commands).await?;
            tracing::info!(
                organisations = summary.organisations,
                projects = summary.projects,
                activities = summary.activities,
                events = summary.events,
                "loaded the demo dataset"
            );
        } else {
            tracing::info!(
                events = size,
                "the audit log is not empty: the demo dataset is not loaded"
            );
        }
    }
    welcome.print();
    application
        .run_until_stopped(shutdown_signal())
        .await
        .map_err(CliError::Server)
}

/// What a person starting `serve` needs first: where GraphiQL is, where the data lives, and how
/// to get a token.
struct Welcome {
    base: String,
    data_dir: PathBuf,
    sqlite: bool,
    pretty: bool,
}

impl Welcome {
    fn new(config: &Config, address: std::net::SocketAddr) -> Self {
        // An unspecified address (all interfaces) is reached on this machine at localhost.
        let host = if address.ip().is_unspecified() {
            "127.0.0.1".to_owned()
        } else {
            match address.ip() {
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
                std::net::IpAddr::V4(ip) => ip.to_string(),
            }
        };
        Self {
            base: format!("http://{host}:{}", address.port()),
            data_dir: config.data_dir.clone(),
            sqlite: config.database_url.is_sqlite(),
            pretty: config.log_format == crate::config::LogFormat::Pretty,
        }
    }

    /// A log line with the addresses; for a person at a terminal (`pretty` logs), the same as a
    /// few lines on stderr. JSON logs get only the log line, so collectors see no stray text.
    fn print(&self) {
        let graphiql = format!("{}/graphiql", self.base);
        tracing::info!(
            graphiql = %graphiql,
            data_dir = %self.data_dir.display(),
            "ready"
        );
        if self.pretty {
            let database = if self.sqlite {
                "the SQLite database, "
            } else {
                ""
            };
            eprintln!(
                "\nAmanah is running.\n\
                 \x20 GraphiQL     {graphiql}\n\
                 \x20 GraphQL      {base}/graphql (HTTP and WebSocket)\n\
                 \x20 data         {data} ({database}the signing key, the token secret)\n\
                 \x20 a token      amanah token --sub you@example.org --role editor\n\
                 \x20 stop         Ctrl-C\n",
                base = self.base,
                data = self.data_dir.display(),
            );
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM (what orchestrators send).
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("received SIGINT"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn config_is_a_global_flag() {
        let cli = Cli::try_parse_from(["amanah", "serve", "--config", "x.toml"]).unwrap();
        assert_eq!(cli.config, Some(PathBuf::from("x.toml")));
        assert!(matches!(cli.command, Command::Serve { demo: false }));
        let cli = Cli::try_parse_from(["amanah", "--config", "y.toml", "config"]).unwrap();
        assert_eq!(cli.config, Some(PathBuf::from("y.toml")));
    }

    #[test]
    fn token_takes_repeated_roles_an_org_and_a_ttl_defaulting_to_an_hour() {
        let cli = Cli::try_parse_from([
            "amanah",
            "token",
            "--sub",
            "partner",
            "--role",
            "integrator",
            "--role",
            "viewer",
            "--org",
            "0190a5a8-2c4e-7d3b-9a1f-3c2b1a0f9e8d",
        ])
        .unwrap();
        let Command::Token(args) = cli.command else {
            panic!("not the token command");
        };
        assert_eq!(
            args.roles,
            [
                amanah_infra::auth::Role::Integrator,
                amanah_infra::auth::Role::Viewer
            ]
        );
        assert_eq!(args.ttl, std::time::Duration::from_secs(3600));
        assert!(args.org.is_some());
        for bad in [
            &["amanah", "token", "--sub", "s"][..],
            &["amanah", "token", "--sub", "s", "--role", "root"],
            &[
                "amanah", "token", "--sub", "s", "--role", "viewer", "--ttl", "1y",
            ],
            &[
                "amanah", "token", "--sub", "s", "--role", "viewer", "--org", "acme",
            ],
        ] {
            let error = Cli::try_parse_from(bad).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_minted_token_verifies_with_the_servers_verifier() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::defaults_in(&dir.path().join("data"));
        let org = uuid::Uuid::now_v7();
        let args = TokenArgs {
            sub: "partner".to_owned(),
            roles: vec![amanah_infra::auth::Role::Integrator],
            org: Some(org),
            ttl: std::time::Duration::from_secs(120),
        };
        let token = mint_token(&config, &args).unwrap();
        // The data directory and its secret now exist; the server reads the same secret.
        assert!(crate::auth::dev_secret_path(&config.data_dir).exists());
        let verifier = crate::auth::build_verifier(&config).await.unwrap();
        let identity = verifier.verify(&token).await.unwrap();
        assert_eq!(identity.sub, "partner");
        assert_eq!(identity.roles, [amanah_infra::auth::Role::Integrator]);
        assert_eq!(identity.org, Some(org));
        let lifetime = identity.expires_at - chrono::Utc::now();
        assert!(lifetime <= chrono::Duration::seconds(120), "{lifetime}");
        assert!(lifetime > chrono::Duration::seconds(60), "{lifetime}");
    }

    #[cfg(unix)]
    #[test]
    fn the_data_dir_is_created_0700_and_an_exposed_one_is_kept_with_a_warning() {
        use std::os::unix::fs::PermissionsExt as _;
        use std::sync::{Arc, Mutex};

        #[derive(Clone, Default)]
        struct Captured(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Captured {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mode =
            |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;

        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("new/amanah-data");
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            prepare_data_dir(&data_dir).unwrap();
            assert_eq!(mode(&data_dir), 0o700);
            assert!(captured.0.lock().unwrap().is_empty(), "no warning for 0700");

            std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            prepare_data_dir(&data_dir).unwrap();
        });
        assert_eq!(
            mode(&data_dir),
            0o755,
            "an existing directory is not changed"
        );
        let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("WARN"), "{logged}");
        assert!(logged.contains("755"), "{logged}");
        assert!(logged.contains("chmod 700"), "{logged}");
    }

    #[test]
    fn unknown_commands_are_usage_errors() {
        let error = Cli::try_parse_from(["amanah", "serv"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
    }
}
