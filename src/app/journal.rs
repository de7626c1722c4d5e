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
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .or_else(user_from_passwd)
            .unwrap_or_else(|| "unknown".into());
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        let from = std::env::var("SSH_CONNECTION")
            .ok()
            .and_then(|s| s.split_whitespace().next().map(str::to_string));
        // From the environment: one printable line (a `USER` with a line break would forge
        // a line of the journal's text).
        Who {
            user: crate::shared::flat(&format!("{user}@{host}")),
            from: from.map(|f| crate::shared::flat(&f)),
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
    /// Signals that were no number, and why (`rps invalid: negative (-5)`): a value left
    /// out is said as what it was, not taken for stale.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invalid: Vec<String>,
}

/// The signals of `s` that read invalid, each as `name invalid: why`.
pub fn invalid_notes(s: &crate::core::EnvSignals) -> Vec<String> {
    [
        ("errors", &s.error_rate),
        ("p99", &s.p99_ms),
        ("rps", &s.rps),
    ]
    .into_iter()
    .filter_map(|(name, series)| series.invalid().map(|why| format!("{name} invalid: {why}")))
    .collect()
}

/// A journal word as an enum: written and shown as its word (`as_str`), read back from any
/// word (`From<&str>`, unknown words kept), so old and new journals read alike.
macro_rules! word_enum {
    ($t:ty) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
                let word = String::deserialize(d)?;
                Ok(<$t>::from(word.as_str()))
            }
        }
    };
}

/// What a journal line records: a write's `intent` and how it ended, or a note about
/// something that is not a write. Written as the kebab-case word of each variant; a word
/// this version does not know (a newer cutover's) is kept as [`Phase::Other`], so that no
/// line becomes unreadable.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Before the backend call, fsynced.
    Intent,
    /// The call succeeded; `verified` says whether the read-back agreed.
    Result,
    Failed,
    /// Sent, not answered: it may still land.
    Unknown,
    /// Not sent.
    Refused,
    /// Cancelled before it finished, because a rollback pre-empted it.
    Aborted,
    /// A change made behind cutover's back.
    External,
    /// A write whose outcome was unknown seen landing.
    Late,
    /// The rollback window ran out: the candidate is live.
    Complete,
    /// Notes: the driver lease taken over, the pre-flight overridden, an auto-rollback
    /// cancelled, the window extended or held, completed anyway, quit with a write in flight.
    TakeOver,
    PreflightOverride,
    AutoRollbackCancelled,
    WindowExtended,
    WindowHeld,
    CompleteOverride,
    QuitInFlight,
    /// A guardrail of the candidate started breaching / stopped breaching.
    Breach,
    BreachCleared,
    /// A forward move confirmed over a breach, stale data or a candidate nothing judged.
    Override,
    /// The schema guard's verdict on a rollback changed (safe, unsafe, unknown): why.
    RollbackSafety,
    /// An auto-rollback that did not write: the schema made the rollback unsafe, and a
    /// human decides.
    AutoRollbackHeld,
    /// A second person (`[approval]`): a request asked, approved (journaled with the write
    /// it let through), declined, expired unanswered, withdrawn by who asked.
    ApprovalAsked,
    Approved,
    Declined,
    ApprovalExpired,
    ApprovalWithdrawn,
    /// A word this version does not know, kept as written.
    Other(String),
}

impl Phase {
    /// Every phase this version writes.
    pub const KNOWN: [Phase; 26] = [
        Phase::Intent,
        Phase::Result,
        Phase::Failed,
        Phase::Unknown,
        Phase::Refused,
        Phase::Aborted,
        Phase::External,
        Phase::Late,
        Phase::Complete,
        Phase::TakeOver,
        Phase::PreflightOverride,
        Phase::AutoRollbackCancelled,
        Phase::WindowExtended,
        Phase::WindowHeld,
        Phase::CompleteOverride,
        Phase::QuitInFlight,
        Phase::Breach,
        Phase::BreachCleared,
        Phase::Override,
        Phase::RollbackSafety,
        Phase::AutoRollbackHeld,
        Phase::ApprovalAsked,
        Phase::Approved,
        Phase::Declined,
        Phase::ApprovalExpired,
        Phase::ApprovalWithdrawn,
    ];

    /// The word written to the journal.
    pub fn as_str(&self) -> &str {
        match self {
            Phase::Intent => "intent",
            Phase::Result => "result",
            Phase::Failed => "failed",
            Phase::Unknown => "unknown",
            Phase::Refused => "refused",
            Phase::Aborted => "aborted",
            Phase::External => "external",
            Phase::Late => "late",
            Phase::Complete => "complete",
            Phase::TakeOver => "take-over",
            Phase::PreflightOverride => "preflight-override",
            Phase::AutoRollbackCancelled => "auto-rollback-cancelled",
            Phase::WindowExtended => "window-extended",
            Phase::WindowHeld => "window-held",
            Phase::CompleteOverride => "complete-override",
            Phase::QuitInFlight => "quit-in-flight",
            Phase::Breach => "breach",
            Phase::BreachCleared => "breach-cleared",
            Phase::Override => "override",
            Phase::RollbackSafety => "rollback-safety",
            Phase::AutoRollbackHeld => "auto-rollback-held",
            Phase::ApprovalAsked => "approval-asked",
            Phase::Approved => "approved",
            Phase::Declined => "declined",
            Phase::ApprovalExpired => "approval-expired",
            Phase::ApprovalWithdrawn => "approval-withdrawn",
            Phase::Other(s) => s,
        }
    }

    /// A known phase by its word.
    fn known(word: &str) -> Option<Phase> {
        Phase::KNOWN.into_iter().find(|p| p.as_str() == word)
    }

    /// How a write ended: a result, a failure, an unknown outcome, a refusal or a
    /// cancellation (not an intent, not a note).
    pub fn is_outcome(&self) -> bool {
        matches!(
            self,
            Phase::Result | Phase::Failed | Phase::Unknown | Phase::Refused | Phase::Aborted
        )
    }
}

impl From<&str> for Phase {
    fn from(word: &str) -> Phase {
        Phase::known(word).unwrap_or_else(|| Phase::Other(word.to_string()))
    }
}

word_enum!(Phase);

/// What a journal line is about: the write's action, or, for a line that records no write
/// (a note, the end of the window, an external change), the note itself, written as its
/// phase's word. A word this version does not know is kept as [`WriteAction::Other`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum WriteAction {
    /// One step forward of the plan.
    Step,
    /// One step back.
    Back,
    /// A jump to a chosen share.
    Set,
    /// A move to 100 %.
    Promote,
    /// The operator's rollback (a key, the CLI).
    Rollback,
    /// The rollback cutover made on its own, on a breach.
    AutoRollback,
    /// Going back after the window closed: a new cutover the other way.
    Revert,
    /// Not a write: a line noting `phase`.
    Note(Phase),
    /// A word this version does not know, kept as written.
    Other(String),
}

impl WriteAction {
    /// Every write action this version orders.
    pub const WRITES: [WriteAction; 7] = [
        WriteAction::Step,
        WriteAction::Back,
        WriteAction::Set,
        WriteAction::Promote,
        WriteAction::Rollback,
        WriteAction::AutoRollback,
        WriteAction::Revert,
    ];

    /// The word written to the journal and the cutover record.
    pub fn as_str(&self) -> &str {
        match self {
            WriteAction::Step => "step",
            WriteAction::Back => "back",
            WriteAction::Set => "set",
            WriteAction::Promote => "promote",
            WriteAction::Rollback => "rollback",
            WriteAction::AutoRollback => "auto-rollback",
            WriteAction::Revert => "revert",
            WriteAction::Note(p) => p.as_str(),
            WriteAction::Other(s) => s,
        }
    }

    /// A rollback, the operator's or cutover's own. A word this version does not know
    /// counts when it names one (`…rollback…`), as every version before the enum read it.
    pub fn is_rollback(&self) -> bool {
        match self {
            WriteAction::Rollback | WriteAction::AutoRollback => true,
            WriteAction::Other(s) => s.contains("rollback"),
            _ => false,
        }
    }
}

impl From<&str> for WriteAction {
    fn from(word: &str) -> WriteAction {
        if let Some(a) = WriteAction::WRITES.into_iter().find(|a| a.as_str() == word) {
            return a;
        }
        match Phase::known(word) {
            Some(p) => WriteAction::Note(p),
            None => WriteAction::Other(word.to_string()),
        }
    }
}

word_enum!(WriteAction);

/// One journal line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub ts: String,
    /// `intent` (before the call, fsynced), `result`, `failed`, `unknown` (sent, not
    /// answered: may still land), `refused` (not sent), `aborted`, `external`, `late` (an
    /// unknown write seen landing), `complete`, and notes such as `take-over`.
    pub phase: Phase,
    pub write: String,
    pub who: Who,
    /// `tui` or `cli`.
    pub source: String,
    /// The write's action; a line that is no write repeats its phase here.
    pub action: WriteAction,
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

/// What reading a journal found: the entries kept, and how many lines could not be read.
#[derive(Debug, Default)]
pub struct JournalRead {
    pub entries: Vec<Entry>,
    pub skipped: usize,
}

/// A journal over this size is rotated when it is opened: renamed with the time beside it
/// (never deleted), and a new one begun, so no reading grows with the journal's age.
pub const ROTATE_AT: u64 = 64 * 1024 * 1024;

/// An append-only JSON-lines file.
pub struct Journal {
    path: PathBuf,
    /// `None`: the journal could not be opened; every append fails and says so.
    file: Mutex<Option<File>>,
}

impl Journal {
    pub fn open(path: &Path) -> std::io::Result<Journal> {
        Journal::open_rotating(path, ROTATE_AT)
    }

    /// [`Journal::open`], rotating a journal over `rotate_at` bytes first.
    pub fn open_rotating(path: &Path, rotate_at: u64) -> std::io::Result<Journal> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        // A device is appended to (a write to /dev/full fails as a full disk does), never
        // read; only a regular file is rotated.
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() && m.len() > rotate_at => {
                let stamp = timestamp().replace(':', "-");
                let mut old = path.as_os_str().to_owned();
                old.push(format!(".{stamp}"));
                std::fs::rename(path, &old)?;
            }
            _ => {}
        }
        let file = open_append(path)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file: Mutex::new(Some(file)),
        })
    }

    /// Whether a journal at `path` could be appended to, changing nothing (no rotation, no
    /// file created): for `check`. `Ok(None)`: a regular file or a folder it can be made
    /// in; `Ok(Some(why))`: it can be opened but a write there is untested (a device).
    pub fn probe(path: &Path) -> std::io::Result<Option<String>> {
        use std::os::unix::fs::FileTypeExt;
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => {
                OpenOptions::new().append(true).open(path)?;
                Ok(None)
            }
            Ok(m) if m.file_type().is_char_device() || m.file_type().is_block_device() => Ok(Some(
                "a device, not a file: whether a line can be written there is untested".into(),
            )),
            Ok(_) => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file (a directory, FIFO or socket)",
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // The first line creates it: its folder (or the nearest that exists) must
                // take a new file.
                let mut dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                while !dir.as_os_str().is_empty() && !dir.exists() {
                    dir = dir.parent().map(Path::to_path_buf).unwrap_or_default();
                }
                let dir = if dir.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    dir
                };
                tempfile_in(&dir)?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
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
        self.append_unsynced(entry)?.sync_data()
    }

    /// Appends one line without waiting for the disk: the line is in the kernel (it
    /// survives this process dying, not a power cut) until the returned handle's
    /// `sync_data` returns. A rollback's lines go this way, the fsync running beside the
    /// backend call: the rollback goes out whatever the journal says, so nothing is gained
    /// by waiting for the disk before it.
    pub fn append_unsynced(&self, entry: &Entry) -> std::io::Result<File> {
        let mut line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
        line.push('\n');
        let mut guard = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Another cockpit rotated the journal (or someone removed it) since it was opened:
        // the line goes to the file the path names now, not into the renamed one.
        if guard.as_ref().is_some_and(|f| moved_away(&self.path, f))
            && let Ok(now) = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
        {
            *guard = Some(now);
        }
        let f = guard
            .as_ref()
            .ok_or_else(|| std::io::Error::other("the journal could not be opened"))?;
        // A line torn by a crash (another process's, or this one's) is ended first, so this
        // line is never glued onto it and lost with it.
        if !ends_with_newline(f) {
            line.insert(0, '\n');
        }
        (&*f).write_all(line.as_bytes())?;
        f.try_clone()
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
        let last = entries.iter().rposition(|e| e.phase == Phase::Intent)?;
        let open = &entries[last];
        let ended = entries[last + 1..]
            .iter()
            .any(|e| e.write == open.write && e.phase != Phase::Intent);
        (!ended).then(|| open.clone())
    }

    /// Reads every entry of a journal file (lines that do not parse are skipped).
    pub fn read_all(path: &Path) -> std::io::Result<Vec<Entry>> {
        Ok(Journal::read(path, |_| true)?.entries)
    }

    /// Reads the entries of a journal file that `keep` keeps, a line at a time (memory
    /// grows with what is kept, not with the file). A line that is not UTF-8 or not an
    /// entry (a torn write, a damaged disk block) is skipped and counted, never the end of
    /// the reading.
    pub fn read(path: &Path, keep: impl Fn(&Entry) -> bool) -> std::io::Result<JournalRead> {
        let mut out = JournalRead::default();
        out.skipped = Journal::scan(path, |e| {
            if keep(&e) {
                out.entries.push(e);
            }
        })?;
        Ok(out)
    }

    /// Hands each entry of a journal file to `each`, in order, a line at a time: nothing
    /// is kept (a timeline of a long history streams). Returns how many lines were not
    /// entries (not UTF-8, torn, over 1 MB), skipped.
    pub fn scan(path: &Path, mut each: impl FnMut(Entry)) -> std::io::Result<usize> {
        use std::io::{BufRead, Read};
        let meta = std::fs::metadata(path)?;
        if !meta.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let mut r = std::io::BufReader::new(File::open(path)?);
        let mut skipped = 0;
        let mut line = Vec::new();
        loop {
            line.clear();
            // At most LINE_MAX bytes of a line are kept: a longer one is no entry cutover
            // wrote; the rest of it is passed over unread into memory, and it is counted.
            let n = (&mut r).take(LINE_MAX + 1).read_until(b'\n', &mut line)?;
            if n == 0 {
                break;
            }
            if line.len() as u64 > LINE_MAX && line.last() != Some(&b'\n') {
                skip_line(&mut r)?;
                skipped += 1;
                continue;
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            match serde_json::from_str::<Entry>(text) {
                Ok(e) => each(e),
                Err(_) => skipped += 1,
            }
        }
        Ok(skipped)
    }
}

pub use crate::shared::timestamp;

/// The longest journal line read: an entry cutover writes is under 10 KB.
const LINE_MAX: u64 = 1024 * 1024;

/// Reads past the rest of a line without keeping it.
fn skip_line(r: &mut impl std::io::BufRead) -> std::io::Result<()> {
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|b| *b == b'\n') {
            Some(i) => {
                r.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                r.consume(n);
            }
        }
    }
}

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

/// Creates and removes a file in `dir`: proof that a journal can be begun there.
fn tempfile_in(dir: &Path) -> std::io::Result<()> {
    let p = dir.join(format!(".cutover-check-{}", std::process::id()));
    OpenOptions::new().write(true).create_new(true).open(&p)?;
    std::fs::remove_file(&p)
}

/// Opens the journal for appending without ever blocking: a FIFO with no reader is an
/// error at once (a rollback goes on without its journal and says so), not a hang; a
/// directory or socket is refused. A regular file or a device (`/dev/full`) is taken.
fn open_append(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    if let Ok(m) = std::fs::metadata(path) {
        let t = m.file_type();
        if t.is_dir() || t.is_fifo() || t.is_socket() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file (a directory, FIFO or socket)",
            ));
        }
    }
    // Readable too: an append first looks at the last byte (a torn line is ended first).
    OpenOptions::new()
        .read(true)
        .create(true)
        .append(true)
        .custom_flags(crate::shared::O_NONBLOCK)
        .open(path)
}

/// Whether a regular file is empty or ends with a line break (devices: taken as yes).
fn ends_with_newline(f: &File) -> bool {
    use std::os::unix::fs::FileExt;
    let Ok(m) = f.metadata() else {
        return true;
    };
    if !m.is_file() || m.len() == 0 {
        return true;
    }
    let mut last = [0u8; 1];
    f.read_at(&mut last, m.len() - 1)
        .map_or(true, |_| last[0] == b'\n')
}

/// Whether `path` no longer names the regular file `f` is open on: renamed by a rotation
/// elsewhere, or removed. A device (`/dev/full`) is never "moved".
fn moved_away(path: &Path, f: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(open) = f.metadata() else {
        return false;
    };
    if !open.is_file() {
        return false;
    }
    match std::fs::metadata(path) {
        Ok(named) => named.is_file() && (named.dev(), named.ino()) != (open.dev(), open.ino()),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as cutover wrote them before phases and actions were enums: a step's intent
    /// and result, a rollback refused its record, an external change, the window's end, a
    /// note, and one from a newer cutover with words this version does not know.
    const OLD_LINES: [&str; 6] = [
        r#"{"ts":"2026-11-23T14:00:01.123Z","phase":"intent","write":"4242-1","who":{"user":"alice@bastion","from":"10.0.0.5"},"source":"tui","action":"step","backend":"haproxy 127.0.0.1:9999 backend app","live":"blue","share_before":0,"share_target":10,"before":{"blue":100,"green":0},"target":{"blue":90,"green":10},"after":null,"share_after":null,"verified":null,"elapsed_ms":null,"error":null,"candidate":{"env":"green","health":"up","error_rate":0.001,"p99_ms":120.0,"rps":50.0,"stale":false}}"#,
        r#"{"ts":"2026-11-23T14:00:01.456Z","phase":"result","write":"4242-1","who":{"user":"alice@bastion","from":"10.0.0.5"},"source":"tui","action":"step","backend":"haproxy 127.0.0.1:9999 backend app","live":"blue","share_before":0,"share_target":10,"before":{"blue":100,"green":0},"target":{"blue":90,"green":10},"after":{"blue":90,"green":10},"share_after":10,"verified":true,"elapsed_ms":42,"error":null,"candidate":{"env":"green","health":"up","error_rate":0.001,"p99_ms":120.0,"rps":50.0,"stale":false}}"#,
        r#"{"ts":"2026-11-23T14:05:00.000Z","phase":"failed","write":"77-2","who":{"user":"bob@h"},"source":"cli","action":"auto-rollback","backend":"sim local","live":"blue","share_before":50,"share_target":0,"before":null,"target":{"blue":100,"green":0},"after":null,"share_after":null,"verified":false,"elapsed_ms":7,"error":"HTTP 500","reason":"error-rate = 0.05 (limit 0.01)","driver":"alice@bastion","candidate":{"env":null,"health":null,"error_rate":null,"p99_ms":null,"rps":null,"stale":false}}"#,
        r#"{"ts":"2026-11-23T14:06:00.000Z","phase":"external","write":"4242-0","who":{"user":"alice@bastion"},"source":"backend","action":"external","backend":"sim local","live":"blue","share_before":null,"share_target":null,"before":{"blue":50,"green":50},"target":null,"after":{"blue":70,"green":30},"share_after":30,"verified":null,"elapsed_ms":null,"error":null,"candidate":{"env":"green","health":"down","error_rate":null,"p99_ms":null,"rps":null,"stale":true}}"#,
        r#"{"ts":"2026-11-23T14:07:00.000Z","phase":"auto-rollback-cancelled","write":"4242-0","who":{"user":"alice@bastion"},"source":"tui","action":"auto-rollback-cancelled","backend":"sim local","live":"blue","share_before":50,"share_target":null,"before":{"blue":50,"green":50},"target":null,"after":{"blue":50,"green":50},"share_after":50,"verified":null,"elapsed_ms":null,"error":null,"reason":"auto-rollback cancelled by alice@bastion with 12 s left","candidate":{"env":"green","health":"up","error_rate":0.05,"p99_ms":null,"rps":50.0,"stale":false}}"#,
        r#"{"ts":"2026-11-23T14:08:00.000Z","phase":"window-paused","write":"4242-9","who":{"user":"carol@h"},"source":"tui","action":"nudge-rollback","backend":"sim local","live":"green","share_before":null,"share_target":null,"before":null,"target":null,"after":null,"share_after":null,"verified":null,"elapsed_ms":null,"error":null,"candidate":{"env":null,"health":null,"error_rate":null,"p99_ms":null,"rps":null,"stale":false}}"#,
    ];

    #[test]
    fn old_lines_read_and_write_back_byte_for_byte() {
        for line in OLD_LINES {
            let e: Entry = serde_json::from_str(line).expect(line);
            assert_eq!(serde_json::to_string(&e).unwrap(), line);
        }
        let read = |i: usize| serde_json::from_str::<Entry>(OLD_LINES[i]).unwrap();
        assert_eq!(
            (read(0).phase, read(0).action),
            (Phase::Intent, WriteAction::Step)
        );
        assert_eq!(
            (read(2).phase, read(2).action),
            (Phase::Failed, WriteAction::AutoRollback)
        );
        assert_eq!(
            (read(3).phase, read(3).action),
            (Phase::External, WriteAction::Note(Phase::External))
        );
        assert_eq!(
            read(4).action,
            WriteAction::Note(Phase::AutoRollbackCancelled)
        );
        // A newer cutover's words are kept, never a reason to drop the line.
        let newer = read(5);
        assert_eq!(newer.phase, Phase::Other("window-paused".into()));
        assert_eq!(newer.action, WriteAction::Other("nudge-rollback".into()));
    }

    #[test]
    fn every_word_reads_back_as_itself() {
        for p in Phase::KNOWN {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{p}\""));
            assert_eq!(serde_json::from_str::<Phase>(&json).unwrap(), p);
            assert!(!matches!(Phase::from(p.as_str()), Phase::Other(_)));
        }
        for a in WriteAction::WRITES {
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(json, format!("\"{a}\""));
            assert_eq!(serde_json::from_str::<WriteAction>(&json).unwrap(), a);
        }
        // A note's action is its phase's word; a phase is never read as a write.
        assert_eq!(WriteAction::from("late"), WriteAction::Note(Phase::Late));
        assert_eq!(WriteAction::Note(Phase::TakeOver).as_str(), "take-over");
        assert_eq!(
            Phase::KNOWN.iter().map(Phase::as_str).collect::<Vec<_>>(),
            [
                "intent",
                "result",
                "failed",
                "unknown",
                "refused",
                "aborted",
                "external",
                "late",
                "complete",
                "take-over",
                "preflight-override",
                "auto-rollback-cancelled",
                "window-extended",
                "window-held",
                "complete-override",
                "quit-in-flight",
                "breach",
                "breach-cleared",
                "override",
                "rollback-safety",
                "auto-rollback-held",
                "approval-asked",
                "approved",
                "declined",
                "approval-expired",
                "approval-withdrawn",
            ]
        );
    }

    #[test]
    fn rollbacks_are_the_two_rollbacks_and_any_unknown_word_naming_one() {
        let rollbacks: Vec<_> = WriteAction::WRITES
            .into_iter()
            .filter(WriteAction::is_rollback)
            .collect();
        assert_eq!(
            rollbacks,
            [WriteAction::Rollback, WriteAction::AutoRollback]
        );
        assert!(WriteAction::from("nudge-rollback").is_rollback());
        assert!(!WriteAction::from("auto-rollback-cancelled").is_rollback());
        assert!(!WriteAction::from("pause").is_rollback());
    }

    #[test]
    fn a_big_journal_is_rotated_never_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        std::fs::write(&path, OLD_LINES.join("\n") + "\n").unwrap();
        let j = Journal::open_rotating(&path, 100).unwrap();
        let e: Entry = serde_json::from_str(OLD_LINES[0]).unwrap();
        j.append(&e).unwrap();
        assert_eq!(Journal::read_all(&path).unwrap().len(), 1, "a new journal");
        let old: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p != &path)
            .collect();
        assert_eq!(old.len(), 1, "{old:?}");
        assert_eq!(Journal::read_all(&old[0]).unwrap().len(), OLD_LINES.len());
    }

    /// Two cockpits share a journal; one rotates it at start while the other holds the old
    /// file open: the other's next line lands in the journal the path names, not in the
    /// renamed file. A removed journal is recreated by the next line.
    #[test]
    fn a_journal_rotated_by_another_process_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        std::fs::write(&path, OLD_LINES.join("\n") + "\n").unwrap();
        let e: Entry = serde_json::from_str(OLD_LINES[0]).unwrap();
        let first = Journal::open_rotating(&path, u64::MAX).unwrap();
        let second = Journal::open_rotating(&path, 100).unwrap();
        second.append(&e).unwrap();
        first.append(&e).unwrap();
        assert_eq!(
            Journal::read_all(&path).unwrap().len(),
            2,
            "both lines in the current journal"
        );
        std::fs::remove_file(&path).unwrap();
        first.append(&e).unwrap();
        assert_eq!(Journal::read_all(&path).unwrap().len(), 1, "recreated");
    }

    /// A FIFO (or a directory) as the journal is refused at once, never a hang; a line torn
    /// by a crash does not swallow the next one.
    #[test]
    fn a_fifo_is_refused_and_a_torn_line_is_ended_first() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let e = Journal::open(&fifo).err().expect("a FIFO is refused");
            assert!(e.to_string().contains("not a regular file"), "{e}");
        }
        assert!(Journal::open(dir.path()).is_err(), "a directory is refused");
        let path = dir.path().join("j.jsonl");
        std::fs::write(&path, format!("{}\n{{\"ts\":\"2026-", OLD_LINES[0])).unwrap();
        let j = Journal::open(&path).unwrap();
        let e: Entry = serde_json::from_str(OLD_LINES[1]).unwrap();
        j.append(&e).unwrap();
        let read = Journal::read(&path, |_| true).unwrap();
        assert_eq!(read.entries.len(), 2, "the torn line alone is lost");
        assert_eq!(read.skipped, 1);
    }

    /// A line over a megabyte is no entry: passed over, counted, and the lines after it
    /// still read.
    #[test]
    fn a_huge_line_is_skipped_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let huge = "x".repeat(3 * 1024 * 1024);
        std::fs::write(
            &path,
            format!("{}\n{huge}\n{}\n", OLD_LINES[0], OLD_LINES[1]),
        )
        .unwrap();
        let read = Journal::read(&path, |_| true).unwrap();
        assert_eq!((read.entries.len(), read.skipped), (2, 1));
    }
}
