//! Helpers shared by the integration tests: the binary, a `sim serve` child process.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;

pub mod cloudwatch;
pub mod eb;
pub mod moto;
pub mod postgres;
pub mod served;
use std::time::Duration;

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cutover"))
}

/// A `cutover sim serve` on loopback ports picked at run time; killed on drop.
pub struct SimServe {
    pub child: Child,
    pub control: String,
    pub blue: String,
    pub green: String,
}

impl SimServe {
    pub fn start(scenario: &str, extra: &[&str]) -> SimServe {
        let mut child = Command::new(bin())
            .args(["sim", "serve", "--scenario", scenario])
            .args([
                "--control",
                "127.0.0.1:0",
                "--blue",
                "127.0.0.1:0",
                "--green",
                "127.0.0.1:0",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("sim serve starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("sim serve prints its addresses");
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        let s = |k: &str| v[k].as_str().unwrap().to_string();
        SimServe {
            child,
            control: s("control"),
            blue: s("blue"),
            green: s("green"),
        }
    }

    /// A config for this simulator in `dir`, with `extra` TOML prepended.
    pub fn config(&self, dir: &Path, extra: &str) -> PathBuf {
        let path = dir.join("cutover.toml");
        let text = format!(
            "name = \"checkout-api\"\njournal = \"{}\"\n{extra}\n\n[backend]\nkind = \"sim\"\ncontrol = \"{}\"\n",
            dir.join("journal.jsonl").display(),
            self.control
        );
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl SimServe {
    /// The cutover record stored at the simulator, as text.
    pub fn record_text(&self) -> Option<String> {
        let (_, body) = http(&self.control, "GET", "/control/record", "");
        serde_json::from_str(&body).unwrap()
    }

    /// Replaces the stored record behind cutover's back (as a hand or a faulty writer
    /// would): `true` when it was `expect`.
    pub fn swap_record(&self, expect: Option<&str>, value: Option<&str>) -> bool {
        let body = serde_json::json!({ "expect": expect, "value": value }).to_string();
        let (st, body) = http(&self.control, "PUT", "/control/record", &body);
        assert!(st.contains("200"), "{st} {body}");
        serde_json::from_str(&body).unwrap()
    }
}

/// A minimal HTTP request over a TCP socket: the status line and body.
pub fn http(addr: &str, method: &str, path: &str, body: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}

impl Drop for SimServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cutover --config CONFIG ARGS…` and returns its output.
pub fn cutover(config: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--config")
        .arg(config)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("cutover runs")
}

/// The credentials the AWS emulator and the loopback AWS servers take (any will do), and
/// no instance metadata to wait for.
pub const AWS_TEST_ENV: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

/// [`cutover`] with [`AWS_TEST_ENV`].
pub fn cutover_aws(config: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--config")
        .arg(config)
        .args(args)
        .env("NO_COLOR", "1")
        .envs(AWS_TEST_ENV)
        .output()
        .expect("cutover runs")
}

/// [`cutover_aws`]: whether it succeeded, and stdout then stderr.
pub fn run_aws(config: &Path, args: &[&str]) -> (bool, String) {
    let o = cutover_aws(config, args);
    (o.status.success(), format!("{}{}", stdout(&o), stderr(&o)))
}

/// [`cockpit_cmd`] with [`AWS_TEST_ENV`].
pub fn aws_cockpit_cmd(cfg: &Path) -> String {
    let env: Vec<String> = AWS_TEST_ENV
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{} {}", env.join(" "), cockpit_cmd(cfg))
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `status --json` parsed.
pub fn status(config: &Path) -> serde_json::Value {
    let o = cutover(config, &["status", "--json"]);
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)))
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Is `tool` on the PATH? When it is not, the test says SKIPPED and why, unless
/// CUTOVER_PEERS=required, when a missing peer fails the run.
pub fn require(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CUTOVER_PEERS").as_deref() != Ok("required"),
            "{tool} is required (CUTOVER_PEERS=required) but not installed"
        );
        eprintln!("SKIPPED: {tool} is not installed");
    }
    found
}

/// A real Prometheus on a loopback port picked at run time, scraping `targets` every
/// second, with storage in a temp dir; killed on drop.
pub struct Prometheus {
    pub child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    pub fn start(targets: &[&str]) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let cfg = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: sim\n    static_configs:\n      - targets: [{}]\n",
            list.join(", ")
        );
        std::fs::write(dir.path().join("prometheus.yml"), cfg).unwrap();
        let port = closed_port();
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts");
        let url = format!("http://127.0.0.1:{port}");
        let p = Prometheus {
            child,
            url,
            _dir: dir,
        };
        wait_until(60, "prometheus to be ready", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok_and(|mut s| {
                use std::io::{Read, Write};
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = write!(s, "GET /-/ready HTTP/1.0\r\nHost: x\r\n\r\n");
                let mut b = String::new();
                let _ = s.read_to_string(&mut b);
                b.starts_with("HTTP/1.0 200") || b.starts_with("HTTP/1.1 200")
            })
        });
        p
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `pred` every 200 ms until it holds; panics after `secs`.
pub fn wait_until(secs: u64, what: &str, mut pred: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + Duration::from_secs(secs);
    while !pred() {
        assert!(
            std::time::Instant::now() <= end,
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A private tmux server, killed on drop.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn new(name: &str) -> Tmux {
        Tmux {
            socket: format!("cutover-e2e-{name}-{}", std::process::id()),
        }
    }

    pub fn run(&self, args: &[&str]) -> String {
        let o = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn start(&self, w: u16, h: u16, cmd: &str) {
        self.run(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            &w.to_string(),
            "-y",
            &h.to_string(),
            cmd,
        ]);
    }

    pub fn keys(&self, keys: &[&str]) {
        self.keys_to("t", keys);
    }

    pub fn screen(&self) -> String {
        self.screen_of("t")
    }

    /// Splits the window: a second pane (`t.1`) below the first (`t.0`), running `cmd`.
    pub fn split(&self, rows: u16, cmd: &str) {
        self.run(&[
            "split-window",
            "-v",
            "-t",
            "t.0",
            "-l",
            &rows.to_string(),
            cmd,
        ]);
    }

    /// Kills what runs in `pane` and starts `cmd` there instead.
    pub fn respawn(&self, pane: &str, cmd: &str) {
        self.run(&["respawn-pane", "-k", "-t", pane, cmd]);
    }

    pub fn keys_to(&self, pane: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", pane];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    pub fn screen_of(&self, pane: &str) -> String {
        self.run(&["capture-pane", "-p", "-t", pane])
    }

    /// Polls `pane` until `pred` holds; panics with the screen after `secs`.
    pub fn wait_on(
        &self,
        pane: &str,
        secs: u64,
        what: &str,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let end = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen_of(pane);
            if pred(&s) {
                return s;
            }
            assert!(
                std::time::Instant::now() <= end,
                "timed out after {secs} s waiting for {what} in pane {pane}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The pid of the program running in `pane` (the child of its shell).
    pub fn pane_child_pid(&self, pane: &str) -> u32 {
        let shell = self.run(&["display-message", "-p", "-t", pane, "#{pane_pid}"]);
        let o = Command::new("pgrep")
            .args(["-P", shell.trim()])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .expect("the cockpit runs")
            .trim()
            .parse()
            .unwrap()
    }

    pub fn alternate_on(&self) -> bool {
        self.run(&["display-message", "-p", "-t", "t", "#{alternate_on}"])
            .trim()
            == "1"
    }

    /// Polls the screen until `pred` holds; panics with the screen after `secs`.
    pub fn wait(&self, secs: u64, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_on("t", secs, what, pred)
    }

    pub fn child_pid(&self) -> u32 {
        self.pane_child_pid("t")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

/// The cockpit on `cfg`, then a marker with its exit code, for `Tmux::start`.
pub fn cockpit_cmd(cfg: &Path) -> String {
    format!(
        "{} --config {}; echo EXITED:$?; sleep 600",
        bin().display(),
        cfg.display()
    )
}

/// A write order from the tests: live blue, green to `share` (0 is a rollback).
pub fn order(id: u64, share: u8) -> cutover::app::engine::WriteOrder {
    cutover::app::engine::WriteOrder {
        id,
        share,
        live: cutover::core::Env::Blue,
        rollback: share == 0,
        action: if share == 0 {
            cutover::app::journal::WriteAction::Rollback
        } else {
            cutover::app::journal::WriteAction::Set
        },
        source: "test".into(),
        before: None,
        candidate: cutover::app::journal::CandidateSnapshot::default(),
        reason: None,
        driver: None,
        window_ms: 60_000,
        lease_token: None,
        target_chosen: false,
        expect: None,
        notes: Vec::new(),
        schema: None,
        approval: None,
        rules: Vec::new(),
    }
}

/// Removes the lease and record files cutover kept in the temp folder for the HAProxy
/// process `pid` (they are named by its `show info` Pid): a test cleans up after itself.
pub fn remove_haproxy_store(pid: u32) {
    let Ok(dir) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("cutover-haproxy-") && name.contains(&format!("-{pid}-")) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Runs `cutover --config CFG ARGS…` with `envs`, and its peak resident memory (the
/// kernel's high-water mark, read until the process ends) in MB.
pub fn run_measured(
    cfg: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
) -> (std::process::Output, u64, std::time::Duration) {
    let t = std::time::Instant::now();
    let child = std::process::Command::new(bin())
        .arg("--config")
        .arg(cfg)
        .args(args)
        .envs(envs.iter().copied())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let watch = {
        let peak = peak.clone();
        std::thread::spawn(move || {
            // Bounded: the process is waited for below; its /proc entry goes with it.
            for _ in 0..6000 {
                let Ok(text) = std::fs::read_to_string(&status) else {
                    break;
                };
                if let Some(kb) = text
                    .lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    peak.fetch_max(kb, std::sync::atomic::Ordering::SeqCst);
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        })
    };
    let out = child.wait_with_output().unwrap();
    watch.join().unwrap();
    let mb = peak.load(std::sync::atomic::Ordering::SeqCst) / 1024;
    (out, mb, t.elapsed())
}
