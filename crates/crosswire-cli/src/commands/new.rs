//! `crosswire new <dir>`: a new app that builds, runs and passes its tests
//! as created.
//!
//! Crosswire is not on crates.io yet, so by default the app depends on the
//! Crosswire checkout this command was built from, by absolute path; a flag
//! points it at another checkout or at a published version.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::scaffold::{APP, Values, render};

/// Create a new app.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The folder to create; it must not exist yet, or be empty.
    dir: PathBuf,
    /// The package name [default: the folder's name].
    #[arg(long)]
    name: Option<String>,
    /// Depend on the Crosswire checkout at PATH (its root, or its
    /// crates/crosswire folder) [default: the checkout this command was built
    /// from].
    #[arg(long, value_name = "PATH", conflicts_with = "crosswire_version")]
    crosswire_path: Option<PathBuf>,
    /// Depend on this published version of Crosswire instead, such as 0.1.
    #[arg(long, value_name = "VERSION")]
    crosswire_version: Option<String>,
}

pub(crate) fn run(args: Args, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    check_target(&args.dir)?;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => args
            .dir
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
            .with_context(|| {
                format!(
                    "{}: cannot name a package after this path; pass --name",
                    args.dir.display()
                )
            })?,
    };
    check_name(&name)?;
    let (crosswire, crosswire_build) = dependencies(&args)?;
    let values = Values {
        name: name.clone(),
        crosswire,
        crosswire_build,
    };
    for template in APP {
        let path = args.dir.join(template.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("{}: cannot create the folder", parent.display()))?;
        }
        std::fs::write(&path, render(template.text, &values))
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    let dir = args.dir.display();
    writeln!(out, "Created the Crosswire app `{name}` in {dir}\n")?;
    writeln!(out, "  cd {dir}")?;
    writeln!(
        out,
        "  crosswire dev       # then open http://127.0.0.1:3000: saving reloads it"
    )?;
    writeln!(out, "  crosswire start     # release mode")?;
    writeln!(
        out,
        "  crosswire routes    # the routes of src/server/routes"
    )?;
    writeln!(out, "  cargo test")?;
    Ok(ExitCode::SUCCESS)
}

/// The folder must be new, or empty.
fn check_target(dir: &Path) -> anyhow::Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                bail!(
                    "{}: already exists and is not empty; pick a new folder",
                    dir.display()
                );
            }
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if dir.is_file() => bail!("{}: is a file; pick a new folder", dir.display()),
        Err(error) => Err(error).with_context(|| format!("{}: cannot read", dir.display())),
    }
}

/// Cargo's rules for a package name, plus names that would clash with the
/// app's own dependencies.
fn check_name(name: &str) -> anyhow::Result<()> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        bail!(
            "`{name}` is not a valid package name: use letters, digits, `-` and `_`, starting with a letter; pass --name"
        );
    }
    const TAKEN: &[&str] = &[
        "crosswire",
        "crosswire-build",
        "crosswire_build",
        "axum",
        "tokio",
        "test",
        "build",
    ];
    if TAKEN.contains(&name) {
        bail!("`{name}` would clash with a crate the app uses; pass --name with another name");
    }
    Ok(())
}

/// The dependency specifications of `crosswire` (with its `logging`
/// feature, which the app's `main` sets up its logs with) and
/// `crosswire-build`.
fn dependencies(args: &Args) -> anyhow::Result<(String, String)> {
    if let Some(version) = &args.crosswire_version {
        let valid = !version.is_empty()
            && version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-+^~=<>*, ".contains(c));
        if !valid {
            bail!(
                "--crosswire-version `{version}` is not a version requirement such as 0.1 or =0.1.2"
            );
        }
        return Ok((
            format!("{{ version = \"{version}\", features = [\"logging\"] }}"),
            format!("\"{version}\""),
        ));
    }
    let crates = match &args.crosswire_path {
        Some(path) => crates_dir(path)?,
        None => built_from()?,
    };
    let path = |krate: &str| toml_string(&crates.join(krate));
    Ok((
        format!(
            "{{ path = {}, features = [\"logging\"] }}",
            path("crosswire")
        ),
        format!("{{ path = {} }}", path("crosswire-build")),
    ))
}

/// The `crates` folder of the checkout at `path` (its root, or its
/// `crates/crosswire` folder).
fn crates_dir(path: &Path) -> anyhow::Result<PathBuf> {
    let path = path
        .canonicalize()
        .with_context(|| format!("--crosswire-path {}: no such folder", path.display()))?;
    if path.join("crates/crosswire/Cargo.toml").is_file() {
        return Ok(path.join("crates"));
    }
    if let Some(crates) = path.parent()
        && path.ends_with("crosswire")
        && crates.join("crosswire-build/Cargo.toml").is_file()
    {
        return Ok(crates.to_owned());
    }
    bail!(
        "--crosswire-path {}: not a Crosswire checkout (expected crates/crosswire/Cargo.toml in it)",
        path.display()
    )
}

/// The `crates` folder of the checkout this command was built from.
fn built_from() -> anyhow::Result<PathBuf> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    match crates.canonicalize() {
        Ok(crates) if crates.join("crosswire/Cargo.toml").is_file() => Ok(crates),
        _ => bail!(
            "the Crosswire checkout this command was built from is gone ({}); pass --crosswire-path <checkout> or --crosswire-version <version>",
            crates.display()
        ),
    }
}

/// A TOML string for a path: a literal string unless the path has a quote.
fn toml_string(path: &Path) -> String {
    let text = path.to_string_lossy();
    if text.contains('\'') {
        format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        format!("'{text}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_follow_cargo() {
        assert!(check_name("my-app").is_ok());
        assert!(check_name("chat_2").is_ok());
        let error = check_name("2fast").unwrap_err().to_string();
        assert!(
            error.contains("`2fast` is not a valid package name"),
            "{error}"
        );
        assert!(check_name("my app").is_err());
        assert!(check_name("crosswire").is_err());
    }

    #[test]
    fn paths_become_toml_strings() {
        assert_eq!(toml_string(Path::new("/a/b")), "'/a/b'");
        assert_eq!(toml_string(Path::new("/it's")), "\"/it's\"");
    }
}
