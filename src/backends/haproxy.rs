//! HAProxy through its runtime API (TCP or unix socket, `level admin`): server weights set
//! with `set weight`, read back with `get weight`; per-server request, 5xx and status from
//! `show stat` as a signal source.

use super::file_store::FileStore;
use super::{Backend, BackendError, Capabilities, Slot, Switch};
use crate::core::{Env, EnvPair, Health, HealthSample, Reading, Weights};
use crate::core::{EnvPoll, SignalSource};
use async_trait::async_trait;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Where the runtime API listens.
#[derive(Clone, Debug, PartialEq)]
pub enum Socket {
    Tcp(String),
    Unix(PathBuf),
}

impl Socket {
    /// A path (containing `/`) is a unix socket, anything else `host:port`.
    pub fn parse(s: &str) -> Socket {
        let s = s.trim_start_matches("ipv4@").trim_start_matches("unix@");
        if s.contains('/') {
            Socket::Unix(PathBuf::from(s))
        } else {
            Socket::Tcp(s.to_string())
        }
    }
}

impl std::fmt::Display for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Socket::Tcp(a) => f.write_str(a),
            Socket::Unix(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The settings of an HAProxy backend.
#[derive(Clone, Debug, PartialEq)]
pub struct HaproxySettings {
    pub socket: Socket,
    /// The HAProxy `backend` section holding both servers.
    pub backend: String,
    pub servers: EnvPair<String>,
    /// HAProxy weights run 0..=256; a share of 100 % is this weight.
    pub scale: u32,
    pub timeout: Duration,
}

#[derive(Clone)]
pub struct HaproxyBackend {
    s: HaproxySettings,
    /// The store last found for this HAProxy instance, for messages.
    store_seen: std::sync::Arc<Mutex<Option<FileStore>>>,
    /// The weights as last read (a write orders its two `set weight`s by them instead of
    /// asking again), and the weights a write read back in its own exchange, handed to the
    /// engine's read-back once.
    seen: std::sync::Arc<Mutex<Seen>>,
    /// The store as last found by `show info`, and when.
    found: std::sync::Arc<Mutex<Option<(std::time::Instant, FileStore)>>>,
}

/// How long a store found by `show info` is taken as this HAProxy's without asking again.
const STORE_FRESH: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Default)]
struct Seen {
    last: Option<Weights>,
    after_write: Option<Weights>,
}

impl HaproxyBackend {
    pub fn new(s: HaproxySettings) -> HaproxyBackend {
        HaproxyBackend {
            s,
            store_seen: Default::default(),
            seen: Default::default(),
            found: Default::default(),
        }
    }

    fn err_unreachable(&self, e: impl std::fmt::Display) -> BackendError {
        BackendError::Unreachable {
            target: format!("HAProxy runtime API {}", self.s.socket),
            message: e.to_string(),
        }
    }

    /// Sends one line of commands (`;`-separated) and reads the answer to the end.
    pub async fn command(&self, cmd: &str) -> Result<String, BackendError> {
        let run = async {
            match &self.s.socket {
                Socket::Tcp(a) => {
                    let s = tokio::net::TcpStream::connect(a)
                        .await
                        .map_err(|e| self.err_unreachable(e))?;
                    exchange(s, cmd).await.map_err(|e| self.err_unreachable(e))
                }
                Socket::Unix(p) => {
                    let s = tokio::net::UnixStream::connect(p)
                        .await
                        .map_err(|e| self.err_unreachable(e))?;
                    exchange(s, cmd).await.map_err(|e| self.err_unreachable(e))
                }
            }
        };
        let target = format!("HAProxy runtime API {}", self.s.socket);
        crate::shared::with_timeout(&target, self.s.timeout, run).await
    }

    fn store_at(&self) -> std::sync::MutexGuard<'_, Option<(std::time::Instant, FileStore)>> {
        self.found
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Blue's and green's weights from the first two lines of `get weight` answers.
    fn weights_in(&self, lines: &[&str], answer: &str) -> Result<Weights, BackendError> {
        let weight = |i: usize| -> Result<u32, BackendError> {
            let line = lines.get(i).copied().unwrap_or("");
            line.split_whitespace()
                .next()
                .and_then(|w| w.parse().ok())
                // HAProxy's weights are 0 to 256: anything else is not its answer.
                .filter(|w: &u32| *w <= 256)
                .ok_or_else(|| {
                    self.explain(if line.is_empty() { answer } else { line }, "get weight")
                })
        };
        Ok(Weights::new(weight(0)?, weight(1)?))
    }

    fn path(&self, env: Env) -> String {
        format!("{}/{}", self.s.backend, self.s.servers.get(env))
    }

    /// The lease and record store of this HAProxy instance and backend: one per running
    /// HAProxy process (its `node`, `Pid` and `Start_time_sec` from `show info`, the same
    /// through every socket that reaches it), in this machine's temp folder. A unix socket
    /// and a TCP socket of one HAProxy, or `localhost:P` and `127.0.0.1:P`, share it. A
    /// reload starts a new process: its weights come from the config file again, and so
    /// does a fresh store.
    async fn store(&self) -> Result<FileStore, BackendError> {
        // Found less than a second ago: the same process (a reload within that second is
        // found by the next look after it). A rollback's record then costs no extra
        // `show info` round trips.
        if let Some((at, store)) = &*self.store_at()
            && at.elapsed() < STORE_FRESH
        {
            return Ok(store.clone());
        }
        let info = self.command("show info").await?;
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let (Some(node), Some(pid), Some(start)) =
            (field("node"), field("Pid"), field("Start_time_sec"))
        else {
            return Err(self.explain(
                info.lines().next().unwrap_or(""),
                "show info (to find this HAProxy's lease and record)",
            ));
        };
        let clean = |v: &str| v.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
        let base = std::env::temp_dir().join(format!(
            "cutover-haproxy-{}-{}-{}-{}",
            clean(node),
            clean(pid),
            clean(start),
            clean(&self.s.backend)
        ));
        // In a shared temp folder: only this user's, root's or the socket owner's files are
        // trusted (anyone could create a file of that name first).
        let store = match &self.s.socket {
            Socket::Unix(p) => FileStore::with_reference(base, p.clone()),
            Socket::Tcp(_) => FileStore::new(base),
        };
        *self
            .store_seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(store.clone());
        *self.store_at() = Some((std::time::Instant::now(), store.clone()));
        Ok(store)
    }

    /// The runtime API's access level for this socket (`show cli level`): `admin` is needed
    /// to set weights.
    pub async fn cli_level(&self) -> Result<String, BackendError> {
        Ok(self.command("show cli level").await?.trim().to_string())
    }

    /// Turns HAProxy's terse answers into errors that say what to fix.
    fn explain(&self, answer: &str, what: &str) -> BackendError {
        let a = answer.trim();
        let hint = if a.contains("No such backend") {
            format!("check `backend = \"{}\"`", self.s.backend)
        } else if a.contains("No such server") {
            format!(
                "check `blue-server = \"{}\"` and `green-server = \"{}\"` (servers of backend {})",
                self.s.servers.blue, self.s.servers.green, self.s.backend
            )
        } else if a.contains("Permission denied") {
            "the stats socket needs `level admin` to set weights".to_string()
        } else {
            "unexpected answer".to_string()
        };
        BackendError::Rejected {
            target: format!("HAProxy {}", self.s.socket),
            message: format!(
                "{what}: HAProxy says {:?}: {hint}",
                crate::shared::one_line(a, 200)
            ),
        }
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    cmd: &str,
) -> std::io::Result<String> {
    s.write_all(format!("{cmd}\n").as_bytes()).await?;
    // Bounded: the runtime API answers a few lines; a peer that streams without end is an
    // error, never read into memory.
    let mut out = Vec::new();
    (&mut s).take(ANSWER_MAX + 1).read_to_end(&mut out).await?;
    if out.len() as u64 > ANSWER_MAX {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "answer over {}: not read (is this HAProxy's runtime API?)",
                crate::shared::bytes_text(ANSWER_MAX as usize)
            ),
        ));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The largest runtime API answer read (`show info`, `show stat` of a big config: < 1 MB).
const ANSWER_MAX: u64 = 4 * 1024 * 1024;

#[async_trait]
impl Backend for HaproxyBackend {
    fn kind(&self) -> &'static str {
        "haproxy"
    }

    fn target(&self) -> String {
        format!("{} backend {}", self.s.socket, self.s.backend)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            weighted: true,
            scale: self.s.scale,
        }
    }

    /// The weights: those a write just read back in its own exchange (once), else asked.
    async fn read(&self) -> Result<Weights, BackendError> {
        if let Some(w) = self.seen().after_write.take() {
            return Ok(w);
        }
        let cmd = format!(
            "get weight {}; get weight {}",
            self.path(Env::Blue),
            self.path(Env::Green)
        );
        let answer = self.command(&cmd).await?;
        let lines: Vec<&str> = answer.lines().filter(|l| !l.trim().is_empty()).collect();
        let w = self.weights_in(&lines, &answer)?;
        self.seen().last = Some(w);
        Ok(w)
    }

    async fn load(&self, slot: Slot) -> Result<Option<String>, BackendError> {
        self.store().await?.load(slot).await
    }

    /// One `show info` to find the store, then both files.
    async fn record_and_lease(
        &self,
    ) -> (
        Result<Option<crate::core::Record>, BackendError>,
        Result<Option<crate::core::Lease>, BackendError>,
    ) {
        let store = match self.store().await {
            Ok(s) => s,
            Err(e) => return (Err(e.clone()), Err(e)),
        };
        let (record, lease) = futures::join!(store.load(Slot::Record), store.load(Slot::Lease));
        (
            record.and_then(|r| super::record_of(store.place(Slot::Record), r)),
            lease.and_then(|l| super::lease_of(store.place(Slot::Lease), l)),
        )
    }

    fn place(&self, slot: Slot) -> String {
        match &*self
            .store_seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            Some(store) => store.place(slot),
            None => format!(
                "{} file of the HAProxy behind {} (in the temp folder)",
                slot.name(),
                self.s.socket
            ),
        }
    }
}

#[async_trait]
impl Switch for HaproxyBackend {
    async fn check_write(&self) -> super::WriteCheck {
        use super::WriteCheck::{Denied, Proven};
        let level = match self.cli_level().await {
            Ok(l) => l,
            Err(e) => return Denied(format!("`show cli level`: {e}")),
        };
        if level != "admin" {
            return Denied(format!(
                "the stats socket {} is at level `{level}`: `set weight` needs `level admin` on its `stats socket` line in haproxy.cfg (or point `socket` at an admin socket)",
                self.s.socket
            ));
        }
        let store = match self.store().await {
            Ok(s) => s,
            Err(e) => return Denied(format!("lease and record: {e}")),
        };
        match store.writable() {
            Ok(()) => Proven(format!(
                "socket level admin; lease and record beside {}",
                store.base.display()
            )),
            Err(e) => Denied(format!("lease and record: {e}")),
        }
    }

    async fn swap(
        &self,
        slot: Slot,
        expect: Option<&str>,
        new: Option<&str>,
    ) -> Result<bool, BackendError> {
        self.store().await?.swap(slot, expect, new).await
    }

    /// Both `set weight`s and both `get weight`s in one exchange: the weights read back
    /// there are what the engine's read-back gets. The sets are ordered by the weights last
    /// read (raise before lowering, so there is never a moment with less capacity than
    /// both); with none read yet they are read first, which also proves both servers exist
    /// (HAProxy runs `;`-separated commands one by one: a bad second name would leave the
    /// first one changed).
    async fn write(&self, w: Weights) -> Result<(), BackendError> {
        let last = self.seen().last;
        let cur = match last {
            Some(cur) => cur,
            // A timeout here is not an unknown outcome: nothing was sent yet.
            None => self.read().await.map_err(|e| match e {
                BackendError::Timeout { target, seconds } => BackendError::Unreachable {
                    target,
                    message: format!(
                        "no answer within {}, before anything was sent",
                        crate::shared::seconds_text(seconds)
                    ),
                },
                e => e,
            })?,
        };
        let mut sets = [(Env::Blue, w.blue), (Env::Green, w.green)];
        sets.sort_by_key(|(env, new)| i64::from(cur.get(*env)) - i64::from(*new));
        let cmd = sets
            .iter()
            .map(|(env, weight)| format!("set weight {} {weight}", self.path(*env)))
            .chain(Env::ALL.map(|env| format!("get weight {}", self.path(env))))
            .collect::<Vec<_>>()
            .join("; ");
        self.seen().after_write = None;
        let answer = self.command(&cmd).await?;
        let lines: Vec<&str> = answer.lines().filter(|l| !l.trim().is_empty()).collect();
        // `set weight` answers nothing when it worked: the first lines are the gets.
        if let Some(line) = lines.first()
            && line
                .split_whitespace()
                .next()
                .and_then(|t| t.parse::<u32>().ok())
                .is_none()
        {
            return Err(self.explain(line, "set weight"));
        }
        let after = self.weights_in(&lines, &answer)?;
        let mut seen = self.seen();
        seen.last = Some(after);
        seen.after_write = Some(after);
        Ok(())
    }
}

/// Counters of one server at one time.
#[derive(Clone, Copy, Debug)]
struct Counters {
    at: Instant,
    total: f64,
    errors: f64,
}

/// HAProxy's `show stat` as a signal source: request and 5xx counters per server turned
/// into rates over a window, and the server's status as health. HAProxy reports no
/// percentiles, so p99 is said to be unavailable.
pub struct HaproxyStats {
    backend: HaproxyBackend,
    window: Duration,
    /// Off when HTTP probes provide health.
    pub provides_health: bool,
    history: Mutex<EnvPair<VecDeque<Counters>>>,
}

impl HaproxyStats {
    pub fn new(backend: HaproxyBackend, window: Duration) -> HaproxyStats {
        HaproxyStats {
            backend,
            window,
            provides_health: true,
            history: Mutex::new(EnvPair::default()),
        }
    }
}

/// `show stat` CSV rows as maps from column name to value.
pub fn parse_stat_csv(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut lines = text.lines();
    let Some(header) = lines.find(|l| l.starts_with("# ")) else {
        return Vec::new();
    };
    let cols: Vec<&str> = header.trim_start_matches("# ").split(',').collect();
    lines
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            cols.iter()
                .map(std::string::ToString::to_string)
                .zip(l.split(',').map(str::to_string))
                .collect()
        })
        .collect()
}

#[async_trait]
impl SignalSource for HaproxyStats {
    fn name(&self) -> String {
        format!("haproxy stats {}", self.backend.s.socket)
    }

    /// Error rate, rps and counts from the stats; no percentiles, so no p99.
    fn provides(&self) -> crate::core::Provided {
        crate::core::Provided {
            health: self.provides_health,
            error_rate: true,
            p99: false,
            rps: true,
            counts: true,
        }
    }

    /// Rates come from two readings of the counters.
    fn needs_warm_up(&self) -> bool {
        true
    }

    async fn poll(&self) -> Result<EnvPair<EnvPoll>, crate::shared::SignalError> {
        let answer = self
            .backend
            .command(&format!("show stat {} 4 -1", self.backend.s.backend))
            .await
            .map_err(|e| e.to_string())?;
        let rows = parse_stat_csv(&answer);
        if rows.is_empty() {
            return Err(format!("show stat answered {:?}", answer.trim()).into());
        }
        let now = Instant::now();
        let mut hist = self
            .history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = EnvPair::<EnvPoll>::default();
        for env in Env::ALL {
            let name = self.backend.s.servers.get(env);
            let Some(row) = rows.iter().find(|r| r.get("svname") == Some(name)) else {
                continue;
            };
            let num = |k: &str| {
                row.get(k)
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            let status = row.get("status").map_or("", String::as_str);
            let health = match status {
                s if s.starts_with("UP") => Health::Up,
                s if s.starts_with("DOWN") || s.starts_with("MAINT") => Health::Down,
                _ => Health::Unknown,
            };
            let h = hist.get_mut(env);
            h.push_back(Counters {
                at: now,
                total: num("stot"),
                errors: num("hrsp_5xx"),
            });
            while h.len() > 2
                && h.front()
                    .is_some_and(|c| now.duration_since(c.at) > self.window)
            {
                h.pop_front();
            }
            let (first, last) = (h.front().copied(), h.back().copied());
            let p = out.get_mut(env);
            p.health = self.provides_health.then(|| HealthSample {
                health,
                up: u32::from(health == Health::Up),
                total: 1,
                latency_ms: None,
                failures: 0,
                detail: format!("{name}: {status} (HAProxy)"),
            });
            match (first, last) {
                (Some(a), Some(b)) if b.at > a.at => {
                    let secs = b.at.duration_since(a.at).as_secs_f64();
                    let (n, e) = ((b.total - a.total).max(0.0), (b.errors - a.errors).max(0.0));
                    p.requests = Some(Reading::Value(n));
                    p.errors = Some(Reading::Value(e));
                    p.rps = Some(Reading::Value(n / secs));
                    p.error_rate = Some(if n > 0.0 {
                        Reading::Value(e / n)
                    } else {
                        Reading::NoData("no requests in the window".into())
                    });
                }
                _ => {
                    let why = "first poll: rates need two".to_string();
                    p.error_rate = Some(Reading::NoData(why.clone()));
                    p.rps = Some(Reading::NoData(why));
                }
            }
            p.p99_ms = Some(Reading::NoData(format!(
                "n/a: HAProxy reports no percentiles (mean response time {} ms)",
                num("rtime")
            )));
        }
        Ok(out)
    }
}

/// (name, weight, status) of a server as discovery reads it.
type Server = (String, u64, String);

/// The servers of each backend of `show stat` rows, in HAProxy's order, with their weights
/// as they take traffic now (0 for a server not UP), and each backend's `balance`.
#[allow(clippy::type_complexity)] // three plain collections, named where they are used
fn servers_of(
    rows: &[std::collections::HashMap<String, String>],
) -> (
    Vec<String>,
    std::collections::HashMap<String, Vec<Server>>,
    std::collections::HashMap<String, String>,
) {
    let mut order: Vec<String> = Vec::new();
    let mut servers: std::collections::HashMap<String, Vec<Server>> = Default::default();
    let mut algos: std::collections::HashMap<String, String> = Default::default();
    for r in rows {
        let (Some(px), Some(sv)) = (r.get("pxname"), r.get("svname")) else {
            continue;
        };
        if sv == "BACKEND" {
            if let Some(a) = r.get("algo").filter(|a| !a.is_empty()) {
                algos.insert(px.clone(), a.clone());
            }
            continue;
        }
        if sv == "FRONTEND" {
            continue;
        }
        let st = r.get("status").cloned().unwrap_or_default();
        // A server in maintenance, down or draining takes no new requests, whatever its
        // weight: its share now is 0.
        let serving = st.is_empty() || st.starts_with("UP") || st == "no check";
        let w = if serving {
            r.get("weight").and_then(|w| w.parse().ok()).unwrap_or(0)
        } else {
            0
        };
        if !servers.contains_key(px) {
            order.push(px.clone());
        }
        servers
            .entry(px.clone())
            .or_default()
            .push((sv.clone(), w, st));
    }
    (order, servers, algos)
}

/// `init --discover`: every HAProxy backend with exactly two servers, from `show stat` on
/// the runtime API at `socket` (read-only), each server with its weight's share and its
/// status when it is not UP; and the backends that are not one, with how many servers.
pub async fn discover(
    socket: &str,
    timeout: Duration,
) -> Result<(Vec<super::discover::Found>, Vec<String>), String> {
    use super::discover::{Found, blue_green, quoted, shares};
    let b = HaproxyBackend::new(HaproxySettings {
        socket: Socket::parse(socket),
        backend: String::new(),
        servers: EnvPair::new(String::new(), String::new()),
        scale: 256,
        timeout,
    });
    let text = b.command("show stat").await.map_err(|e| e.to_string())?;
    let rows = parse_stat_csv(&text);
    if rows.is_empty() {
        return Err(format!(
            "HAProxy runtime API {socket} answered `show stat` with no table: {}",
            crate::core::record::shorten(text.trim())
        ));
    }
    let (order, servers, algos) = servers_of(&rows);
    let mut found = Vec::new();
    let mut notes = Vec::new();
    for px in order {
        let s = &servers[&px];
        // Hashing a client, URI or header to a server: each client sticks to one, so the
        // share of requests is not the weights (as nginx's `hash` and `ip_hash`).
        if let Some(a) = algos.get(&px).filter(|a| {
            [
                "source",
                "uri",
                "url_param",
                "hdr",
                "rdp-cookie",
                "first",
                "hash",
            ]
            .iter()
            .any(|h| a.starts_with(h))
        }) {
            notes.push(format!(
                "backend {px}: `balance {a}` sends each client (or the first servers) the same way, so the share of requests is not the weights; use roundrobin, static-rr, leastconn or random for cutover to set the shares"
            ));
            continue;
        }
        let [a, b] = s.as_slice() else {
            notes.push(format!(
                "backend {px}: {} server{} (cutover moves traffic between two)",
                s.len(),
                if s.len() == 1 { "" } else { "s" }
            ));
            continue;
        };
        let ((blue, (bw, bst)), (green, (gw, gst))) =
            blue_green((&a.0, (a.1, a.2.clone())), (&b.0, (b.1, b.2.clone())));
        let (bs, gs) = shares(bw, gw);
        let state = |st: &str| {
            if st.is_empty() || st.starts_with("UP") || st == "no check" {
                String::new()
            } else {
                format!(", {st}")
            }
        };
        found.push(Found {
            what: format!(
                "backend {px}: {blue} ({bs}{}) / {green} ({gs}{})",
                state(&bst),
                state(&gst)
            ),
            name: px.clone(),
            keys: vec![
                ("socket", quoted(socket)),
                ("backend", quoted(&px)),
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

    #[test]
    fn socket_parse_table() {
        assert_eq!(
            Socket::parse("127.0.0.1:9999"),
            Socket::Tcp("127.0.0.1:9999".into())
        );
        assert_eq!(
            Socket::parse("ipv4@127.0.0.1:9999"),
            Socket::Tcp("127.0.0.1:9999".into())
        );
        assert_eq!(
            Socket::parse("/run/haproxy/admin.sock"),
            Socket::Unix("/run/haproxy/admin.sock".into())
        );
    }

    #[test]
    fn stat_csv_by_header_name() {
        let text = "# pxname,svname,qcur,stot,hrsp_5xx,status\napp,blue,0,120,3,UP\napp,green,0,7,0,MAINT\n\n";
        let rows = parse_stat_csv(text);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["svname"], "blue");
        assert_eq!(rows[0]["stot"], "120");
        assert_eq!(rows[1]["status"], "MAINT");
    }

    /// A runtime API peer that streams without end: an error, read bounded.
    #[tokio::test]
    async fn an_endless_answer_is_cut_not_read() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            if let Ok((mut s, _)) = l.accept().await {
                let line = vec![b'x'; 64 * 1024];
                for _ in 0..200 {
                    if s.write_all(&line).await.is_err() {
                        break;
                    }
                }
            }
        });
        let b = HaproxyBackend::new(HaproxySettings {
            socket: Socket::Tcp(addr.to_string()),
            backend: "app".into(),
            servers: EnvPair::new("blue".into(), "green".into()),
            scale: 100,
            timeout: Duration::from_secs(5),
        });
        let e = b.read().await.unwrap_err().to_string();
        assert!(e.contains("answer over 4 MB: not read"), "{e}");
    }

    /// A weight HAProxy cannot hold (its range is 0 to 256) is not its answer: an error
    /// quoting it, never a weight on screen; a 1 MB line is quoted short.
    #[tokio::test]
    async fn a_weight_out_of_haproxys_range_is_not_a_weight() {
        use tokio::io::AsyncReadExt;
        for (answer, said) in [
            (
                "4294967295 (initial 1)\n1 (initial 1)\n\n".to_string(),
                "4294967295",
            ),
            (format!("{}\n\n", "Z".repeat(1 << 20)), "ZZZ"),
        ] {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let reply = answer.clone();
            tokio::spawn(async move {
                if let Ok((mut s, _)) = l.accept().await {
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf).await;
                    let _ = s.write_all(reply.as_bytes()).await;
                }
            });
            let b = HaproxyBackend::new(HaproxySettings {
                socket: Socket::Tcp(addr.to_string()),
                backend: "app".into(),
                servers: EnvPair::new("blue".into(), "green".into()),
                scale: 100,
                timeout: Duration::from_secs(5),
            });
            let e = b.read().await.unwrap_err().to_string();
            assert!(
                e.contains(said) && e.len() < 600,
                "{}",
                &e[..e.len().min(300)]
            );
        }
    }
}
