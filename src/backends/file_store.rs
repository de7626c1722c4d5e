//! The driver lease and the cutover record kept in files beside what the backend edits (the
//! nginx config, the HAProxy instance), each swapped under an advisory file lock so two
//! cutovers on one machine cannot both win, and fsynced before the swap says done.

use super::{BackendError, Slot};
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// Longest text a slot file may hold: anything longer is not ours.
const MAX_TEXT: u64 = 4096;

#[derive(Clone, Debug, PartialEq)]
pub struct FileStore {
    /// The path both files start with; `.cutover-lease` and `.cutover-record` follow it.
    pub base: PathBuf,
}

impl FileStore {
    pub fn new(base: PathBuf) -> FileStore {
        FileStore { base }
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
        let path = self.path(slot);
        let f = match std::fs::File::open(&path) {
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
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.path(slot))
            .map_err(|e| self.err(slot, e))?;
        // Whoever drives next may be another user on this machine.
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = f.set_permissions(std::fs::Permissions::from_mode(0o666));
        }
        f.lock().map_err(|e| self.err(slot, e))?;
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
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        let probe = dir.join(format!(".cutover-probe-{}", std::process::id()));
        std::fs::write(&probe, b"")
            .map_err(|e| format!("cannot create files in {}: {e}", dir.display()))?;
        let _ = std::fs::remove_file(&probe);
        for slot in Slot::ALL {
            let p = self.path(slot);
            if p.exists() {
                OpenOptions::new()
                    .append(true)
                    .open(&p)
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
}
