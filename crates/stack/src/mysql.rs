//! MySQL for Vigie: an existing server reached through an admin URL, or a private MariaDB run
//! from a state folder. SQL goes through the `mariadb` command-line client, so this crate
//! needs no database driver and works from sync and async code alike.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::daemon::{kill_stale, tail, Daemon, SpawnOptions, TieOptions};
use crate::state::{random_secret, StateDir};

/// The account `start_private` creates, with every privilege.
const PRIVATE_USER: &str = "vigie";
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The parts of a `mysql://user:password@host:port/database` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MysqlUrl {
    pub user: String,
    pub password: String,
    pub host: String,
    pub port: u16,
    pub database: Option<String>,
}

impl MysqlUrl {
    pub fn parse(url: &str) -> Result<MysqlUrl> {
        let rest = url
            .strip_prefix("mysql://")
            .or_else(|| url.strip_prefix("mariadb://"))
            .ok_or_else(|| anyhow!("not a mysql:// URL: {url}"))?;
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let (credentials, location) = rest.rsplit_once('@').unwrap_or(("root", rest));
        let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));
        let (address, database) = location.split_once('/').unwrap_or((location, ""));
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse()
                    .with_context(|| format!("bad port in MySQL URL {url}"))?,
            ),
            None => (address, 3306),
        };
        Ok(MysqlUrl {
            user: percent_decode(user)?,
            password: percent_decode(password)?,
            host: if host.is_empty() { "127.0.0.1" } else { host }.to_owned(),
            port,
            database: (!database.is_empty()).then(|| database.to_owned()),
        })
    }

    pub fn with_database(&self, database: &str) -> MysqlUrl {
        MysqlUrl {
            database: Some(database.to_owned()),
            ..self.clone()
        }
    }

    /// Runs `sql` with the `mariadb` client; returns its tab-separated output, no headers.
    pub fn query(&self, sql: &str) -> Result<String> {
        let mut command = Command::new("mariadb");
        command
            .args(["--no-defaults", "--protocol=TCP", "--connect-timeout=10"])
            .args(["--batch", "--skip-column-names"])
            .arg(format!("--host={}", self.host))
            .arg(format!("--port={}", self.port))
            .arg(format!("--user={}", self.user))
            .env("MYSQL_PWD", &self.password)
            .args(self.database.iter().map(|db| format!("--database={db}")))
            .arg("--execute")
            .arg(sql);
        run_client(command, &format!("{}:{}", self.host, self.port), &self.user)
    }
}

impl fmt::Display for MysqlUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mysql://{}", percent_encode(&self.user))?;
        if !self.password.is_empty() {
            write!(f, ":{}", percent_encode(&self.password))?;
        }
        write!(f, "@{}:{}/", self.host, self.port)?;
        if let Some(database) = &self.database {
            f.write_str(database)?;
        }
        Ok(())
    }
}

/// A MySQL server Vigie may create databases on: an existing one, or a private MariaDB that
/// stops when this value is dropped.
#[derive(Debug)]
pub struct Mysql {
    admin: MysqlUrl,
    /// How a private server was started: its state folder and its tie, to start it again.
    private: Option<(PathBuf, Option<TieOptions>)>,
    // Field order matters: the server stops before its state folder is removed.
    server: Option<Daemon>,
    _state: Option<StateDir>,
}

impl Mysql {
    /// The environment variable holding an admin URL (a user allowed to CREATE DATABASE/USER).
    pub const ADMIN_URL_ENV: &'static str = "VIGIE_MYSQL_ADMIN_URL";

    /// An existing server; fails fast when it does not answer or refuses the credentials.
    pub fn connect(admin_url: &str) -> Result<Mysql> {
        let admin = MysqlUrl::parse(admin_url)?;
        admin.query("SELECT 1")?;
        Ok(Mysql {
            admin,
            private: None,
            server: None,
            _state: None,
        })
    }

    /// A private MariaDB on 127.0.0.1:`port`, its data kept in `state_dir` (created and
    /// initialised on first use, reused afterwards; a server left over by a crashed run is
    /// stopped first). Creates the user `vigie` with all privileges.
    pub fn start_private(state_dir: &Path, port: u16) -> Result<Mysql> {
        start_private(state_dir, port, None)
    }

    /// The server tests share within one process: `$VIGIE_MYSQL_ADMIN_URL` when set (as
    /// `scripts/test` does), else a private MariaDB started on first use and stopped when the
    /// test process exits. Give each test its own database with [`fresh_database`](Self::fresh_database).
    ///
    /// # Panics
    /// When no server can be reached or started, with the reason.
    pub fn shared() -> &'static Mysql {
        static SHARED: OnceLock<Mysql> = OnceLock::new();
        SHARED.get_or_init(|| {
            Mysql::for_tests().unwrap_or_else(|e| panic!("no MySQL for tests: {e:#}"))
        })
    }

    fn for_tests() -> Result<Mysql> {
        if let Ok(url) = std::env::var(Self::ADMIN_URL_ENV) {
            return Mysql::connect(&url)
                .with_context(|| format!("{} is set but unusable", Self::ADMIN_URL_ENV));
        }
        let state = StateDir::temporary("mysql")?;
        let tie = TieOptions {
            remove_on_exit: Some(state.path().to_owned()),
        };
        let mut mysql = start_private(state.path(), crate::free_port(), Some(tie))?;
        mysql._state = Some(state);
        Ok(mysql)
    }

    /// The admin URL, without a database.
    pub fn admin_url(&self) -> String {
        self.admin.to_string()
    }

    pub fn admin(&self) -> &MysqlUrl {
        &self.admin
    }

    /// Creates a new, empty database with a unique name starting with `prefix`; returns its
    /// URL (admin credentials).
    pub fn fresh_database(&self, prefix: &str) -> Result<String> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let prefix: String = prefix
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(32)
            .collect();
        let name = format!(
            "{prefix}_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            random_secret(3)
        );
        self.admin.query(&format!("CREATE DATABASE `{name}`"))?;
        Ok(self.admin.with_database(&name).to_string())
    }

    /// Creates `name` if missing; returns its URL (admin credentials).
    pub fn ensure_database(&self, name: &str) -> Result<String> {
        self.admin
            .query(&format!("CREATE DATABASE IF NOT EXISTS `{name}`"))?;
        Ok(self.admin.with_database(name).to_string())
    }

    /// The exit status if the private server this value started has ended on its own (a crash).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.server.as_mut().and_then(Daemon::exited)
    }

    /// Starts the private server again, after it ended, on the same port with the same data.
    pub fn restart(&mut self) -> Result<()> {
        let Some((state_dir, tie)) = &self.private else {
            bail!("this MySQL server was not started by Vigie");
        };
        if let Some(server) = &mut self.server {
            // A no-op once it has ended (`Daemon::exited` swept its group); else it ends now.
            server.kill();
        }
        let restarted = start_private(state_dir, self.admin.port, tie.clone())?;
        self.server = restarted.server;
        Ok(())
    }

    /// Stops the private server, if this value started one.
    pub fn stop(mut self) {
        if let Some(server) = &mut self.server {
            server.stop();
        }
    }
}

fn start_private(state_dir: &Path, port: u16, tie: Option<TieOptions>) -> Result<Mysql> {
    let state = StateDir::keep(state_dir)?;
    let dir = state.subdir("mysql")?;
    let data = dir.join("data");
    let socket = dir.join("mysqld.sock");
    let log = dir.join("mysqld.log");
    let pid_file = dir.join("mysqld.owner.pid");
    kill_stale(&pid_file)?;

    // A private tmpdir: a starting mariadbd deletes the `#sql*` files it finds in its
    // tmpdir, which breaks any other instance bootstrapping in a shared /tmp at that moment.
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    if !data.join("mysql").is_dir() {
        let _ = std::fs::remove_dir_all(&data);
        initialise(&data, &tmp, &log)?;
    }
    let password = stored_password(&dir.join("vigie-password"))?;

    let mut command = Command::new("mariadbd");
    command
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", socket.display()))
        .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
        .arg(format!("--tmpdir={}", tmp.display()))
        .arg(format!("--port={port}"))
        .args([
            "--bind-address=127.0.0.1",
            "--user=root",
            "--skip-name-resolve",
        ])
        // Prosody archives every groupchat message synchronously; this more than doubles it.
        .arg("--innodb-flush-log-at-trx-commit=2");
    let log_start = file_len(&log);
    let mut server = Daemon::spawn(
        "mariadb",
        command,
        SpawnOptions {
            output: Some(log.clone()),
            pid_file: Some(pid_file),
            tie_to_this_process: tie.clone(),
        },
    )?;
    wait_ready(&mut server, &log, log_start, port)?;

    let grants: String = ["127.0.0.1", "localhost"]
        .iter()
        .map(|host| {
            let account = format!("'{PRIVATE_USER}'@'{host}'");
            format!(
                "CREATE USER IF NOT EXISTS {account} IDENTIFIED BY '{password}'; \
                 ALTER USER {account} IDENTIFIED BY '{password}'; \
                 GRANT ALL PRIVILEGES ON *.* TO {account} WITH GRANT OPTION; "
            )
        })
        .collect();
    let mut root = Command::new("mariadb");
    root.arg("--no-defaults")
        .arg(format!("--socket={}", socket.display()))
        .args(["--user=root", "--execute", &grants]);
    run_client(root, &socket.display().to_string(), "root")?;

    Ok(Mysql {
        admin: MysqlUrl {
            user: PRIVATE_USER.to_owned(),
            password,
            host: "127.0.0.1".to_owned(),
            port,
            database: None,
        },
        private: Some((state_dir.to_owned(), tie)),
        server: Some(server),
        _state: None,
    })
}

fn initialise(data: &Path, tmp: &Path, log: &Path) -> Result<()> {
    let output = Command::new("mariadb-install-db")
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--tmpdir={}", tmp.display()))
        .args(["--user=root", "--auth-root-authentication-method=normal"])
        .arg("--skip-test-db")
        .output()
        .context(
            "cannot run mariadb-install-db (is mariadb-server installed? run scripts/install)",
        )?;
    let _ = std::fs::write(log.with_extension("install.log"), &output.stdout);
    if !output.status.success() {
        bail!(
            "mariadb-install-db failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

fn wait_ready(server: &mut Daemon, log: &Path, log_start: u64, port: u16) -> Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let text = std::fs::read(log).unwrap_or_default();
        let new = String::from_utf8_lossy(&text[(log_start as usize).min(text.len())..]);
        if new.contains("ready for connections") {
            return Ok(());
        }
        if let Some(status) = server.exited() {
            let hint = if new.contains("Address already in use") || new.contains("Bind on TCP/IP") {
                format!("The port is taken ({port}). ")
            } else {
                String::new()
            };
            bail!(
                "MariaDB exited ({status}). {hint}Last lines of {}:\n{}",
                log.display(),
                tail(log, 15)
            );
        }
        if Instant::now() > deadline {
            bail!(
                "MariaDB not ready after {READY_TIMEOUT:?}. Last lines of {}:\n{}",
                log.display(),
                tail(log, 15)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The password kept in `path`, generated on first use.
fn stored_password(path: &Path) -> Result<String> {
    if let Ok(password) = std::fs::read_to_string(path) {
        if !password.trim().is_empty() {
            return Ok(password.trim().to_owned());
        }
    }
    let password = random_secret(16);
    crate::state::write_private(path, &password)?;
    Ok(password)
}

fn run_client(mut command: Command, server: &str, user: &str) -> Result<String> {
    let output = command.output().context(
        "cannot run the mariadb client (is mariadb-client installed? run scripts/install)",
    )?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let error = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if error.contains("Access denied") {
        bail!("MySQL at {server} refused the credentials of user '{user}': {error}");
    }
    if error.contains("Can't connect") {
        bail!("no MySQL answers at {server}: {error}");
    }
    bail!("MySQL at {server}: {error}")
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn percent_decode(text: &str) -> Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| anyhow!("bad percent-encoding in {text}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).context("percent-decoded text is not UTF-8")
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_round_trip() {
        let url =
            MysqlUrl::parse("mysql://vi%40gie:p%3Ass@127.0.0.1:3307/db?ssl-mode=disabled").unwrap();
        assert_eq!(url.user, "vi@gie");
        assert_eq!(url.password, "p:ss");
        assert_eq!(url.port, 3307);
        assert_eq!(url.database.as_deref(), Some("db"));
        assert_eq!(url.to_string(), "mysql://vi%40gie:p%3Ass@127.0.0.1:3307/db");
        let bare = MysqlUrl::parse("mysql://root@localhost").unwrap();
        assert_eq!(
            (bare.port, bare.password.as_str(), bare.database),
            (3306, "", None)
        );
    }
}
