//! A driver lease kept in a file beside what the backend edits (the nginx config, the
//! HAProxy socket), swapped under an advisory file lock so two cutovers on one machine
//! cannot both win.

use super::BackendError;
use crate::core::Lease;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq)]
pub struct FileLease {
    pub path: PathBuf,
}

impl FileLease {
    pub fn new(path: PathBuf) -> FileLease {
        FileLease { path }
    }

    fn err(&self, e: std::io::Error) -> BackendError {
        BackendError::Rejected {
            target: self.path.display().to_string(),
            message: format!("the driver lease file: {e}"),
        }
    }

    fn read_sync(&self) -> Result<Option<Lease>, BackendError> {
        match std::fs::read_to_string(&self.path) {
            Ok(s) => Ok(Lease::decode(s.trim())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.err(e)),
        }
    }

    fn swap_sync(&self, expect: Option<&str>, new: Option<&Lease>) -> Result<bool, BackendError> {
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)
            .map_err(|e| self.err(e))?;
        // Whoever drives next may be another user on this machine.
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = f.set_permissions(std::fs::Permissions::from_mode(0o666));
        }
        f.lock().map_err(|e| self.err(e))?;
        let mut text = String::new();
        f.read_to_string(&mut text).map_err(|e| self.err(e))?;
        let cur = Lease::decode(text.trim());
        if cur.as_ref().map(|l| l.token.as_str()) != expect {
            return Ok(false);
        }
        f.set_len(0).map_err(|e| self.err(e))?;
        f.seek(SeekFrom::Start(0)).map_err(|e| self.err(e))?;
        if let Some(l) = new {
            writeln!(f, "{}", l.encode()).map_err(|e| self.err(e))?;
        }
        f.sync_all().map_err(|e| self.err(e))?;
        Ok(true)
    }

    pub async fn lease_read(&self) -> Result<Option<Lease>, BackendError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.read_sync())
            .await
            .expect("lease read does not panic")
    }

    pub async fn swap(
        &self,
        expect: Option<&str>,
        new: Option<&Lease>,
    ) -> Result<bool, BackendError> {
        let (me, expect, new) = (self.clone(), expect.map(String::from), new.cloned());
        tokio::task::spawn_blocking(move || me.swap_sync(expect.as_deref(), new.as_ref()))
            .await
            .expect("lease swap does not panic")
    }

    pub fn place(&self) -> String {
        format!("lock file {}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn swaps_only_from_the_expected_holder() {
        let dir = tempfile::tempdir().unwrap();
        let f = FileLease::new(dir.path().join("x.cutover-lease"));
        assert_eq!(f.lease_read().await.unwrap(), None);
        let a = Lease::new("alice@h", "aaa", 0, 15_000);
        let b = Lease::new("bob@h", "bbb", 0, 15_000);
        assert!(f.swap(None, Some(&a)).await.unwrap());
        assert!(!f.swap(None, Some(&b)).await.unwrap(), "alice holds it");
        assert!(!f.swap(Some("bbb"), None).await.unwrap());
        assert_eq!(f.lease_read().await.unwrap(), Some(a.clone()));
        assert!(f.swap(Some("aaa"), Some(&b)).await.unwrap());
        assert_eq!(f.lease_read().await.unwrap(), Some(b));
        assert!(f.swap(Some("bbb"), None).await.unwrap());
        assert_eq!(f.lease_read().await.unwrap(), None);
    }
}
