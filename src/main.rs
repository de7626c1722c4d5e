use clap::Parser;
use cutover::cli::Cli;
use cutover::commands::{self, EXIT_USAGE};
use cutover::config::ConfigError;
use std::io::Write;
use std::process::ExitCode;

/// `cutover status | head`: a reader that goes away is not a crash. Rust ignores SIGPIPE,
/// so printing to a closed pipe (stdout or stderr) panics; that one panic ends the process
/// quietly (141, as the signal would), every other goes to the default hook.
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        let printing =
            msg.contains("failed printing to stdout") || msg.contains("failed printing to stderr");
        if printing && msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        // A full disk or a closed stdout: said once, exit 1, no panic report.
        if printing {
            let _ = writeln!(
                std::io::stderr(),
                "cutover: output could not be written: {msg}"
            );
            std::process::exit(1);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_broken_pipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // `--help`, `--version`: our own text, as clap prints it.
        Err(e) if !e.use_stderr() => e.exit(),
        // A usage error quotes the argument given: escaped, so one holding an escape
        // sequence cannot set the terminal's title or clear its screen.
        Err(e) => {
            let text = e.render().to_string();
            let _ = write!(std::io::stderr(), "{}", cutover::shared::printable(&text));
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(EXIT_USAGE));
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "cutover: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(commands::run(cli));
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(code) => code,
        Err(e) => {
            // Not `eprintln!`: a closed stderr must not turn a usage error into a panic.
            let text = format!("cutover: {e:#}");
            let _ = writeln!(std::io::stderr(), "{}", cutover::shared::printable(&text));
            if e.downcast_ref::<ConfigError>().is_some() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
