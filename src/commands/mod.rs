//! What each command does: `run` turns the parsed command line into one command. The
//! cockpit and the CLI share the engine, the journal and the verification of every write.
//!
//! One file per command family:
//!
//! - `cockpit.rs`: the cockpit (`cutover`) and `cutover demo`;
//! - `status.rs`, `status_text.rs` and `status_json.rs`: `cutover status [--json]`, from one
//!   `snapshot.rs` read;
//! - `write.rs`: `set`, `step`, `back`; `rollback.rs`: `rollback`; `report.rs`: how a CLI
//!   write ends (terminal line, exit code, webhooks);
//! - `approve.rs`: `cutover approve` and `decline` (a second person, `[approval]`);
//! - `check.rs`: `cutover check`; `journal.rs`: `cutover journal`; `sim.rs`: `sim serve`;
//! - `wait.rs`: `cutover wait` (a pipeline's watch); `docs.rs`: `completions` and `man`;
//! - `init.rs`: `cutover init` (a commented config, discovered or a template, then checked);
//! - `wiring.rs`: the one place the config becomes a backend, signal sources, a journal, a
//!   theme and a `Cutover`.
//!
//! ARCHITECTURE.md says how these sit on the layers below.

/// A line to stdout that cannot stop the command: a full disk or a reader gone must never
/// cost a rollback its write (`println!` would panic there).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let line = format!($($t)*);
        let _ = writeln!(std::io::stdout(), "{}", $crate::shared::printable(&line));
    }};
}

/// The same for stderr.
macro_rules! err {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let line = format!($($t)*);
        let _ = writeln!(std::io::stderr(), "{}", $crate::shared::printable(&line));
    }};
}

use crate::cli::{Cli, Command};
use std::process::ExitCode;

mod approve;
mod check;
mod cockpit;
mod docs;
mod init;
mod journal;
mod report;
mod rollback;
mod sim;
mod snapshot;
mod status;
mod status_json;
mod status_text;
mod wait;
mod wiring;
mod write;

use approve::answer_cmd;
use check::check;
use cockpit::{cockpit, demo};
use journal::timeline;
use sim::sim;
use status::status;
use write::{WriteCmd, write_cmd};

/// Exit code for bad usage or config.
pub const EXIT_USAGE: u8 = 2;

/// Success or failure, as the process exits.
fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Demo {
            ref scenario,
            seed,
            rollback_window,
            write_delay,
        }) => demo(&cli, scenario, seed, rollback_window, write_delay).await,
        Some(Command::Sim { ref command }) => sim(command).await,
        None => cockpit(&cli).await,
        Some(Command::Status { json }) => status(&cli, json).await,
        Some(Command::Set { share, yes }) => write_cmd(&cli, WriteCmd::Set(share), yes).await,
        Some(Command::Step { yes }) => write_cmd(&cli, WriteCmd::Step, yes).await,
        Some(Command::Back) => write_cmd(&cli, WriteCmd::Back, false).await,
        Some(Command::Rollback { to }) => write_cmd(&cli, WriteCmd::Rollback(to), false).await,
        Some(Command::Check) => check(&cli).await,
        Some(Command::Approve { yes }) => answer_cmd(&cli, None, yes).await,
        Some(Command::Decline { ref reason }) => {
            answer_cmd(&cli, Some(reason.as_str()), false).await
        }
        Some(Command::Journal { ref since, format }) => timeline(&cli, since.as_deref(), format),
        Some(Command::Wait {
            until,
            timeout,
            json,
        }) => wait::wait_cmd(&cli, until, timeout, json).await,
        Some(Command::Init(ref args)) => init::init(&cli, args).await,
        Some(Command::Completions { shell }) => docs::completions(shell),
        Some(Command::Man) => docs::man(),
    }
}
