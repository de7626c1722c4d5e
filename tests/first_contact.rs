//! First contact: the completion scripts and the man page as a shell and `man` read them,
//! and `cutover wait` as a pipeline runs it against a real `cutover sim serve`.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

mod common;

use clap::CommandFactory;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("cutover runs")
}

/// What bash's completion offers for `words` (the cursor on the last word).
fn complete(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let prev = if cword > 0 { words[cword - 1] } else { "" };
    let line = words.join(" ");
    let prog = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT={}; _cutover cutover '{}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        line.len(),
        words[cword],
    );
    let o = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &prog])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completion_parses_and_completes_commands_flags_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["completions", "bash"]);
    assert!(o.status.success());
    let script = dir.path().join("cutover.bash");
    std::fs::write(&script, &o.stdout).unwrap();
    let n = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        n.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&n.stderr)
    );

    assert_eq!(complete(&script, &["cutover", "wa"]), ["wait"]);
    let all = complete(&script, &["cutover", ""]);
    for sub in ["status", "rollback", "wait", "completions", "man", "demo"] {
        assert!(all.contains(&sub.to_string()), "{sub} not offered: {all:?}");
    }
    assert_eq!(complete(&script, &["cutover", "wait", "--f"]), ["--for"]);
    assert_eq!(
        complete(&script, &["cutover", "wait", "--for", "win"]),
        ["window-done"]
    );
    assert_eq!(
        complete(&script, &["cutover", "demo", "--scenario", "sl"]),
        ["slow-start"]
    );
    assert_eq!(
        complete(&script, &["cutover", "completions", "fi"]),
        ["fish"]
    );
    assert_eq!(
        complete(&script, &["cutover", "rollback", "--to", "g"]),
        ["green"]
    );
}

#[test]
fn every_shell_gets_a_script_naming_every_command() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = run(&["completions", shell]);
        assert!(o.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&o.stdout);
        for sub in cutover::cli::Cli::command().get_subcommands() {
            assert!(
                text.contains(sub.get_name()),
                "{shell}: {} missing",
                sub.get_name()
            );
        }
    }
    let o = run(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("tcsh") && err.contains("bash"), "{err}");
}

#[test]
fn the_man_page_renders_with_every_command_and_flag() {
    if !require("man") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["man"]);
    assert!(o.status.success());
    let page = dir.path().join("cutover.1");
    std::fs::write(&page, &o.stdout).unwrap();
    let r = Command::new("man")
        .arg("-l")
        .arg(&page)
        .env("MANWIDTH", "200")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let warnings = String::from_utf8_lossy(&r.stderr);
    assert!(warnings.trim().is_empty(), "roff warnings: {warnings}");
    // man marks up with overstrikes when not at a terminal: read the letters.
    let text: String = {
        let raw = String::from_utf8_lossy(&r.stdout).to_string();
        let mut out = String::new();
        for c in raw.chars() {
            if c == '\u{8}' {
                out.pop();
            } else {
                out.push(c);
            }
        }
        out.replace(['\u{2010}', '\u{2212}'], "-")
    };
    for section in [
        "NAME",
        "SYNOPSIS",
        "COMMANDS",
        "EXIT STATUS",
        "FILES",
        "ENVIRONMENT",
    ] {
        assert!(text.contains(section), "{section} missing");
    }
    fn walk(cmd: &clap::Command, path: &str, text: &str) {
        for sub in cmd.get_subcommands() {
            let full = format!("{path} {}", sub.get_name());
            assert!(text.contains(&full), "{full} missing from the page");
            for a in sub.get_arguments() {
                if let Some(l) = a.get_long() {
                    assert!(text.contains(&format!("--{l}")), "{full} --{l} missing");
                }
            }
            walk(sub, &full, text);
        }
    }
    walk(&cutover::cli::Cli::command(), "cutover", &text);
    assert!(
        text.contains("--read-only"),
        "the global flags are said once"
    );
}

/// `cutover wait` as a child, its lines sent over a channel as they come.
struct Waiting {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Waiting {
    fn start(cfg: &std::path::Path, args: &[&str]) -> Waiting {
        let mut child = Command::new(bin())
            .arg("--config")
            .arg(cfg)
            .arg("wait")
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Waiting { child, lines }
    }

    /// The next line, within `secs`.
    fn line(&self, secs: u64, what: &str) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(secs))
            .unwrap_or_else(|_| panic!("no line within {secs} s: {what}"))
    }

    /// Lines until one holds `needle`.
    fn until(&self, secs: u64, needle: &str) -> Vec<String> {
        let end = std::time::Instant::now() + Duration::from_secs(secs);
        let mut seen = Vec::new();
        loop {
            let left = end.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let hit = l.contains(needle);
                    seen.push(l);
                    if hit {
                        return seen;
                    }
                }
                Err(e) => panic!("{needle:?} not seen within {secs} s ({e}): {seen:#?}"),
            }
        }
    }

    fn exit(mut self, secs: u64) -> Option<i32> {
        let end = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            assert!(
                std::time::Instant::now() < end,
                "wait did not exit in {secs} s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn wait_follows_a_cutover_to_promotion_and_the_window_to_its_end() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(
        dir.path(),
        "poll-interval = \"200ms\"\nrollback-window = \"2s\"",
    );
    let promoted = Waiting::start(&cfg, &["--for", "promoted", "--timeout", "60s"]);
    let first = promoted.line(20, "the first look");
    assert!(first.contains("blue live, green at 0 %"), "{first}");
    let half = Waiting::start(&cfg, &["--for", "share=50", "--json", "--timeout", "60s"]);
    let v: serde_json::Value = serde_json::from_str(&half.line(20, "first json")).unwrap();
    assert_eq!(v["share"], 0);
    assert_eq!(v["holds"], false);
    assert_eq!(v["condition"], "share=50");

    let o = cutover(&cfg, &["step"]);
    assert!(o.status.success(), "{}", stderr(&o));
    promoted.until(20, "green at 10 %");
    let o = cutover(&cfg, &["step", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let seen = half.until(20, "\"result\":\"holds\"");
    let at50: serde_json::Value = serde_json::from_str(&seen[seen.len() - 2]).unwrap();
    assert_eq!(at50["share"], 50, "{seen:#?}");
    assert_eq!(at50["holds"], true);
    assert_eq!(half.exit(10), Some(0));

    // The window: waited for from a fresh process that sees the promotion, then its end.
    let done = Waiting::start(&cfg, &["--for", "window-done", "--timeout", "60s"]);
    let o = cutover(&cfg, &["step", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = promoted.until(20, "promoted: holds");
    assert!(
        lines.iter().any(|l| l.contains("green at 100 %")),
        "{lines:#?}"
    );
    assert_eq!(promoted.exit(10), Some(0));
    let lines = done.until(30, "window-done: holds");
    assert!(
        lines.iter().any(|l| l.contains("window ends")),
        "the window was seen running first: {lines:#?}"
    );
    assert_eq!(done.exit(10), Some(0));

    // That cutover is over now (its window ran out, green is live): a new wait is for the
    // next one, not satisfied by the last.
    let next = Waiting::start(&cfg, &["--for", "promoted", "--timeout", "2s"]);
    let lines = next.until(20, "timed out");
    assert!(lines[0].contains("green live, blue at 0 %"), "{lines:#?}");
    assert_eq!(next.exit(10), Some(1));

    // Cancelled (a CI job stopped): said on the last line, exit 130.
    let cancelled = Waiting::start(&cfg, &["--for", "share=50", "--json", "--timeout", "60s"]);
    cancelled.line(20, "the first look");
    let killed = Command::new("kill")
        .args(["-TERM", &cancelled.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let last: serde_json::Value =
        serde_json::from_str(&cancelled.line(10, "the last line")).unwrap();
    assert_eq!(last["result"], "interrupted", "{last}");
    assert_eq!(cancelled.exit(10), Some(130));
}

#[test]
fn wait_exits_3_on_a_rollback_1_on_timeout_and_never_counts_an_unread_backend() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(dir.path(), "poll-interval = \"200ms\"");
    let o = cutover(&cfg, &["step"]);
    assert!(o.status.success(), "{}", stderr(&o));

    let w = Waiting::start(&cfg, &["--for", "promoted", "--timeout", "60s"]);
    w.until(20, "green at 10 %");
    let rolled = Waiting::start(&cfg, &["--for", "rolled-back", "--timeout", "60s"]);
    rolled.until(20, "green at 10 %");
    let o = cutover(&cfg, &["rollback"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = w.until(20, "rolled back by");
    assert!(
        lines.last().unwrap().contains("while waiting for promoted"),
        "{lines:#?}"
    );
    assert_eq!(w.exit(10), Some(3));
    rolled.until(20, "rolled-back: holds");
    assert_eq!(rolled.exit(10), Some(0));

    // A rollback older than the wait: the next cutover is awaited; here none comes.
    let t = Waiting::start(&cfg, &["--for", "promoted", "--timeout", "2s"]);
    let lines = t.until(20, "timed out after 2s waiting for promoted");
    assert!(
        lines.last().unwrap().contains("green at 0 %"),
        "it says where it stands: {lines:#?}"
    );
    assert_eq!(t.exit(10), Some(1));

    // A backend that does not answer: said, never read as a share.
    let dead = dir.path().join("dead.toml");
    std::fs::write(
        &dead,
        format!(
            "name = \"x\"\njournal = \"{}\"\npoll-interval = \"200ms\"\npoll-timeout = \"200ms\"\n[backend]\nkind = \"sim\"\ncontrol = \"127.0.0.1:{}\"\n",
            dir.path().join("j.jsonl").display(),
            closed_port()
        ),
    )
    .unwrap();
    let u = Waiting::start(&dead, &["--for", "share=0", "--timeout", "2s"]);
    let lines = u.until(20, "timed out");
    assert!(lines[0].contains("backend UNREADABLE"), "{lines:#?}");
    assert!(!lines.iter().any(|l| l.contains("holds")), "{lines:#?}");
    assert_eq!(u.exit(10), Some(1));

    // Bad usage: exit 2 with what was expected.
    let o = cutover(&cfg, &["wait", "--for", "share=120"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("0-100"), "{}", stderr(&o));
    let o = cutover(&cfg, &["wait", "--for", "done"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("window-done"), "{}", stderr(&o));
}

#[test]
fn the_recorded_demo_is_made_from_the_real_screen() {
    if !(require("tmux") && require("asciinema") && require("svg-term")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/demo/record.sh"))
        .env("CUTOVER_BIN", bin())
        .env("RECORD_OUT", dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "record.sh: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let cast = std::fs::read_to_string(dir.path().join("cutover.cast")).unwrap();
    let mut frames = cast.lines();
    let header: serde_json::Value = serde_json::from_str(frames.next().unwrap()).unwrap();
    assert_eq!(
        (header["width"].as_u64(), header["height"].as_u64()),
        (Some(100), Some(30))
    );
    let printed: String = frames
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v[2].as_str().map(str::to_string))
        .collect();
    // The story as the cockpit told it: both steps verified, the breach, the rollback.
    for said in [
        "verified (blue 90 / green 10)",
        "verified (blue 50 / green 50)",
        "BREACH",
        "ROLLBACK",
        "(blue 100 / green 0)",
    ] {
        assert!(printed.contains(said), "{said:?} never on screen");
    }
    assert!(
        !printed.contains(&*dir.path().to_string_lossy()),
        "no path of this machine"
    );
    let svg = std::fs::read_to_string(dir.path().join("cutover.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("ROLLBACK"),
        "an SVG of that screen"
    );
}
