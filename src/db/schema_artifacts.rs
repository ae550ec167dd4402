//! `schema/`: diesel's `print-schema` output and a canonical SQL dump of a
//! freshly migrated database, regenerated together by `incident-tracker
//! schema --write`. Needs the `diesel` CLI on PATH.

use std::path::Path;

use anyhow::{Context, bail};

use super::embedded::{EmbeddedPostgres, OWNER_ROLE};
use crate::artifacts::Artifact;

pub const SCHEMA_RS_PATH: &str = "schema/schema.rs";
pub const SCHEMA_SQL_PATH: &str = "schema/schema.sql";

const DATABASE: &str = "schema_artifacts";

/// Migrates a scratch database in a throwaway cluster and renders both files.
pub async fn render(pg_bin: Option<&Path>) -> anyhow::Result<Vec<Artifact>> {
    let scratch = std::env::temp_dir().join(format!("incident-tracker-schema-{}", std::process::id()));
    let postgres = EmbeddedPostgres::start(&scratch, pg_bin).await?;
    let rendered = render_from(&postgres).await;
    let stopped = postgres.stop().await;
    std::fs::remove_dir_all(&scratch).ok();
    let rendered = rendered?;
    stopped?;
    Ok(rendered)
}

async fn render_from(postgres: &EmbeddedPostgres) -> anyhow::Result<Vec<Artifact>> {
    postgres.migrate_database(DATABASE).await?;
    let url = postgres.owner_url(DATABASE);

    // The URL holds a password: it goes in the environment, not on command
    // lines other users can read.
    let schema_rs = run(std::process::Command::new("diesel").arg("print-schema").env("DATABASE_URL", &url))
        .context("running `diesel print-schema` (install it with `cargo install diesel_cli --no-default-features --features postgres`)")?;
    let dump = run(std::process::Command::new(postgres.bin_dir().join("pg_dump"))
        .args(["--schema-only", "--no-owner", "--no-comments", "--dbname", DATABASE])
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", postgres.port().to_string())
        .env("PGUSER", OWNER_ROLE)
        .env("PGPASSWORD", postgres.owner_password()))?;
    Ok(vec![
        Artifact { path: SCHEMA_RS_PATH, contents: schema_rs },
        Artifact { path: SCHEMA_SQL_PATH, contents: canonical_dump(&dump) },
    ])
}

/// Drops what differs between two dumps of the same schema by different
/// pg_dump versions: the versions themselves, the session settings each
/// version emits, and the random key of `\restrict`.
fn canonical_dump(dump: &str) -> String {
    let mut canonical = String::new();
    for line in dump.lines() {
        let version_specific =
            ["-- Dumped from", "-- Dumped by", "SET ", "SELECT pg_catalog.set_config(", "\\restrict", "\\unrestrict"];
        if version_specific.iter().any(|prefix| line.starts_with(prefix)) {
            continue;
        }
        canonical.push_str(line);
        canonical.push('\n');
    }
    canonical
}

fn run(command: &mut std::process::Command) -> anyhow::Result<String> {
    let output = command.output()?;
    if !output.status.success() {
        bail!("{:?} failed: {}", command.get_program(), String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8(output.stdout)?)
}
