//! nginx (open source has no runtime weight API): the weights of two servers in a named
//! `upstream` block of a named file are edited, the file written atomically (temp file and
//! rename, the old one kept as a backup), validated with the test command and only then
//! reloaded. If validation or reload fails, the file is restored and traffic is untouched.
//! nginx has no weight 0: 0 % marks the server `down`.
//!
//! nginx open source cannot be asked what it serves: only the file can be read. So a reload
//! that fails or hangs leaves a mark beside the config (`.cutover-reload-pending`), written
//! before the reload and removed only when a reload succeeded. While it is there the
//! traffic is UNKNOWN, for every cockpit and CLI, never the file's weights.

use super::file_store::FileStore;
use super::{Backend, BackendError, Capabilities, Slot, Switch};
use crate::core::{Env, EnvPair, Weights};
use async_trait::async_trait;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct NginxSettings {
    /// The file holding the `upstream` block.
    pub config: PathBuf,
    pub upstream: String,
    /// Each env's server address as written in the block (`10.0.2.15:8080`).
    pub servers: EnvPair<String>,
    /// Validates the whole configuration, e.g. `["nginx", "-t"]`.
    pub test_command: Vec<String>,
    /// Makes nginx load it, e.g. `["nginx", "-s", "reload"]`.
    pub reload_command: Vec<String>,
    pub scale: u32,
    pub timeout: Duration,
}

#[derive(Clone)]
pub struct NginxBackend {
    s: NginxSettings,
}

/// Where a `server` statement of the upstream sits in the text, and its parameters.
#[derive(Clone, Debug, PartialEq)]
struct ServerStmt {
    /// Byte range of the whole statement, `server` to `;` inclusive.
    start: usize,
    end: usize,
    addr: String,
    params: Vec<String>,
}

impl ServerStmt {
    fn weight(&self) -> u32 {
        if self.params.iter().any(|p| p == "down") {
            return 0;
        }
        self.params
            .iter()
            .find_map(|p| p.strip_prefix("weight=").and_then(|w| w.parse().ok()))
            .unwrap_or(1)
    }

    fn with_weight(&self, w: u32) -> String {
        let mut params: Vec<String> = self
            .params
            .iter()
            .filter(|p| *p != "down" && !p.starts_with("weight="))
            .cloned()
            .collect();
        if w == 0 {
            params.push("down".into());
        } else {
            params.insert(0, format!("weight={w}"));
        }
        let mut out = format!("server {}", self.addr);
        for p in params {
            out.push(' ');
            out.push_str(&p);
        }
        out.push(';');
        out
    }
}

/// Strips `#` comments, keeping byte offsets (comments become spaces).
fn blank_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_comment = false;
    for c in text.chars() {
        if c == '#' {
            in_comment = true;
        }
        if c == '\n' {
            in_comment = false;
        }
        if in_comment {
            out.extend(std::iter::repeat_n(' ', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    out
}

/// The largest weight nginx takes on a `server` line.
const MAX_WEIGHT: u32 = 1_000_000;

/// The `server` statements of `upstream NAME { … }`. Refused: a second block of that name
/// (which one nginx uses is not cutover's guess) and an `include` inside the block
/// (servers cutover cannot see).
fn find_servers(text: &str, upstream: &str) -> Result<Vec<ServerStmt>, String> {
    let clean = blank_comments(text);
    let bytes = clean.as_bytes();
    let mut pos = 0;
    let body = loop {
        let Some(i) = clean[pos..].find("upstream") else {
            return Err(format!("no `upstream {upstream}` block"));
        };
        let at = pos + i;
        pos = at + "upstream".len();
        let before_ok = at == 0
            || bytes[at - 1].is_ascii_whitespace()
            || bytes[at - 1] == b';'
            || bytes[at - 1] == b'}'
            || bytes[at - 1] == b'{';
        let rest = &clean[pos..];
        let name_start = rest.len() - rest.trim_start().len();
        let name: String = rest[name_start..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '{')
            .collect();
        if !before_ok || name != upstream {
            continue;
        }
        let after = pos + name_start + name.len();
        let Some(brace) = clean[after..].find('{') else {
            return Err(format!("`upstream {upstream}` has no block"));
        };
        let open = after + brace + 1;
        let Some(close) = clean[open..].find('}') else {
            return Err(format!("`upstream {upstream}` is not closed"));
        };
        if let Some(again) = second_block(&clean, open + close, upstream) {
            let line = |at: usize| text[..at].matches('\n').count() + 1;
            return Err(format!(
                "`upstream {upstream}` is defined twice (lines {} and {}): one block, please",
                line(at),
                line(again)
            ));
        }
        break (open, open + close);
    };
    let mut out = Vec::new();
    let mut cur = body.0;
    while cur < body.1 {
        let Some(semi) = clean[cur..body.1].find(';') else {
            break;
        };
        let stmt_end = cur + semi + 1;
        let stmt = &clean[cur..stmt_end];
        let lead = stmt.len() - stmt.trim_start().len();
        let words: Vec<&str> = stmt
            .trim()
            .trim_end_matches(';')
            .split_whitespace()
            .collect();
        if words.first() == Some(&"include") {
            return Err(format!(
                "`upstream {upstream}` has an `include` (line {}): its servers are not in this file, so cutover cannot read or set the shares; list blue's and green's servers in the block itself",
                text[..cur + lead].matches('\n').count() + 1
            ));
        }
        if let Some(d) = words
            .first()
            .filter(|d| matches!(**d, "hash" | "ip_hash" | "sticky"))
        {
            return Err(format!(
                "`upstream {upstream}` has `{d}` (line {}): each client then sticks to one server, so the share of requests is not the weights; remove it for cutover to set the shares (least_conn and random keep them)",
                text[..cur + lead].matches('\n').count() + 1
            ));
        }
        if words.first() == Some(&"server") && stmt.contains(['"', '\'', '\\', '$']) {
            return Err(format!(
                "`upstream {upstream}` has a `server` line with quotes, an escape or a variable (line {}): nginx reads those words differently from how they look; write the line with plain words",
                text[..cur + lead].matches('\n').count() + 1
            ));
        }
        if words.first() == Some(&"server") && words.len() >= 2 {
            out.push(ServerStmt {
                start: cur + lead,
                end: stmt_end,
                addr: words[1].to_string(),
                params: words[2..]
                    .iter()
                    .map(std::string::ToString::to_string)
                    .collect(),
            });
        }
        cur = stmt_end;
    }
    Ok(out)
}

/// Where another `upstream NAME` starts after `from`, if any.
fn second_block(clean: &str, from: usize, upstream: &str) -> Option<usize> {
    let bytes = clean.as_bytes();
    let mut pos = from;
    while let Some(i) = clean[pos..].find("upstream") {
        let at = pos + i;
        pos = at + "upstream".len();
        let before_ok = at == 0
            || matches!(
                bytes[at - 1],
                b' ' | b'\t' | b'\n' | b'\r' | b';' | b'}' | b'{'
            );
        let name: String = clean[pos..]
            .trim_start()
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '{')
            .collect();
        if before_ok && name == upstream {
            return Some(at);
        }
    }
    None
}

/// Refuses an upstream whose shape would make the weights lie about the shares: one of
/// the two servers listed twice (nginx balances over both lines), a flag that changes its
/// share whatever its weight (`backup`, `drain`, `max_conns=0`), or a third server that
/// takes traffic. Each said with its line.
fn check_shape(text: &str, stmts: &[ServerStmt], servers: &EnvPair<String>) -> Result<(), String> {
    let line = |s: &ServerStmt| text[..s.start].matches('\n').count() + 1;
    for env in Env::ALL {
        let addr = servers.get(env);
        let mine: Vec<&ServerStmt> = stmts.iter().filter(|s| &s.addr == addr).collect();
        if mine.len() > 1 {
            let lines: Vec<String> = mine.iter().map(|s| line(s).to_string()).collect();
            return Err(format!(
                "`server {addr}` ({env}-server) is listed {} times (lines {}): nginx balances over every line, so its share cannot be set; list it once",
                mine.len(),
                lines.join(", ")
            ));
        }
        for s in mine {
            let weights: Vec<&str> = s
                .params
                .iter()
                .filter_map(|p| p.strip_prefix("weight="))
                .collect();
            if weights.len() > 1
                || weights.first().is_some_and(|w| {
                    !w.bytes().all(|b| b.is_ascii_digit())
                        || !w
                            .parse::<u32>()
                            .is_ok_and(|n| (1..=MAX_WEIGHT).contains(&n))
                })
            {
                return Err(format!(
                    "`server {addr}` ({env}-server) on line {} has `weight={}`: expected one whole number from 1 to {MAX_WEIGHT} (nginx's own range)",
                    line(s),
                    weights.join(" weight=")
                ));
            }
            // Everything nginx (open source or Plus) takes on a `server` line of an
            // upstream; anything else fails `nginx -t`, so the file is not what runs.
            const KNOWN: [&str; 11] = [
                "weight=",
                "max_fails=",
                "fail_timeout=",
                "max_conns=",
                "slow_start=",
                "route=",
                "service=",
                "backup",
                "down",
                "resolve",
                "drain",
            ];
            if let Some(p) = s.params.iter().find(|p| {
                !KNOWN.iter().any(|k| {
                    if k.ends_with('=') {
                        p.starts_with(k)
                    } else {
                        p == k
                    }
                })
            }) {
                return Err(format!(
                    "`server {addr}` ({env}-server) on line {} has `{p}`: not a parameter nginx takes on a server line (`nginx -t` refuses it), so the file is not what nginx runs",
                    line(s)
                ));
            }
            // `max_conns=0` is nginx's "no limit": the share is the weight.
            if let Some(flag) = s.params.iter().find(|p| *p == "backup" || *p == "drain") {
                return Err(format!(
                    "`server {addr}` ({env}-server) on line {} is marked `{flag}`: its share is not its weight; remove `{flag}` for cutover to set it",
                    line(s)
                ));
            }
            let why = |p: &str| {
                if p.strip_prefix("max_conns=")
                    .is_some_and(|n| n.parse::<u64>().map_or(true, |n| n > 0))
                {
                    Some("caps its connections, and what is over the cap goes to the other server")
                } else if p.starts_with("slow_start=") {
                    Some("ramps its weight up from zero after it recovers")
                } else if p.starts_with("service=") || p == "resolve" {
                    Some("stands for every address its name resolves to")
                } else {
                    None
                }
            };
            if let Some((p, why)) = s.params.iter().find_map(|p| why(p).map(|w| (p, w))) {
                return Err(format!(
                    "`server {addr}` ({env}-server) on line {} has `{p}`: it {why}, so its share is not its weight; remove `{p}` for cutover to set it",
                    line(s)
                ));
            }
        }
    }
    let others: Vec<String> = stmts
        .iter()
        .filter(|s| servers.get(Env::Blue) != &s.addr && servers.get(Env::Green) != &s.addr)
        .filter(|s| !s.params.iter().any(|p| p == "down" || p == "backup"))
        .map(|s| format!("{} (line {})", s.addr, line(s)))
        .collect();
    if !others.is_empty() {
        return Err(format!(
            "the upstream has other servers that take traffic: {}; cutover's shares would not be the traffic's. Mark them `down` or move them out",
            others.join(", ")
        ));
    }
    Ok(())
}

/// The weights of the two servers in `text`.
fn read_weights(text: &str, upstream: &str, servers: &EnvPair<String>) -> Result<Weights, String> {
    let stmts = find_servers(text, upstream)?;
    check_shape(text, &stmts, servers)?;
    let get = |env: Env| {
        let addr = servers.get(env);
        stmts
            .iter()
            .find(|s| &s.addr == addr)
            .map(ServerStmt::weight)
            .ok_or_else(|| {
                let found: Vec<&str> = stmts.iter().map(|s| s.addr.as_str()).collect();
                format!(
                    "`upstream {upstream}` has no `server {addr}` ({env}-server); it has {}",
                    if found.is_empty() {
                        "no servers".into()
                    } else {
                        found.join(", ")
                    }
                )
            })
    };
    Ok(Weights::new(get(Env::Blue)?, get(Env::Green)?))
}

/// `text` with the two servers' weights set to `w`, everything else untouched.
fn write_weights(
    text: &str,
    upstream: &str,
    servers: &EnvPair<String>,
    w: Weights,
) -> Result<String, String> {
    read_weights(text, upstream, servers)?;
    let mut stmts = find_servers(text, upstream)?;
    stmts.sort_by_key(|s| std::cmp::Reverse(s.start));
    let mut out = text.to_string();
    for s in stmts {
        let weight = if &s.addr == servers.get(Env::Blue) {
            w.blue
        } else if &s.addr == servers.get(Env::Green) {
            w.green
        } else {
            continue;
        };
        out.replace_range(s.start..s.end, &s.with_weight(weight));
    }
    Ok(out)
}

/// Writes `path` whole, never through a link planted there: a fresh file beside it
/// (`O_EXCL`, so not a symlink someone made), fsynced when `durable`, then renamed over
/// `path` (a rename replaces a symlink itself, not what it points to).
async fn replace(path: PathBuf, text: String, durable: bool) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut tmp = path.clone().into_os_string();
        tmp.push(format!(".cutover-tmp-{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        if let Ok(m) = std::fs::symlink_metadata(&path)
            && m.is_file()
        {
            let _ = f.set_permissions(m.permissions());
        }
        f.write_all(text.as_bytes())?;
        if durable {
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)
    })
    .await
    .map_err(std::io::Error::other)?
}

/// The largest upstream file read: a regular file (a FIFO would block, /dev/zero would
/// fill the memory).
const CONFIG_MAX: u64 = 4 * 1024 * 1024;

impl NginxBackend {
    /// The upstream file's text, read bounded.
    fn config_text(&self) -> Result<String, BackendError> {
        // A link (sites-enabled → sites-available): the write's rename would replace the
        // link with a file and leave the one nginx reads as it was. Said, never done.
        if let Ok(m) = std::fs::symlink_metadata(&self.s.config)
            && m.file_type().is_symlink()
        {
            let to = std::fs::canonicalize(&self.s.config)
                .map_or_else(|_| "?".to_string(), |p| p.display().to_string());
            return Err(self.rejected(format!(
                "{} is a symbolic link (to {to}): a write would replace the link, not the file nginx reads; set `config` to {to}",
                self.s.config.display()
            )));
        }
        crate::shared::read_small_file(&self.s.config, CONFIG_MAX).map_err(|e| {
            BackendError::Unreachable {
                target: format!("nginx {}", self.s.config.display()),
                message: e.to_string(),
            }
        })
    }

    pub fn new(s: NginxSettings) -> NginxBackend {
        NginxBackend { s }
    }

    fn rejected(&self, message: String) -> BackendError {
        BackendError::Rejected {
            target: format!("nginx {}", self.s.config.display()),
            message,
        }
    }

    async fn run(&self, cmd: &[String]) -> Result<(), String> {
        self.run_timed(cmd).await.map_err(|(_, e)| e)
    }

    /// Runs `cmd`; the error says whether it timed out (`true`: it may have done its work).
    async fn run_timed(&self, cmd: &[String]) -> Result<(), (bool, String)> {
        let (prog, args) = cmd
            .split_first()
            .ok_or((false, "empty command".to_string()))?;
        let run = tokio::process::Command::new(prog)
            .args(args)
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(self.s.timeout, run)
            .await
            .map_err(|_| {
                (
                    true,
                    format!(
                        "`{}` did not finish within {}",
                        cmd.join(" "),
                        crate::shared::seconds_text(self.s.timeout.as_secs_f64())
                    ),
                )
            })?
            .map_err(|e| (false, format!("`{}`: {e}", cmd.join(" "))))?;
        if out.status.success() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let text = if text.is_empty() {
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        } else {
            text
        };
        Err((
            false,
            format!("`{}` failed ({}): {text}", cmd.join(" "), out.status),
        ))
    }

    /// The mark of a reload that has not been seen to succeed.
    pub fn pending_path(&self) -> PathBuf {
        let mut p = self.s.config.clone().into_os_string();
        p.push(".cutover-reload-pending");
        PathBuf::from(p)
    }

    /// Reloads; the mark stays unless the reload succeeded.
    async fn reload(&self) -> Result<(), (bool, String)> {
        std::fs::write(self.pending_path(), crate::shared::timestamp()).map_err(|e| {
            (
                false,
                format!("cannot write {}: {e}", self.pending_path().display()),
            )
        })?;
        self.run_timed(&self.s.reload_command).await?;
        let _ = std::fs::remove_file(self.pending_path());
        Ok(())
    }

    /// The config file and its folder are writable by this user, and the test command
    /// passes: what a write needs, proven without changing traffic (for `check`).
    pub async fn check_write_side(&self) -> Result<(), String> {
        let file = &self.s.config;
        crate::shared::writable_file(file)
            .map_err(|e| format!("config {} is not writable: {e} (`config`)", file.display()))?;
        self.store()
            .writable()
            .map_err(|e| format!("{e} (the folder of `config`)"))?;
        self.run(&self.s.test_command)
            .await
            .map_err(|e| format!("{e} (`test-command`)"))
    }

    async fn put(&self, text: &str) -> std::io::Result<()> {
        replace(self.s.config.clone(), text.to_string(), true).await
    }

    /// The driver lease and the cutover record, beside the config file.
    fn store(&self) -> FileStore {
        FileStore::with_reference(self.s.config.clone(), self.s.config.clone())
    }

    pub fn backup_path(&self) -> PathBuf {
        let mut p = self.s.config.clone().into_os_string();
        p.push(".cutover.bak");
        PathBuf::from(p)
    }
}

#[async_trait]
impl Backend for NginxBackend {
    fn kind(&self) -> &'static str {
        "nginx"
    }

    fn target(&self) -> String {
        format!("{} upstream {}", self.s.config.display(), self.s.upstream)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            weighted: true,
            scale: self.s.scale,
        }
    }

    async fn read(&self) -> Result<Weights, BackendError> {
        if let Ok(since) = crate::shared::read_small_file(&self.pending_path(), 4096) {
            return Err(BackendError::Unknown {
                target: format!("nginx {}", self.s.config.display()),
                message: format!(
                    "a reload started at {} was not seen to succeed, so nginx may serve other weights than the file's until a reload succeeds ({} marks it)",
                    since.trim(),
                    self.pending_path().display()
                ),
            });
        }
        let text = self.config_text()?;
        read_weights(&text, &self.s.upstream, &self.s.servers).map_err(|e| self.rejected(e))
    }

    async fn load(&self, slot: Slot) -> Result<Option<String>, BackendError> {
        self.store().load(slot).await
    }

    fn place(&self, slot: Slot) -> String {
        self.store().place(slot)
    }
}

#[async_trait]
impl Switch for NginxBackend {
    async fn check_write(&self) -> super::WriteCheck {
        match self.check_write_side().await {
            Ok(()) => super::WriteCheck::Proven(format!(
                "{} and its folder writable, test command passes",
                self.s.config.display()
            )),
            Err(e) => super::WriteCheck::Denied(e),
        }
    }

    async fn swap(
        &self,
        slot: Slot,
        expect: Option<&str>,
        new: Option<&str>,
    ) -> Result<bool, BackendError> {
        self.store().swap(slot, expect, new).await
    }

    async fn write(&self, w: Weights) -> Result<(), BackendError> {
        let old = self.config_text()?;
        let new = write_weights(&old, &self.s.upstream, &self.s.servers, w)
            .map_err(|e| self.rejected(e))?;
        let io = |e: std::io::Error| self.rejected(format!("cannot write the config: {e}"));
        // The backup is for people (a restore uses `old`, in memory): written beside the
        // new file, not fsynced. The new file is: nginx reads it again after a crash.
        let (backup, put) = futures::join!(
            replace(self.backup_path(), old.clone(), false),
            self.put(&new)
        );
        put.map_err(io)?;
        if let Err(e) = backup {
            log::warn!(
                "nginx: the backup {} was not written: {e}",
                self.backup_path().display()
            );
        }
        if let Err(e) = self.run(&self.s.test_command).await {
            self.put(&old).await.map_err(io)?;
            return Err(self.rejected(format!("{e}; the file was restored, traffic untouched")));
        }
        if let Err((timed_out, e)) = self.reload().await {
            // It may have applied: put the old file back and reload again, so nginx serves
            // what the file says. Until a reload succeeds the traffic is UNKNOWN.
            self.put(&old).await.map_err(io)?;
            let target = format!("nginx {}", self.s.config.display());
            return Err(match self.reload().await {
                Ok(()) => self.rejected(format!(
                    "{e}; the file was restored and reloaded: traffic as before"
                )),
                Err((_, again)) if timed_out => BackendError::Unknown {
                    target,
                    message: format!(
                        "{e}; the file was restored but the reload again failed ({again}): traffic UNKNOWN until a reload succeeds"
                    ),
                },
                Err((_, again)) => BackendError::Unknown {
                    target,
                    message: format!(
                        "{e}; the file was restored but reloading it failed too ({again}): traffic UNKNOWN until a reload succeeds"
                    ),
                },
            });
        }
        Ok(())
    }
}

/// `init --discover`: every `upstream` block of the file at `path` with exactly two
/// servers that cutover could drive, and why each other block is not one (a name the
/// config does not take, an `include`, a `hash`, not two servers, a `backup` flag, …).
pub fn discover(
    path: &std::path::Path,
) -> Result<(Vec<super::discover::Found>, Vec<String>), String> {
    use super::discover::{Found, blue_green, quoted, shares};
    let text = crate::shared::read_small_file(path, 4 * 1024 * 1024)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let clean = blank_comments(&text);
    let mut names: Vec<String> = Vec::new();
    let mut pos = 0;
    while let Some(i) = clean[pos..].find("upstream") {
        let at = pos + i;
        pos = at + "upstream".len();
        let before_ok = at == 0
            || matches!(
                clean.as_bytes()[at - 1],
                b' ' | b'\t' | b'\n' | b'\r' | b';' | b'}' | b'{'
            );
        let after_ok = clean[pos..].starts_with([' ', '\t', '\n', '\r']);
        let name: String = clean[pos..]
            .trim_start()
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '{')
            .collect();
        if before_ok && after_ok && !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    let mut found = Vec::new();
    let mut notes = Vec::new();
    for up in names {
        let valid = up.len() <= 256
            && up
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        if !valid {
            notes.push(format!(
                "`upstream {up}`: not a name the config takes (letters, digits and - _ . :)"
            ));
            continue;
        }
        let stmts = match find_servers(&text, &up) {
            Ok(s) => s,
            Err(e) => {
                notes.push(e);
                continue;
            }
        };
        let [a, b] = stmts.as_slice() else {
            notes.push(format!(
                "`upstream {up}` has {} server{}: cutover moves traffic between two",
                stmts.len(),
                if stmts.len() == 1 { "" } else { "s" }
            ));
            continue;
        };
        let ((blue, bw), (green, gw)) = blue_green((&a.addr, a.weight()), (&b.addr, b.weight()));
        if let Err(e) = check_shape(&text, &stmts, &EnvPair::new(blue.clone(), green.clone())) {
            notes.push(e);
            continue;
        }
        let (bs, gs) = shares(u64::from(bw), u64::from(gw));
        found.push(Found {
            what: format!("upstream {up}: {blue} ({bs}) / {green} ({gs})"),
            name: up.clone(),
            keys: vec![
                ("config", quoted(&path.display().to_string())),
                ("upstream", quoted(&up)),
                ("blue-server", quoted(&blue)),
                ("green-server", quoted(&green)),
            ],
        });
    }
    Ok((found, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "# managed by cutover\nupstream other { server 10.0.0.9:80; }\nupstream app {\n    zone app 64k;\n    server 127.0.0.1:8081 weight=90 max_fails=3; # blue\n    server 127.0.0.1:8082 down weight=5;\n    keepalive 8;\n}\n";

    fn servers() -> EnvPair<String> {
        EnvPair::new("127.0.0.1:8081".into(), "127.0.0.1:8082".into())
    }

    #[test]
    fn max_conns_0_is_no_limit_and_reads_as_its_weight() {
        let servers = EnvPair::new("127.0.0.1:8081".to_string(), "127.0.0.1:8082".to_string());
        let text = "upstream app {\n    server 127.0.0.1:8081 weight=30 max_conns=0;\n    server 127.0.0.1:8082 weight=70 max_fails=2 fail_timeout=5s;\n}\n";
        let w = read_weights(text, "app", &servers).unwrap();
        assert_eq!((w.blue, w.green), (30, 70));
    }

    #[test]
    fn reads_weights_down_and_defaults() {
        assert_eq!(
            read_weights(CONF, "app", &servers()).unwrap(),
            Weights::new(90, 0)
        );
        let plain = "upstream app { server 127.0.0.1:8081; server 127.0.0.1:8082 weight=3; }";
        assert_eq!(
            read_weights(plain, "app", &servers()).unwrap(),
            Weights::new(1, 3)
        );
    }

    #[test]
    fn writes_only_the_two_weights() {
        let out = write_weights(CONF, "app", &servers(), Weights::new(50, 50)).unwrap();
        assert!(
            out.contains("server 127.0.0.1:8081 weight=50 max_fails=3; # blue"),
            "{out}"
        );
        assert!(out.contains("server 127.0.0.1:8082 weight=50;"), "{out}");
        assert!(out.contains("upstream other { server 10.0.0.9:80; }"));
        assert!(out.contains("zone app 64k;") && out.contains("keepalive 8;"));
        assert_eq!(
            read_weights(&out, "app", &servers()).unwrap(),
            Weights::new(50, 50)
        );
        let back = write_weights(&out, "app", &servers(), Weights::new(100, 0)).unwrap();
        assert!(back.contains("server 127.0.0.1:8082 down;"), "{back}");
        assert_eq!(
            read_weights(&back, "app", &servers()).unwrap(),
            Weights::new(100, 0)
        );
    }

    #[test]
    fn mismatches_are_explained() {
        let e = read_weights(CONF, "shop", &servers()).unwrap_err();
        assert!(e.contains("no `upstream shop` block"), "{e}");
        let wrong = EnvPair::new("127.0.0.1:8081".to_string(), "127.0.0.1:9999".to_string());
        let e = read_weights(CONF, "app", &wrong).unwrap_err();
        assert!(
            e.contains("no `server 127.0.0.1:9999` (green-server)") && e.contains("127.0.0.1:8082"),
            "{e}"
        );
        let e = write_weights(
            "# upstream app { server x; }",
            "app",
            &servers(),
            Weights::new(1, 1),
        )
        .unwrap_err();
        assert!(
            e.contains("no `upstream app` block"),
            "commented out is not there: {e}"
        );
    }

    #[test]
    fn shapes_whose_weights_would_lie_are_refused_with_their_line() {
        let servers = EnvPair::new("127.0.0.1:8081".to_string(), "127.0.0.1:8082".to_string());
        let conf = |body: &str| format!("upstream app {{\n{body}}}\n");
        let cases = [
            (
                "    server 127.0.0.1:8081 weight=50;\n    server 127.0.0.1:8082 down;\n    server 127.0.0.1:8082 weight=100;\n",
                "`server 127.0.0.1:8082` (green-server) is listed 2 times (lines 3, 4)",
            ),
            (
                "    server 127.0.0.1:8081;\n    server 127.0.0.1:8082 weight=1 backup;\n",
                "on line 3 is marked `backup`",
            ),
            (
                "    server 127.0.0.1:8081 drain;\n    server 127.0.0.1:8082;\n",
                "on line 2 is marked `drain`",
            ),
            (
                "    server 127.0.0.1:8081 max_conns=00x;\n    server 127.0.0.1:8082;\n",
                "has `max_conns=00x`",
            ),
            (
                "    server 127.0.0.1:8081 max_conns=1;\n    server 127.0.0.1:8082;\n",
                "on line 2 has `max_conns=1`: it caps its connections",
            ),
            (
                "    server 127.0.0.1:8081;\n    server 127.0.0.1:8082 weight=5 slow_start=30s;\n",
                "on line 3 has `slow_start=30s`: it ramps its weight up",
            ),
            (
                "    server 127.0.0.1:8081 service=http resolve;\n    server 127.0.0.1:8082;\n",
                "on line 2 has `service=http`",
            ),
            (
                "    sticky cookie srv_id expires=1h;\n    server 127.0.0.1:8081;\n    server 127.0.0.1:8082;\n",
                "has `sticky` (line 2): each client then sticks to one server",
            ),
            (
                "    ip_hash;\n    server 127.0.0.1:8081;\n    server 127.0.0.1:8082;\n",
                "has `ip_hash` (line 2)",
            ),
            (
                "    server 127.0.0.1:8081 WEIGHT=10;\n    server 127.0.0.1:8082;\n",
                "on line 2 has `WEIGHT=10`: not a parameter nginx takes",
            ),
            (
                "    server 127.0.0.1:8081;\n    server 127.0.0.1:8082;\n    server 10.0.0.9:80;\n",
                "other servers that take traffic: 10.0.0.9:80 (line 4)",
            ),
            (
                "    server 127.0.0.1:8081 weight=abc;\n    server 127.0.0.1:8082;\n",
                "on line 2 has `weight=abc`: expected one whole number from 1 to 1000000",
            ),
            (
                "    server 127.0.0.1:8081 weight=-5;\n    server 127.0.0.1:8082;\n",
                "has `weight=-5`",
            ),
            (
                "    server 127.0.0.1:8081 weight=99999999999999999999;\n    server 127.0.0.1:8082;\n",
                "has `weight=99999999999999999999`",
            ),
            (
                "    server 127.0.0.1:8081 weight=+5;\n    server 127.0.0.1:8082;\n",
                "on line 2 has `weight=+5`",
            ),
            (
                "    server 127.0.0.1:8081;\n    server 127.0.0.1:8082 \"weight=5\";\n",
                "a `server` line with quotes, an escape or a variable (line 3)",
            ),
            (
                "    server 127.0.0.1:8081 weight=$w;\n    server 127.0.0.1:8082;\n",
                "a `server` line with quotes, an escape or a variable (line 2)",
            ),
            (
                "    server 127.0.0.1:8081;\n    include more-servers.conf;\n    server 127.0.0.1:8082;\n",
                "has an `include` (line 3)",
            ),
        ];
        let twice = conf("    server 127.0.0.1:8081;\n    server 127.0.0.1:8082;\n")
            + "upstream app {\n    server 127.0.0.1:8082;\n}\n";
        let e = read_weights(&twice, "app", &servers).unwrap_err();
        assert!(e.contains("is defined twice (lines 1 and 5)"), "{e}");
        for (body, want) in cases {
            let e = read_weights(&conf(body), "app", &servers).unwrap_err();
            assert!(e.contains(want), "{e}");
            assert!(write_weights(&conf(body), "app", &servers, Weights::new(50, 50)).is_err());
        }
        // A third server that is down or a backup takes nothing while both serve: allowed.
        let ok = conf(
            "    server 127.0.0.1:8081;\n    server 127.0.0.1:8082;\n    server 10.0.0.9:80 down;\n",
        );
        assert_eq!(read_weights(&ok, "app", &servers), Ok(Weights::new(1, 1)));
    }

    /// A config that is a symbolic link is refused at read, with where it points: a write
    /// would replace the link, not the file nginx reads.
    #[tokio::test]
    async fn a_symlinked_config_is_refused_with_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("available.conf");
        std::fs::write(
            &real,
            "upstream app {\n    server 127.0.0.1:8081;\n    server 127.0.0.1:8082 down;\n}\n",
        )
        .unwrap();
        let link = dir.path().join("enabled.conf");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let b = NginxBackend::new(NginxSettings {
            config: link,
            upstream: "app".into(),
            servers: EnvPair::new("127.0.0.1:8081".into(), "127.0.0.1:8082".into()),
            test_command: vec!["true".into()],
            reload_command: vec!["true".into()],
            scale: 100,
            timeout: Duration::from_secs(2),
        });
        let e = b.read().await.unwrap_err().to_string();
        assert!(
            e.contains("is a symbolic link (to ") && e.contains("available.conf"),
            "{e}"
        );
        assert!(b.write(Weights::new(50, 50)).await.is_err());
        assert!(
            std::fs::symlink_metadata(dir.path().join("enabled.conf"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}
