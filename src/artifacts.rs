//! Generated files committed to the repository (`openapi.yaml`,
//! `generated/`, `schema/`): written by the project's own commands and
//! checked for staleness in CI.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// A generated file: where it lives in the repository and what it must hold.
pub struct Artifact {
    pub path: &'static str,
    pub contents: String,
}

pub fn write_all(repo_root: &Path, artifacts: &[Artifact]) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for artifact in artifacts {
        let path = repo_root.join(artifact.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &artifact.contents).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// Fails with a unified diff of every committed file that differs from what
/// was generated, naming `regenerate` as the fix.
pub fn check_all(repo_root: &Path, artifacts: &[Artifact], regenerate: &str) -> anyhow::Result<()> {
    let mut report = String::new();
    for artifact in artifacts {
        let committed = std::fs::read_to_string(repo_root.join(artifact.path)).unwrap_or_default();
        if committed != artifact.contents {
            let diff = similar::TextDiff::from_lines(&committed, &artifact.contents);
            let _ = write!(
                report,
                "{}",
                diff.unified_diff()
                    .context_radius(3)
                    .header(&format!("{} (committed)", artifact.path), &format!("{} (generated)", artifact.path))
            );
        }
    }
    if report.is_empty() {
        Ok(())
    } else {
        bail!("committed generated files are stale; run `{regenerate}` and commit the result:\n{report}")
    }
}
