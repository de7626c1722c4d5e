//! The journal: every write appended as JSON lines, once before the backend call and once
//! after, so a crash between the two is visible.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::core::{Env, Weights};

/// Who is at the keys: `$USER@host`, and the SSH client's address when there is one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Who {
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

impl Who {
    pub fn current() -> Who {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .ok()
            .filter(|u| !u.is_empty())
            .or_else(user_from_passwd)
            .unwrap_or_else(|| "unknown".into());
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        let from = std::env::var("SSH_CONNECTION")
            .ok()
            .and_then(|s| s.split_whitespace().next().map(str::to_string));
        Who {
            user: format!("{user}@{host}"),
            from,
        }
    }
}

/// The login name of this process's uid, from `/etc/passwd`.
fn user_from_passwd() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
    })
}

/// The candidate's signals at the moment of a decision; `None` is unknown, never 0.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CandidateSnapshot {
    pub env: Option<Env>,
    pub health: Option<String>,
    pub error_rate: Option<f64>,
    pub p99_ms: Option<f64>,
    pub rps: Option<f64>,
    pub stale: bool,
}

/// One journal line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub ts: String,
    /// `intent` (before the call, fsynced), `result`, `failed`, `unknown` (sent, not
    /// answered: may still land), `refused` (not sent), `aborted`, `external`, `late` (an
    /// unknown write seen landing), `complete`, and notes such as `take-over`.
    pub phase: String,
    pub write: String,
    pub who: Who,
    /// `tui` or `cli`.
    pub source: String,
    pub action: String,
    pub backend: String,
    pub live: Env,
    pub share_before: Option<u8>,
    pub share_target: Option<u8>,
    pub before: Option<Weights>,
    pub target: Option<Weights>,
    pub after: Option<Weights>,
    pub share_after: Option<u8>,
    pub verified: Option<bool>,
    pub elapsed_ms: Option<u64>,
    pub error: Option<String>,
    /// Why cutover acted on its own (auto-rollback), or why an operator overrode it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who drove (held the lease) when someone else wrote: an observer's or the CLI's
    /// rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    pub candidate: CandidateSnapshot,
}

/// An append-only JSON-lines file.
pub struct Journal {
    path: PathBuf,
    /// `None`: the journal could not be opened; every append fails and says so.
    file: Mutex<Option<File>>,
}

impl Journal {
    pub fn open(path: &Path) -> std::io::Result<Journal> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file: Mutex::new(Some(file)),
        })
    }

    /// A journal that could not be opened: a rollback still runs with it, and every
    /// append says the line was not written.
    pub fn unwritable() -> Journal {
        Journal {
            path: PathBuf::from("(no journal)"),
            file: Mutex::new(None),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line and fsyncs it: once this returns, the line survives a crash.
    pub fn append(&self, entry: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
        line.push('\n');
        let f = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let f = f
            .as_ref()
            .ok_or_else(|| std::io::Error::other("the journal could not be opened"))?;
        (&*f).write_all(line.as_bytes())?;
        f.sync_data()
    }

    /// The newest write that was begun (`intent`) and never ended in this journal: a crash
    /// or a kill mid-write. Reads only the journal's last 256 KiB.
    pub fn pending(&self) -> Option<Entry> {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = File::open(&self.path).ok()?;
        if !f.metadata().ok()?.is_file() {
            return None;
        }
        let len = f.metadata().ok()?.len();
        f.seek(SeekFrom::Start(len.saturating_sub(256 * 1024)))
            .ok()?;
        let mut bytes = Vec::new();
        f.take(256 * 1024).read_to_end(&mut bytes).ok()?;
        let text = String::from_utf8_lossy(&bytes);
        let entries: Vec<Entry> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let last = entries.iter().rposition(|e| e.phase == "intent")?;
        let open = &entries[last];
        let ended = entries[last + 1..]
            .iter()
            .any(|e| e.write == open.write && e.phase != "intent");
        (!ended).then(|| open.clone())
    }

    /// Reads every entry of a journal file (lines that do not parse are skipped).
    pub fn read_all(path: &Path) -> std::io::Result<Vec<Entry>> {
        let text = std::fs::read_to_string(path)?;
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
}

pub use crate::shared::timestamp;

/// The default journal path for a cutover named `name`: under `$XDG_STATE_HOME/cutover`
/// (or `~/.local/state/cutover`), else the current directory.
pub fn default_path(name: &str) -> PathBuf {
    let file = format!("{}.journal.jsonl", sanitize(name));
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")));
    match base {
        Some(b) => b.join("cutover").join(file),
        None => PathBuf::from(file),
    }
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
