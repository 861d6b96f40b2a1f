//! State folders, generated secrets and `KEY=VALUE` files.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result};

/// Where a server keeps its configuration, data, logs and pid files.
/// A temporary one (tests) is removed when dropped; a kept one (`.vigie/`) stays.
#[derive(Debug)]
pub struct StateDir {
    path: PathBuf,
    temporary: bool,
}

impl StateDir {
    /// `path`, created if missing, kept after use.
    pub fn keep(path: impl Into<PathBuf>) -> Result<StateDir> {
        let path = path.into();
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create state folder {}", path.display()))?;
        let path = path
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", path.display()))?;
        Ok(StateDir {
            path,
            temporary: false,
        })
    }

    /// A fresh folder under the system temporary folder, removed when dropped.
    pub fn temporary(prefix: &str) -> Result<StateDir> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "vigie-{prefix}-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            random_secret(4)
        ));
        let mut dir = StateDir::keep(path)?;
        dir.temporary = true;
        Ok(dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `self/relative`, created as a folder if missing.
    pub fn subdir(&self, relative: &str) -> Result<PathBuf> {
        let path = self.path.join(relative);
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(path)
    }

    pub fn is_temporary(&self) -> bool {
        self.temporary
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// `bytes` random bytes from the kernel, as lowercase hex (safe in URLs, Lua and shells).
pub fn random_secret(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut urandom| urandom.read_exact(&mut buffer))
        .expect("read /dev/urandom");
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a `KEY=VALUE` file (one per line, `#` comments); missing file → empty.
pub fn read_env_file(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    Ok(text
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_owned(), value.to_owned()))
        .collect())
}

/// Writes `KEY=VALUE` lines, readable only by the owner (the file holds passwords).
pub fn write_env_file<'a>(
    path: &Path,
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<()> {
    let text: String = entries
        .into_iter()
        .map(|(key, value)| format!("{key}={value}\n"))
        .collect();
    write_private(path, &text)
}

/// Writes `text` atomically to `path`, readable only by the owner.
pub fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let temporary = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    file.write_all(text.as_bytes())?;
    std::fs::rename(&temporary, path).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_files_round_trip() {
        let dir = StateDir::temporary("env-test").unwrap();
        let path = dir.path().join("x.env");
        write_env_file(&path, [("A", "1"), ("URL", "mysql://u:p@h:1/d?x=y")]).unwrap();
        let read = read_env_file(&path).unwrap();
        assert_eq!(read["A"], "1");
        assert_eq!(read["URL"], "mysql://u:p@h:1/d?x=y");
        let kept = dir.path().to_owned();
        drop(dir);
        assert!(!kept.exists());
    }

    #[test]
    fn secrets_are_hex_and_differ() {
        let (a, b) = (random_secret(16), random_secret(16));
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
