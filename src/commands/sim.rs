//! `cutover sim serve`: the simulator as real HTTP servers, until a signal stops them.

use crate::cli::SimCommand;
use crate::config::ConfigError;
use crate::sim::Scenario;
use crate::sim::server::{self, ServeOptions};
use anyhow::Context;
use std::process::ExitCode;

/// Runs a `cutover sim` command: prints the bound addresses as one JSON line, then serves
/// until the servers end or SIGTERM, SIGINT or SIGHUP arrives.
pub(super) async fn sim(command: &SimCommand) -> anyhow::Result<ExitCode> {
    let SimCommand::Serve {
        scenario,
        seed,
        control,
        blue,
        green,
        write_delay,
        no_load,
        no_sleep,
        load_through,
    } = command;
    let scenario =
        Scenario::load(scenario).map_err(|e| ConfigError::new("--scenario", e.to_string()))?;
    let (bound, _, task) = server::start(ServeOptions {
        scenario,
        seed: *seed,
        control: *control,
        blue: *blue,
        green: *green,
        write_delay: *write_delay,
        load: !no_load,
        sleep: !no_sleep,
        load_through: load_through.clone(),
    })
    .await
    .context("cannot start the simulator's servers")?;
    println!("{}", serde_json::to_string(&bound)?);
    tokio::select! {
        _ = task => {}
        () = shutdown_signal() => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGTERM, SIGINT or SIGHUP; never when the handlers cannot be installed.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
        _ = hup.recv() => {}
    }
}
