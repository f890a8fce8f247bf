//! `amanah-verify DIR [--vkey FILE | --policy FILE] [--previous FILE]`: verifies an Amanah audit
//! export offline, with no database and no network — the same checks as `amanah audit verify`,
//! in a binary whose whole source is this crate and a handful of hashing, signature and JSON
//! crates. With `--policy` the policy's `log` key is trusted and the checkpoint's witness
//! cosignatures must meet its quorum (`docs/witness.md` §4).
//!
//! Exit status: 0 verified with the key given by `--vkey` (or by the policy); 1 verification
//! failed (an unmet quorum too); 2 usage or read error; 3 verified with the export's own
//! `log.vkey` only (internal consistency, not that it is the log the operator signed).

use std::path::PathBuf;
use std::process::ExitCode;

use amanah_audit::files::{
    EXIT_OWN_KEY_ONLY, EXIT_UNUSABLE, EXIT_VERIFIED, OWN_KEY_ONLY, summary, verify_dir,
    verify_dir_with_policy,
};

const USAGE: &str = "usage: amanah-verify DIR [--vkey FILE | --policy FILE] [--previous FILE]

Verifies an export written by `amanah audit export`: every line of events.jsonl is canonical
JSON of a well-formed envelope, in order, and the lines add up to the signed checkpoint.

  --vkey FILE      the verifier key to trust, obtained out of band from the operator; the
                   export's own log.vkey must be the same key
  --policy FILE    a witness policy (C2SP tlog-policy): its log key is the key to trust, and
                   the checkpoint's witness cosignatures must meet its quorum
  --previous FILE  a checkpoint kept from earlier: it must be a prefix of this log

Exit status: 0 verified with --vkey, 1 verification failed, 2 usage or read error,
3 verified with the export's own log.vkey only.";

struct Args {
    dir: PathBuf,
    vkey: Option<PathBuf>,
    policy: Option<PathBuf>,
    previous: Option<PathBuf>,
}

/// What the command line asks for.
enum Parsed {
    Help,
    Verify(Args),
}

fn parse(mut args: impl Iterator<Item = std::ffi::OsString>) -> Result<Parsed, String> {
    let mut dir = None;
    let mut vkey = None;
    let mut policy = None;
    let mut previous = None;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .map(PathBuf::from)
                .ok_or_else(|| format!("{name} needs a FILE"))
        };
        match arg.to_str() {
            Some("--vkey") => vkey = Some(value("--vkey")?),
            Some("--policy") => policy = Some(value("--policy")?),
            Some("--previous") => previous = Some(value("--previous")?),
            Some("-h" | "--help") => return Ok(Parsed::Help),
            Some(flag) if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            _ if dir.is_none() => dir = Some(PathBuf::from(arg)),
            _ => return Err("only one export directory may be given".to_owned()),
        }
    }
    let dir = dir.ok_or_else(|| "the export directory is missing".to_owned())?;
    if vkey.is_some() && policy.is_some() {
        return Err("--vkey and --policy cannot be combined: the policy names the log key".into());
    }
    Ok(Parsed::Verify(Args {
        dir,
        vkey,
        policy,
        previous,
    }))
}

fn main() -> ExitCode {
    let args = match parse(std::env::args_os().skip(1)) {
        Ok(Parsed::Verify(args)) => args,
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("amanah-verify: {problem}\n\n{USAGE}");
            return ExitCode::from(EXIT_UNUSABLE);
        }
    };
    if let Some(policy) = &args.policy {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        return match verify_dir_with_policy(&args.dir, policy, args.previous.as_deref(), None, now)
        {
            Ok((verified, cosigned)) => {
                println!("{}", summary(&verified));
                for (witness, time) in &cosigned.witnesses {
                    println!("cosigned by {witness} at {time} (POSIX seconds)");
                }
                ExitCode::from(EXIT_VERIFIED)
            }
            Err(error) => {
                eprintln!("amanah-verify: {error}");
                ExitCode::from(error.exit_status())
            }
        };
    }
    match verify_dir(&args.dir, args.vkey.as_deref(), args.previous.as_deref()) {
        Ok(verified) => {
            println!("{}", summary(&verified));
            if args.vkey.is_some() {
                ExitCode::from(EXIT_VERIFIED)
            } else {
                eprintln!("amanah-verify: {OWN_KEY_ONLY}");
                ExitCode::from(EXIT_OWN_KEY_ONLY)
            }
        }
        Err(error) => {
            eprintln!("amanah-verify: {error}");
            ExitCode::from(error.exit_status())
        }
    }
}
