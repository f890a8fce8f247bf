//! `amanah`: parse the command line, load the configuration, run the command.

use std::process::ExitCode;

use amanah_api::{cli::Cli, config::Config};
use clap::Parser as _;

/// mimalloc: see `api/Cargo.toml`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to stdout with 0; usage errors to stderr with 2.
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    let working_dir = std::env::current_dir().unwrap_or_default();
    let config = match Config::load(cli.file_choice(&working_dir), std::env::vars_os()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime ({error})");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(amanah_api::cli::run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", amanah_domain::errors::Chain(&error));
            error.exit_code()
        }
    }
}
