//! `cutover completions SHELL` and `cutover man`: both made from the clap definition of the
//! command line, so they never drift from it.

use crate::cli::Cli;
use clap::CommandFactory;
use std::io::Write;
use std::process::ExitCode;

/// The completion script for `shell`, on stdout.
pub(super) fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "cutover", &mut buf);
    std::io::stdout().write_all(&buf)?;
    Ok(ExitCode::SUCCESS)
}

/// The manual page, on stdout.
pub(super) fn man() -> anyhow::Result<ExitCode> {
    std::io::stdout().write_all(&man_page()?)?;
    Ok(ExitCode::SUCCESS)
}

/// The page's DESCRIPTION.
const ABOUT: &str = "A full-screen terminal cockpit for one blue/green release: both environments' health, error rate and p99 side by side, keys to step traffic (10 → 50 → 100 %), pause, and roll everything back at once through the chosen backend (the bundled simulator, HAProxy, nginx, Kubernetes, an AWS ALB, Route53 weighted records, Elastic Beanstalk). Every command below reads the same config and the same cutover record at the backend, so the cockpit, scripts and pipelines agree on who is live.";

/// What the page says beyond the flags: exit codes, files, environment.
const TAIL: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Done: the write was verified, the check passed, the condition holds.
.TP
\fB1\fR
Failed: a write refused or not verified, a backend or feed that did not answer, a wait that timed out.
.TP
\fB2\fR
Bad usage or config: the message names the key, the value and what was expected.
.TP
\fB3\fR
\fBwait\fR only: the cutover was rolled back while waiting for anything else.
.TP
\fB130\fR
\fBwait\fR only: interrupted by Ctrl\-C or SIGTERM (said on its last line).
.SH FILES
.TP
\fI./cutover.toml\fR
The config, unless \fB\-\-config\fR names another. \fBcutover init\fR writes one.
.TP
\fI$XDG_STATE_HOME/cutover/NAME.journal.jsonl\fR
The journal of every decision (\fI~/.local/state/cutover\fR without XDG_STATE_HOME), unless the config's \fBjournal\fR or \fB\-\-journal\fR names another.
.TP
\fIFILE.cutover\-lease\fR, \fIFILE.cutover\-record\fR
The driver lease and the cutover record beside the nginx config; HAProxy's in a file per instance in the temp folder; the other backends keep them at the backend (the simulator's control API, tags, annotations, TXT records).
.SH ENVIRONMENT
.TP
\fBNO_COLOR\fR
No colour, whatever the theme.
.TP
\fBUSER\fR
Who you are, in leases, records and the journal.
.TP
\fBXDG_STATE_HOME\fR
Where journals go.
.TP
\fBAWS_PROFILE\fR, \fBAWS_REGION\fR, \fBAWS_ACCESS_KEY_ID\fR, ...
The AWS backends use the SDK's usual credential chain.
.TP
\fBKUBECONFIG\fR
The Kubernetes backends' kubeconfig, unless the config names one.
.SH "SEE ALSO"
The README: every config key of every backend, the keys of the cockpit, and how to try each backend locally.
"#;

/// One page: the main command, then every subcommand (and theirs) with its synopsis and
/// every flag.
pub fn man_page() -> anyhow::Result<Vec<u8>> {
    let mut cmd = Cli::command()
        .disable_help_subcommand(true)
        .long_about(ABOUT);
    cmd.build();
    let mut out = Vec::new();
    let main = clap_mangen::Man::new(cmd.clone());
    main.render_title(&mut out)?;
    main.render_name_section(&mut out)?;
    main.render_synopsis_section(&mut out)?;
    main.render_description_section(&mut out)?;
    main.render_options_section(&mut out)?;
    // One page, not one per command: each command in full below, under its own heading.
    out.extend_from_slice(b".SH COMMANDS\n");
    for sub in cmd.get_subcommands() {
        command_section(&mut out, sub, &["cutover"])?;
    }
    out.extend_from_slice(keys_section().as_bytes());
    out.extend_from_slice(TAIL.as_bytes());
    Ok(out)
}

/// Text safe in roff: backslashes and dashes escaped, no line taken for a request.
fn roff(text: &str) -> String {
    let t = text.replace('\\', "\\e").replace('-', "\\-");
    if t.starts_with(['.', '\'']) {
        format!("\\&{t}")
    } else {
        t
    }
}

/// The cockpit's keys as the default keymap binds them (what `?` shows), the nine share
/// keys on one line.
fn keys_section() -> String {
    use crate::app::keymap::{Action, Keymap};
    let keymap = Keymap::default();
    let mut s = String::from(
        ".SH \"COCKPIT KEYS\"\nWith no command, \\fBcutover\\fR opens the cockpit on the config. Its keys by default (a config's \\fB[keys]\\fR table rebinds them; \\fB?\\fR shows them as bound):\n",
    );
    let mut jumps_said = false;
    for (action, keys) in keymap.bindings() {
        let (k, what) = if let Action::Jump(_) = action {
            if jumps_said {
                continue;
            }
            jumps_said = true;
            ("1 … 9".to_string(), crate::ui::strings::describe_jumps())
        } else {
            let k: Vec<String> = keys.iter().map(ToString::to_string).collect();
            let what = match action {
                Action::Help => "these keys, as bound".to_string(),
                a => crate::ui::strings::describe(*a),
            };
            (k.join(" "), what)
        };
        s.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", roff(&k), roff(&what)));
    }
    s
}

/// One subcommand's part of the page: its name, what it does, its synopsis and its flags,
/// then its own subcommands.
fn command_section(out: &mut Vec<u8>, cmd: &clap::Command, parents: &[&str]) -> anyhow::Result<()> {
    let mut path: Vec<&str> = parents.to_vec();
    path.push(cmd.get_name());
    let full = path.join(" ");
    // The global flags are said once, at the top of the page.
    let mut sub = cmd.clone().bin_name(full.clone()).mut_args(|a| {
        if a.is_global_set() || a.get_id() == "help" {
            a.hide(true)
        } else {
            a
        }
    });
    sub.build();
    let man = clap_mangen::Man::new(sub.clone());
    out.extend_from_slice(format!(".SS \"{}\"\n", full.replace('"', "")).as_bytes());
    let mut part = Vec::new();
    man.render_description_section(&mut part)?;
    man.render_synopsis_section(&mut part)?;
    if sub.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut part)?;
    }
    // Sections become paragraphs under the command's own heading.
    for line in String::from_utf8_lossy(&part).lines() {
        if line.starts_with(".SH ") {
            out.extend_from_slice(b".PP\n");
        } else {
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
    }
    for child in cmd.get_subcommands() {
        command_section(out, child, &path)?;
    }
    Ok(())
}
