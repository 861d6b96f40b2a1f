//! One server process: spawned as the leader of its own process group (so stopping it stops
//! whatever it forked, and a Ctrl-C in the terminal reaches only `vigie-stack`), recorded in a
//! pid file (so a later run can clean up after a crash), stopped on drop.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// How long a server may take to stop on SIGTERM before it gets SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Shell that runs a server and stops it (and removes `$VIGIE_WATCHDOG_REMOVE`, if set) when the
/// process `$VIGIE_WATCHDOG_OWNER` is gone: test binaries never drop their shared servers, and
/// may be killed outright, yet must not leak them.
const WATCHDOG: &str = r#"
"$@" </dev/null & server=$!
cleanup() {
    kill "$server" 2>/dev/null; wait "$server"
    [ -n "$VIGIE_WATCHDOG_REMOVE" ] && rm -rf "$VIGIE_WATCHDOG_REMOVE"
}
trap 'cleanup; exit 0' TERM INT HUP
while kill -0 "$VIGIE_WATCHDOG_OWNER" 2>/dev/null && kill -0 "$server" 2>/dev/null; do sleep 1; done
cleanup
"#;

/// How to spawn a [`Daemon`].
#[derive(Debug, Default, Clone)]
pub struct SpawnOptions {
    /// Where the process's stdout and stderr go (appended); inherited when `None`.
    pub output: Option<PathBuf>,
    /// Where to record `PID STARTTIME`, for [`kill_stale`].
    pub pid_file: Option<PathBuf>,
    /// Stop the process when this process exits, even without a drop; remove this folder then.
    pub tie_to_this_process: Option<TieOptions>,
}

/// See [`SpawnOptions::tie_to_this_process`].
#[derive(Debug, Default, Clone)]
pub struct TieOptions {
    pub remove_on_exit: Option<PathBuf>,
}

/// A running server process (and its process group). Stopped on drop.
#[derive(Debug)]
pub struct Daemon {
    name: String,
    child: Child,
    pid_file: Option<PathBuf>,
    stopped: bool,
}

impl Daemon {
    /// Spawns `command` in a new process group, as described by `options`.
    pub fn spawn(name: &str, command: Command, options: SpawnOptions) -> Result<Daemon> {
        let mut command = match &options.tie_to_this_process {
            None => command,
            Some(tie) => watchdog(&command, tie),
        };
        command.stdin(Stdio::null()).process_group(0);
        if let Some(output) = &options.output {
            let log = File::options()
                .create(true)
                .append(true)
                .open(output)
                .with_context(|| format!("cannot open {}", output.display()))?;
            command.stdout(log.try_clone()?).stderr(log);
        }
        let child = command.spawn().with_context(|| {
            format!(
                "cannot start {name} ({})",
                command.get_program().to_string_lossy()
            )
        })?;
        if let Some(pid_file) = &options.pid_file {
            let record = format!("{} {}\n", child.id(), start_time(child.id()).unwrap_or(0));
            std::fs::write(pid_file, record)
                .with_context(|| format!("cannot write {}", pid_file.display()))?;
        }
        Ok(Daemon {
            name: name.to_owned(),
            child,
            pid_file: options.pid_file,
            stopped: false,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the process has ended on its own. At the first sight of its end,
    /// whatever it left in its group is killed and its pid file removed, while the group id is
    /// still its own: once reaped, that id may go to another process, so nothing signals it
    /// again (`stop` and `kill` become no-ops).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let status = self.child.try_wait().ok().flatten()?;
        if !std::mem::replace(&mut self.stopped, true) {
            signal_group(self.child.id() as i32, libc::SIGKILL);
            if let Some(pid_file) = &self.pid_file {
                let _ = std::fs::remove_file(pid_file);
            }
        }
        Some(status)
    }

    /// SIGTERM to the whole group, SIGKILL after a grace period; idempotent.
    pub fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        let group = self.child.id() as i32;
        signal_group(group, libc::SIGTERM);
        let deadline = Instant::now() + STOP_GRACE;
        while self.exited().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if self.exited().is_none() {
            tracing::warn!("{} did not stop on SIGTERM; killing it", self.name);
        }
        // Sweep anything left in the group, then reap.
        signal_group(group, libc::SIGKILL);
        let _ = self.child.wait();
        if let Some(pid_file) = &self.pid_file {
            let _ = std::fs::remove_file(pid_file);
        }
    }

    /// SIGKILL to the whole group at once, as a crash would: the server saves nothing and
    /// leaves its files (and pid file) behind. Idempotent with [`stop`](Self::stop).
    pub fn kill(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        signal_group(self.child.id() as i32, libc::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Stops a process group left behind by an earlier run that crashed, if `pid_file` names one
/// that is still alive (same pid *and* same start time, so a recycled pid is never hit).
pub fn kill_stale(pid_file: &Path) -> Result<()> {
    let Ok(record) = std::fs::read_to_string(pid_file) else {
        return Ok(());
    };
    let mut fields = record.split_whitespace().map(str::parse::<u32>);
    if let (Some(Ok(pid)), Some(Ok(started))) = (fields.next(), fields.next()) {
        if start_time(pid) == Some(started) {
            tracing::info!("stopping process {pid} left over from an earlier run");
            signal_group(pid as i32, libc::SIGTERM);
            let deadline = Instant::now() + STOP_GRACE;
            while start_time(pid) == Some(started) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            signal_group(pid as i32, libc::SIGKILL);
        }
    }
    std::fs::remove_file(pid_file)
        .with_context(|| format!("cannot remove stale {}", pid_file.display()))
}

/// Suffix of the pid files [`stop_leftovers`] looks for.
pub const PID_FILE_SUFFIX: &str = ".owner.pid";

/// Stops every process recorded in a `*.owner.pid` file in `state_dir` or one folder below
/// (what a crashed run left behind); returns how many were alive.
pub fn stop_leftovers(state_dir: &Path) -> Result<usize> {
    let mut pid_files = Vec::new();
    let top = std::fs::read_dir(state_dir).into_iter().flatten().flatten();
    for entry in top {
        let path = entry.path();
        if path.is_dir() {
            let below = std::fs::read_dir(&path).into_iter().flatten().flatten();
            pid_files.extend(below.map(|e| e.path()));
        } else {
            pid_files.push(path);
        }
    }
    let mut stopped = 0;
    for pid_file in pid_files {
        if pid_file.to_string_lossy().ends_with(PID_FILE_SUFFIX) {
            stopped += usize::from(live_pid(&pid_file).is_some());
            kill_stale(&pid_file)?;
        }
    }
    Ok(stopped)
}

/// The pid recorded in `pid_file` if that process is still alive (same start time).
pub fn live_pid(pid_file: &Path) -> Option<u32> {
    let record = std::fs::read_to_string(pid_file).ok()?;
    let mut fields = record.split_whitespace().map(str::parse::<u32>);
    let (Some(Ok(pid)), Some(Ok(started))) = (fields.next(), fields.next()) else {
        return None;
    };
    (start_time(pid) == Some(started)).then_some(pid)
}

/// Records this process in `pid_file`, in the format [`kill_stale`] and [`live_pid`] read.
pub fn record_this_process(pid_file: &Path) -> Result<()> {
    let pid = std::process::id();
    std::fs::write(
        pid_file,
        format!("{pid} {}\n", start_time(pid).unwrap_or(0)),
    )
    .with_context(|| format!("cannot write {}", pid_file.display()))
}

/// The last `lines` lines of a log file, for error messages.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The /proc folders of the living (not zombie) processes of process group `group`.
pub(crate) fn group_members(group: u32) -> Vec<PathBuf> {
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    processes
        .flatten()
        .map(|process| process.path())
        .filter(|path| {
            let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
                return false;
            };
            let Some(close) = stat.rfind(')') else {
                return false;
            };
            // After the name: state, ppid, pgrp.
            let fields: Vec<&str> = stat[close + 1..].split_whitespace().take(3).collect();
            fields.len() == 3 && fields[0] != "Z" && fields[2].parse() == Ok(group)
        })
        .collect()
}

fn signal_group(group: i32, signal: i32) {
    if group > 1 {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(-group, signal);
        }
    }
}

/// Field 22 of /proc/PID/stat (start time in clock ticks since boot); None when gone or a zombie.
fn start_time(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse::<u64>().ok().map(|t| t as u32)
}

/// `command` wrapped in the [`WATCHDOG`] shell.
fn watchdog(command: &Command, tie: &TieOptions) -> Command {
    let mut wrapped = Command::new("sh");
    wrapped
        .arg("-c")
        .arg(WATCHDOG)
        .arg("vigie-watchdog")
        .arg(command.get_program())
        .args(command.get_args())
        .env("VIGIE_WATCHDOG_OWNER", std::process::id().to_string())
        .env(
            "VIGIE_WATCHDOG_REMOVE",
            tie.remove_on_exit
                .as_deref()
                .map(|p| p.as_os_str().to_owned())
                .unwrap_or_default(),
        );
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        wrapped.current_dir(dir);
    }
    wrapped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_kills_the_whole_group_and_stale_records_are_harmless() {
        let dir = crate::StateDir::temporary("daemon-test").unwrap();
        let pid_file = dir.path().join("sleep.pid");
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 300 & sleep 300"]);
        let mut daemon = Daemon::spawn(
            "sleeper",
            command,
            SpawnOptions {
                pid_file: Some(pid_file.clone()),
                ..SpawnOptions::default()
            },
        )
        .unwrap();
        assert!(pid_file.exists());
        let group = daemon.pid();
        let started = Instant::now();
        daemon.stop();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(!pid_file.exists());
        assert_eq!(
            group_members(group),
            Vec::<PathBuf>::new(),
            "group left behind"
        );

        std::fs::write(&pid_file, format!("{group} 1\n")).unwrap();
        kill_stale(&pid_file).unwrap();
        assert!(!pid_file.exists());
    }
}
