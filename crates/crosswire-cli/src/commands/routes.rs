//! `crosswire routes`: the route table, read straight from the files.
//!
//! It runs the same discovery as the app's build script, so what it prints is
//! what the next build registers, without building anything. The WebSocket
//! switch is read the way the app reads it at startup (`crosswire.toml` in
//! the app's folder, then `CROSSWIRE_*`), so routes whose upgrades would get
//! 501 are marked.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use crosswire::Config;
use crosswire_build::{Env, Kind, Method, Route, scan};

use crate::app::AppDir;

/// Print the route table of src/server/routes.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The app's folder, or any folder inside it.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
}

pub(crate) fn run(args: Args, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let app = AppDir::find(&args.dir)?;
    // The app reads `crosswire.toml` relative to its working directory, which
    // `crosswire start` sets to the app's folder; relative paths also make
    // errors name files as the build does (`src/server/routes/...`).
    std::env::set_current_dir(app.root())
        .with_context(|| format!("{}: cannot enter the app's folder", app.root().display()))?;
    let shown = PathBuf::from(crosswire_build::DEFAULT_DIR);
    // The error already says everything; no cause chain to add.
    let table = scan(&shown).map_err(|error| anyhow!("{error}"))?;
    let websocket_enabled = Config::load()
        .map_err(|error| anyhow!("{}", one_line(&error.to_string())))?
        .websocket
        .enabled;
    if table.routes().is_empty() {
        writeln!(out, "no routes: {} has no route files", shown.display())?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![[
        "METHOD".to_owned(),
        "PATH".to_owned(),
        "KIND".to_owned(),
        "FILE".to_owned(),
    ]];
    let mut routes: Vec<&Route> = table.routes().iter().collect();
    routes.sort_by_key(|r| (r.pattern.axum(), method_order(r.method), r.file.clone()));
    for route in routes {
        rows.push([
            route.method.map_or("ANY", Method::as_str).to_owned(),
            route.pattern.axum(),
            with_env(kind(route.kind(), websocket_enabled), route.env),
            slashed(&shown.join(&route.file)),
        ]);
    }
    write_table(out, &rows)?;
    if !websocket_enabled && table.routes().iter().any(|r| r.exports.websocket) {
        writeln!(
            out,
            "\nWebSocket upgrades get 501: `[websocket] enabled = false` in crosswire.toml (or CROSSWIRE_WEBSOCKET_ENABLED)"
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn kind(kind: Kind, websocket_enabled: bool) -> String {
    match (kind, websocket_enabled) {
        (Kind::WebSocket, false) => "websocket (disabled)".to_owned(),
        (Kind::Both, false) => "both (websocket disabled)".to_owned(),
        (kind, _) => kind.to_string(),
    }
}

/// Marks routes limited to one environment; `.prerender` files are listed
/// but never registered.
fn with_env(kind: String, env: Option<Env>) -> String {
    match env {
        None => kind,
        Some(Env::Dev) => format!("{kind}, dev only"),
        Some(Env::Prod) => format!("{kind}, prod only"),
        Some(Env::Prerender) => format!("{kind}, never (prerender)"),
    }
}

/// Sorts GET before POST and so on, with method-less files last on a path.
fn method_order(method: Option<Method>) -> usize {
    method.map_or(Method::ALL.len(), |m| {
        Method::ALL.iter().position(|x| *x == m).unwrap_or(0)
    })
}

/// TOML errors come with a source snippet over several lines; keep the lines
/// that say where and what.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.contains('|'))
        .collect::<Vec<_>>()
        .join(": ")
}

fn slashed(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

fn write_table(out: &mut impl Write, rows: &[[String; 4]]) -> std::io::Result<()> {
    let mut widths = [0; 4];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in rows {
        let line = format!(
            "{:w0$}  {:w1$}  {:w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_snippets_collapse_to_one_line() {
        let message = "crosswire.toml: TOML parse error at line 2, column 1\n  |\n2 | max_mesage_size = 1\n  | ^^^^^^^^^^^^^^^\nunknown field `max_mesage_size`, expected one of `enabled`\n";
        assert_eq!(
            one_line(message),
            "crosswire.toml: TOML parse error at line 2, column 1: unknown field `max_mesage_size`, expected one of `enabled`"
        );
    }
}
