//! A private Prosody 0.12 from `deploy/prosody.cfg.lua`: loopback c2s and HTTP (WebSocket and
//! BOSH) on the ports given, storage on MySQL, the admin shell for provisioning.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use vigie_model::contract::{
    room_jid, room_title, ANON_DOMAIN, BOSH_PATH, EVENT_ROOMS, MUC_SERVICE, OPS_ROOM,
    WEBSOCKET_PATH, XMPP_DOMAIN,
};

use crate::daemon::{kill_stale, tail, Daemon, SpawnOptions, TieOptions};
use crate::mysql::{Mysql, MysqlUrl};
use crate::state::StateDir;

const TEMPLATE: &str = include_str!("../../../deploy/prosody.cfg.lua");
/// Vigie's Prosody modules, written beside the configuration: (file name, source).
const PLUGINS: [(&str, &str); 1] = [(
    "mod_vigie_operators.lua",
    include_str!("../../../deploy/prosody-plugins/mod_vigie_operators.lua"),
)];
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts with fresh free ports when another process grabs one between choice and bind.
const PORT_ATTEMPTS: usize = 3;

/// A running private Prosody; stopped (with its process group) on drop.
#[derive(Debug)]
pub struct Prosody {
    state_dir: PathBuf,
    database_url: String,
    tie: Option<TieOptions>,
    config: PathBuf,
    log: PathBuf,
    c2s_port: u16,
    http_port: u16,
    // Field order matters: the server stops before its state folder is removed.
    server: Daemon,
    _state: Option<StateDir>,
}

impl Prosody {
    /// Starts Prosody with its files in `state_dir/prosody`, storing into the MySQL database
    /// `database_url`, on free loopback ports.
    pub fn start(state_dir: &Path, database_url: &str) -> Result<Prosody> {
        start_on_free_ports(state_dir, database_url, None)
    }

    /// As [`start`](Self::start), on the given ports; fails fast when one is taken.
    pub fn start_on(
        state_dir: &Path,
        database_url: &str,
        c2s_port: u16,
        http_port: u16,
    ) -> Result<Prosody> {
        start(state_dir, database_url, c2s_port, http_port, None)
    }

    /// For a test: a temporary state folder, a fresh database on [`Mysql::shared`], free
    /// ports; everything removed when dropped (or when the test process exits).
    pub fn start_for_test() -> Result<Prosody> {
        let state = StateDir::temporary("prosody")?;
        let database_url = Mysql::shared().fresh_database("prosody")?;
        let tie = TieOptions {
            remove_on_exit: Some(state.path().to_owned()),
        };
        let mut prosody = start_on_free_ports(state.path(), &database_url, Some(tie))?;
        prosody._state = Some(state);
        Ok(prosody)
    }

    /// `ws://127.0.0.1:PORT/xmpp-websocket` (RFC 7395).
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}{WEBSOCKET_PATH}", self.http_port)
    }

    /// `http://127.0.0.1:PORT/http-bind` (XEP-0206).
    pub fn bosh_url(&self) -> String {
        format!("http://127.0.0.1:{}{BOSH_PATH}", self.http_port)
    }

    /// `http://127.0.0.1:PORT`, the base of both endpoints (what a proxy forwards to).
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    pub fn c2s_port(&self) -> u16 {
        self.c2s_port
    }

    /// The configuration file written from the template.
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// Prosody's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Creates the account `user@host`, or sets its password if it exists.
    pub fn register(&self, user: &str, host: &str, password: &str) -> Result<()> {
        self.prosodyctl(&["register", user, host, password])
            .with_context(|| format!("cannot register {user}@{host}"))?;
        Ok(())
    }

    /// Runs Lua in the running server's admin shell (mod_admin_shell's sandbox: no globals,
    /// only `muc`, `user`, `server`…). A chunk ending in `return nil, "why"` fails.
    pub fn shell(&self, lua: &str) -> Result<String> {
        self.prosodyctl(&["shell", lua])
    }

    /// Creates (or re-applies the settings of) the rooms: every event room persistent,
    /// moderated and public, `gateway_jid` its owner (the one voice; owners are moderators),
    /// `collector_jid` a member, visitors' presence not broadcast; and the operators' room
    /// persistent, public and not moderated (accounts only: `mod_vigie_operators`). Idempotent.
    pub fn create_event_rooms(&self, gateway_jid: &str, collector_jid: &str) -> Result<()> {
        let mut lua = String::new();
        for room in EVENT_ROOMS {
            lua += &room_setup(
                room,
                true,
                &[(gateway_jid, "owner"), (collector_jid, "member")],
            );
        }
        lua += &room_setup(OPS_ROOM, false, &[]);
        lua += r#"return true, "rooms ready""#;
        self.shell(&lua).context("cannot create the rooms")?;
        Ok(())
    }

    /// Kills the server with SIGKILL, as a crash would, then starts it again on the same
    /// ports with the same files and database (accounts, rooms and archives survive).
    pub fn kill_and_restart(&mut self) -> Result<()> {
        self.kill();
        self.restart()
    }

    /// Kills the server with SIGKILL, as a crash would; [`restart`](Self::restart) brings it
    /// back.
    pub fn kill(&mut self) {
        self.server.kill();
    }

    /// Starts the server again, after it ended, on the same ports with the same files and
    /// database.
    pub fn restart(&mut self) -> Result<()> {
        // A no-op once it has ended (`Daemon::exited` swept its group); else it ends now.
        self.server.kill();
        let restarted = start(
            &self.state_dir,
            &self.database_url,
            self.c2s_port,
            self.http_port,
            self.tie.clone(),
        )?;
        self.server = restarted.server;
        Ok(())
    }

    /// The exit status if the server has ended on its own (a crash).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.server.exited()
    }

    /// Stops the server now (drop does the same).
    pub fn stop(mut self) {
        self.server.stop();
    }

    fn prosodyctl(&self, args: &[&str]) -> Result<String> {
        let output = Command::new("prosodyctl")
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .output()
            .context("cannot run prosodyctl (is prosody installed? run scripts/install)")?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if !output.status.success() {
            bail!("prosodyctl {} failed: {}", args[0], text.trim());
        }
        Ok(text)
    }
}

/// Lua for the admin shell that creates `room` with Prosody's defaults if missing, then sets
/// what Vigie relies on; setting them on an existing room makes this idempotent.
fn room_setup(room: &str, moderated: bool, affiliations: &[(&str, &str)]) -> String {
    let jid = lua_string(&room_jid(room));
    let mut lua = format!(
        "do local r = muc:room({jid}) r = r and r.room or muc:create({jid}) \
         if not r then return nil, \"cannot create \"..{jid} end \
         r:set_persistent(true) r:set_public(true) r:set_members_only(false) \
         r:set_moderated({moderated}) r:set_name({name}) ",
        name = lua_string(room_title(room)),
    );
    if moderated {
        lua += "r:set_presence_broadcast({ moderator = true, participant = true }) ";
    }
    for (who, affiliation) in affiliations {
        lua += &format!(
            "local ok, err = r:set_affiliation(true, {who}, {affiliation}) \
             if not ok then return nil, {jid}..\": \"..(err or \"affiliation refused\") end ",
            who = lua_string(who),
            affiliation = lua_string(affiliation),
        );
    }
    lua + "r:save(true) end "
}

fn start_on_free_ports(
    state_dir: &Path,
    database_url: &str,
    tie: Option<TieOptions>,
) -> Result<Prosody> {
    let mut attempt = 1;
    loop {
        let (c2s_port, http_port) = (crate::free_port(), crate::free_port());
        match start(state_dir, database_url, c2s_port, http_port, tie.clone()) {
            Err(e) if attempt < PORT_ATTEMPTS && e.to_string().contains("port is taken") => {
                tracing::warn!("{e:#}; trying other ports");
                attempt += 1;
            }
            result => return result,
        }
    }
}

fn start(
    state_dir: &Path,
    database_url: &str,
    c2s_port: u16,
    http_port: u16,
    tie: Option<TieOptions>,
) -> Result<Prosody> {
    let database = MysqlUrl::parse(database_url)?;
    let Some(database_name) = database.database.clone() else {
        bail!("the database URL for Prosody names no database: {database}");
    };
    // Prosody only logs SQL failures and keeps running: check the credentials first.
    database
        .query("SELECT 1")
        .context("Prosody's database is unusable")?;

    let state = StateDir::keep(state_dir)?;
    let dir = state.subdir("prosody")?;
    let data = state.subdir("prosody/data")?;
    let certs = state.subdir("prosody/certs")?;
    let plugins = state.subdir("prosody/plugins")?;
    for (name, source) in PLUGINS {
        let file = plugins.join(name);
        std::fs::write(&file, source)
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    let config = dir.join("prosody.cfg.lua");
    let log = dir.join("prosody.log");
    let pid_file = dir.join("prosody.owner.pid");
    kill_stale(&pid_file)?;

    let path = |p: &Path| lua_string(&p.display().to_string());
    let text = render(
        TEMPLATE,
        &[
            ("pid_file", path(&dir.join("prosody.pid"))),
            ("data_dir", path(&data)),
            ("certs_dir", path(&certs)),
            ("plugin_dir", path(&plugins)),
            ("admin_socket", path(&data.join("prosody.sock"))),
            ("log_file", path(&log)),
            ("c2s_port", c2s_port.to_string()),
            ("http_port", http_port.to_string()),
            ("sql_database", lua_string(&database_name)),
            ("sql_username", lua_string(&database.user)),
            ("sql_password", lua_string(&database.password)),
            ("sql_host", lua_string(&database.host)),
            ("sql_port", database.port.to_string()),
            ("xmpp_domain", lua_string(XMPP_DOMAIN)),
            ("anon_domain", lua_string(ANON_DOMAIN)),
            ("muc_service", lua_string(MUC_SERVICE)),
            ("ops_room", lua_string(&room_jid(OPS_ROOM))),
        ],
    )?;
    std::fs::write(&config, text).with_context(|| format!("cannot write {}", config.display()))?;

    let mut command = Command::new("prosody");
    command.arg("-F").arg("--config").arg(&config);
    let log_start = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let mut server = Daemon::spawn(
        "prosody",
        command,
        SpawnOptions {
            output: Some(log.with_extension("out")),
            pid_file: Some(pid_file),
            tie_to_this_process: tie.clone(),
        },
    )?;
    wait_ready(&mut server, &log, log_start, c2s_port, http_port)?;
    Ok(Prosody {
        state_dir: state_dir.to_owned(),
        database_url: database_url.to_owned(),
        tie,
        config,
        log,
        c2s_port,
        http_port,
        server,
        _state: None,
    })
}

/// Waits until the log shows both listeners up; fails fast when a port is taken or Prosody
/// exits, with the last lines of its log.
fn wait_ready(
    server: &mut Daemon,
    log: &Path,
    log_start: u64,
    c2s_port: u16,
    http_port: u16,
) -> Result<()> {
    let c2s = format!("Activated service 'c2s' on [127.0.0.1]:{c2s_port}");
    let http = format!("Activated service 'http' on [127.0.0.1]:{http_port}");
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let bytes = std::fs::read(log).unwrap_or_default();
        let new = String::from_utf8_lossy(&bytes[(log_start as usize).min(bytes.len())..]);
        if new.contains(&c2s) && new.contains(&http) {
            return Ok(());
        }
        let failure = if new.contains("Failed to open server port") {
            Some(format!(
                "Prosody cannot listen: a port is taken (c2s {c2s_port}, http {http_port})"
            ))
        } else if let Some(status) = server.exited() {
            Some(format!("Prosody exited ({status})"))
        } else if Instant::now() > deadline {
            Some(format!("Prosody did not come up in {READY_TIMEOUT:?}"))
        } else {
            None
        };
        if let Some(failure) = failure {
            server.stop();
            // Configuration errors go to stdout before logging starts.
            let output = tail(&log.with_extension("out"), 15);
            bail!(
                "{failure}. Last lines of {}:\n{}\n{output}",
                log.display(),
                tail(log, 15)
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Fills every `{{name}}` of `template`; an unknown or unfilled placeholder is an error.
fn render(template: &str, values: &[(&str, String)]) -> Result<String> {
    let mut text = template.to_owned();
    for (name, value) in values {
        text = text.replace(&format!("{{{{{name}}}}}"), value);
    }
    if let Some(at) = text.find("{{") {
        let rest = &text[at..];
        bail!(
            "unfilled placeholder in the Prosody template: {}",
            &rest[..rest.find("}}").map_or(rest.len(), |end| end + 2)]
        );
    }
    Ok(text)
}

/// A double-quoted Lua string literal.
fn lua_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            '\n' => quoted.push_str("\\n"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_has_no_stray_placeholders() {
        let names = [
            "pid_file",
            "data_dir",
            "certs_dir",
            "plugin_dir",
            "admin_socket",
            "log_file",
            "c2s_port",
            "http_port",
            "sql_database",
            "sql_username",
            "sql_password",
            "sql_host",
            "sql_port",
            "xmpp_domain",
            "anon_domain",
            "muc_service",
            "ops_room",
        ];
        let values: Vec<(&str, String)> = names.iter().map(|n| (*n, "1".to_owned())).collect();
        render(TEMPLATE, &values).unwrap();
        assert!(render(TEMPLATE, &values[1..]).is_err());
    }

    #[test]
    fn lua_strings_are_escaped() {
        assert_eq!(lua_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
