//! The build script of every package with PostgreSQL tests (`build = "../build/postgres_tests.rs"`).
//!
//! The PostgreSQL tests run when `AMANAH_TEST_POSTGRES_URL` or `CI` is set as they are built (the
//! cfg `amanah_postgres_tests`), and then a missing server fails them. Otherwise they are
//! compiled `#[ignore]`d with the reason, so that `cargo test` reports them as ignored: a test
//! that cannot run here never looks like a pass.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(amanah_postgres_tests)");
    println!("cargo::rerun-if-env-changed=AMANAH_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-env-changed=CI");
    let wanted = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    if wanted("AMANAH_TEST_POSTGRES_URL") || wanted("CI") {
        println!("cargo::rustc-cfg=amanah_postgres_tests");
    }
}
