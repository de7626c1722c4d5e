//! The driver lease and the cutover record kept in files beside what the backend edits (the
//! nginx config, the HAProxy instance), each swapped under an advisory file lock so two
//! cutovers on one machine cannot both win, and fsynced before the swap says done.

use super::{BackendError, Slot};
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

/// The longest a swap waits for another process's lock on a slot file.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Longest text a slot file may hold: anything longer is not ours.
const MAX_TEXT: u64 = 4096;

#[derive(Clone, Debug, PartialEq)]
pub struct FileStore {
    /// The path both files start with; `.cutover-lease` and `.cutover-record` follow it.
    pub base: PathBuf,
    /// The file whose owner may also write the store and whose mode new files take (the
    /// nginx config, the HAProxy unix socket): whoever can change traffic there can change
    /// the record, and nobody else.
    pub reference: Option<PathBuf>,
}

impl FileStore {
    pub fn new(base: PathBuf) -> FileStore {
        FileStore {
            base,
            reference: None,
        }
    }

    pub fn with_reference(base: PathBuf, reference: PathBuf) -> FileStore {
        FileStore {
            base,
            reference: Some(reference),
        }
    }

    /// Refuses a file that anyone could have written: a symlink, a file writable by
    /// everyone, or one owned by someone other than this user, root or the reference's
    /// owner. The record decides where a rollback goes: it must come from someone who can
    /// change the traffic anyway.
    fn trust(&self, slot: Slot) -> Result<(), BackendError> {
        use std::os::unix::fs::MetadataExt;
        let path = self.path(slot);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(self.err(slot, e)),
        };
        let untrusted = |why: String| BackendError::Rejected {
            target: path.display().to_string(),
            message: format!("not trusted: {why}"),
        };
        if meta.file_type().is_symlink() {
            return Err(untrusted("it is a symlink".into()));
        }
        // A FIFO would block the open (and the process's exit, waiting on that thread).
        if !meta.is_file() {
            return Err(untrusted(
                "not a regular file (a directory, FIFO, socket or device)".into(),
            ));
        }
        if meta.mode() & 0o002 != 0 {
            return Err(untrusted(format!(
                "anyone may write it (mode {:o}); `chmod o-w` it if its content is right",
                meta.mode() & 0o777
            )));
        }
        let me = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
        let owner_of_ref = self
            .reference
            .as_ref()
            .and_then(|r| std::fs::metadata(r).ok())
            .map(|m| m.uid());
        let owner = meta.uid();
        if owner != 0 && Some(owner) != me && Some(owner) != owner_of_ref {
            return Err(untrusted(format!(
                "it belongs to uid {owner}, not to this user, root or the owner of {}",
                self.reference
                    .as_ref()
                    .map_or_else(|| "the backend".to_string(), |r| r.display().to_string())
            )));
        }
        Ok(())
    }

    /// The mode a new file takes: the reference's read and write bits, never
    /// world-writable; 0644 without a reference.
    fn new_mode(&self) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        self.reference
            .as_ref()
            .and_then(|r| std::fs::metadata(r).ok())
            .map_or(0o644, |m| m.permissions().mode() & 0o664)
    }

    pub fn path(&self, slot: Slot) -> PathBuf {
        let mut p = self.base.clone().into_os_string();
        p.push(format!(".cutover-{}", slot.name()));
        PathBuf::from(p)
    }

    fn err(&self, slot: Slot, e: std::io::Error) -> BackendError {
        let what = match slot {
            Slot::Lease => "the driver lease file",
            Slot::Record => "the cutover record file",
        };
        BackendError::Rejected {
            target: self.path(slot).display().to_string(),
            message: format!("{what}: {e}"),
        }
    }

    fn read_sync(&self, slot: Slot) -> Result<Option<String>, BackendError> {
        self.trust(slot)?;
        let path = self.path(slot);
        let f = match OpenOptions::new()
            .read(true)
            .custom_flags(crate::shared::O_NONBLOCK)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.err(slot, e)),
        };
        let mut text = String::new();
        f.take(MAX_TEXT)
            .read_to_string(&mut text)
            .map_err(|e| self.err(slot, e))?;
        let t = text.trim();
        Ok((!t.is_empty()).then(|| t.to_string()))
    }

    fn swap_sync(
        &self,
        slot: Slot,
        expect: Option<&str>,
        new: Option<&str>,
    ) -> Result<bool, BackendError> {
        self.trust(slot)?;
        let existed = self.path(slot).exists();
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(crate::shared::O_NONBLOCK)
            .open(self.path(slot))
            .map_err(|e| self.err(slot, e))?;
        if !existed {
            // Whoever may change the traffic may drive next: the reference's mode.
            use std::os::unix::fs::PermissionsExt;
            let _ = f.set_permissions(std::fs::Permissions::from_mode(self.new_mode()));
        }
        // The lock is held for a read and a write of a few bytes: a holder past LOCK_WAIT
        // is stuck (a `flock` in a shell, a hung process), and waiting on it would hang a
        // rollback's record update and the process's exit.
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            match f.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(self.err(
                        slot,
                        std::io::Error::other(format!(
                            "locked by another process for over {} s (see `fuser` or `lsof` on it)",
                            LOCK_WAIT.as_secs()
                        )),
                    ));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(self.err(slot, e)),
            }
        }
        let mut text = String::new();
        (&mut f)
            .take(MAX_TEXT)
            .read_to_string(&mut text)
            .map_err(|e| self.err(slot, e))?;
        let cur = Some(text.trim()).filter(|t| !t.is_empty());
        if cur != expect {
            return Ok(false);
        }
        f.set_len(0).map_err(|e| self.err(slot, e))?;
        f.seek(SeekFrom::Start(0)).map_err(|e| self.err(slot, e))?;
        if let Some(t) = new {
            writeln!(f, "{t}").map_err(|e| self.err(slot, e))?;
        }
        f.sync_all().map_err(|e| self.err(slot, e))?;
        Ok(true)
    }

    pub async fn load(&self, slot: Slot) -> Result<Option<String>, BackendError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.read_sync(slot))
            .await
            .expect("a slot read does not panic")
    }

    pub async fn swap(
        &self,
        slot: Slot,
        expect: Option<&str>,
        new: Option<&str>,
    ) -> Result<bool, BackendError> {
        let (me, expect, new) = (
            self.clone(),
            expect.map(String::from),
            new.map(String::from),
        );
        tokio::task::spawn_blocking(move || me.swap_sync(slot, expect.as_deref(), new.as_deref()))
            .await
            .expect("a slot swap does not panic")
    }

    pub fn place(&self, slot: Slot) -> String {
        match slot {
            Slot::Lease => format!("lock file {}", self.path(slot).display()),
            Slot::Record => format!("record file {}", self.path(slot).display()),
        }
    }

    /// Whether this user can create and replace the files (for `check`): the folder must
    /// be writable, and each existing file too.
    pub fn writable(&self) -> Result<(), String> {
        let dir = self
            .base
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), PathBuf::from);
        let probe = dir.join(format!(".cutover-probe-{}", std::process::id()));
        std::fs::write(&probe, b"")
            .map_err(|e| format!("cannot create files in {}: {e}", dir.display()))?;
        let _ = std::fs::remove_file(&probe);
        for slot in Slot::ALL {
            let p = self.path(slot);
            if p.exists() {
                crate::shared::writable_file(&p)
                    .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn swaps_only_from_the_expected_text() {
        let dir = tempfile::tempdir().unwrap();
        let f = FileStore::new(dir.path().join("x"));
        assert_eq!(f.path(Slot::Lease), dir.path().join("x.cutover-lease"));
        assert_eq!(f.load(Slot::Lease).await.unwrap(), None);
        assert!(f.swap(Slot::Lease, None, Some("alice")).await.unwrap());
        assert!(
            !f.swap(Slot::Lease, None, Some("bob")).await.unwrap(),
            "alice holds it"
        );
        assert!(!f.swap(Slot::Lease, Some("bob"), None).await.unwrap());
        assert_eq!(f.load(Slot::Lease).await.unwrap().as_deref(), Some("alice"));
        // The record is its own file.
        assert_eq!(f.load(Slot::Record).await.unwrap(), None);
        assert!(f.swap(Slot::Record, None, Some("rec")).await.unwrap());
        assert!(
            f.swap(Slot::Lease, Some("alice"), Some("bob"))
                .await
                .unwrap()
        );
        assert_eq!(f.load(Slot::Lease).await.unwrap().as_deref(), Some("bob"));
        assert!(f.swap(Slot::Lease, Some("bob"), None).await.unwrap());
        assert_eq!(f.load(Slot::Lease).await.unwrap(), None);
        assert_eq!(f.load(Slot::Record).await.unwrap().as_deref(), Some("rec"));
        assert!(f.writable().is_ok());
    }

    #[tokio::test]
    async fn a_file_anyone_could_write_is_not_trusted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("upstream.conf");
        std::fs::write(&conf, "").unwrap();
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o640)).unwrap();
        let f = FileStore::with_reference(conf.clone(), conf.clone());
        assert!(f.swap(Slot::Record, None, Some("rec")).await.unwrap());
        let mode = std::fs::metadata(f.path(Slot::Record))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640, "the config's mode, not 0666");
        std::fs::set_permissions(f.path(Slot::Record), std::fs::Permissions::from_mode(0o666))
            .unwrap();
        let e = f.load(Slot::Record).await.unwrap_err().to_string();
        assert!(
            e.contains("not trusted: anyone may write it (mode 666)"),
            "{e}"
        );
        assert!(f.swap(Slot::Record, Some("rec"), None).await.is_err());
        std::fs::remove_file(f.path(Slot::Record)).unwrap();
        std::os::unix::fs::symlink(&conf, f.path(Slot::Record)).unwrap();
        let e = f.load(Slot::Record).await.unwrap_err().to_string();
        assert!(e.contains("symlink"), "{e}");
    }
}
