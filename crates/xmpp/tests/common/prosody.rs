//! A private Prosody for one test: temporary directory, free ports, in-memory-ish internal
//! storage, WebSocket on loopback without TLS. Killed and removed on drop.
//!
//! Not `vigie_stack::Prosody`: that one stores into MariaDB (a shared server and a database
//! per test) and takes no per-test options, which these tests need (SASL mechanisms, hash,
//! hibernation time, registration off).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use vigie_xmpp::Transport;

pub const DOMAIN: &str = "localhost";
pub const ANONYMOUS_DOMAIN: &str = "anon.localhost";
pub const MUC_DOMAIN: &str = "rooms.localhost";

pub struct Prosody {
    process: Child,
    dir: PathBuf,
    config: PathBuf,
    c2s_port: u16,
    http_port: u16,
}

/// Whether a starting Prosody listens on its ports.
enum Listening {
    Yes,
    PortTaken,
}

const PORT_ATTEMPTS: u32 = 5;

impl Prosody {
    /// Starts Prosody and waits until it listens on its c2s and HTTP (WebSocket, BOSH) ports.
    pub fn start() -> Prosody {
        Prosody::start_with("")
    }

    /// As [`start`](Self::start), with extra global options (Lua) appended to the defaults.
    /// Tries fresh ports when another process grabs one between choice and bind.
    pub fn start_with(extra_global_options: &str) -> Prosody {
        static INSTANCE: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "vigie-xmpp-prosody-{}-{}",
            std::process::id(),
            INSTANCE.fetch_add(1, Ordering::Relaxed)
        ));
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("create Prosody's temporary directory");
        let config = dir.join("prosody.cfg.lua");
        for _ in 0..PORT_ATTEMPTS {
            let [c2s_port, s2s_port, http_port] = free_ports();
            std::fs::write(
                &config,
                config_text(&dir, c2s_port, s2s_port, http_port, extra_global_options),
            )
            .expect("write Prosody config");
            let log_start = read_log(&dir).len();
            let mut process = spawn(&config);
            match wait_listening(&mut process, &dir, log_start, c2s_port, http_port) {
                Listening::Yes => {
                    return Prosody {
                        process,
                        dir,
                        config,
                        c2s_port,
                        http_port,
                    };
                }
                Listening::PortTaken => {
                    let _ = process.kill();
                    let _ = process.wait();
                }
            }
        }
        let log = read_log(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        panic!("prosody found its ports taken {PORT_ATTEMPTS} times; log:\n{log}")
    }

    /// Stops Prosody (as a crash would) and starts it again with the same ports and data.
    pub fn restart(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let log_start = read_log(&self.dir).len();
        self.process = spawn(&self.config);
        let listening = wait_listening(
            &mut self.process,
            &self.dir,
            log_start,
            self.c2s_port,
            self.http_port,
        );
        if let Listening::PortTaken = listening {
            panic!(
                "prosody could not take its ports again on restart; log:\n{}",
                self.log()
            );
        }
    }

    pub fn websocket_url(&self) -> String {
        endpoint(self.http_port, Transport::WebSocket)
    }

    /// The endpoint for `transport`.
    pub fn url(&self, transport: Transport) -> String {
        endpoint(self.http_port, transport)
    }

    /// The HTTP port (WebSocket and BOSH).
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    pub fn bosh_url(&self) -> String {
        endpoint(self.http_port, bosh())
    }

    pub fn register(&self, user: &str, password: &str) {
        let status = Command::new(prosody_binary("prosodyctl"))
            .arg("--config")
            .arg(&self.config)
            .args(["register", user, DOMAIN, password])
            .stdout(Stdio::null())
            .status()
            .expect("run prosodyctl");
        assert!(status.success(), "prosodyctl register {user} failed");
    }

    pub fn log(&self) -> String {
        read_log(&self.dir)
    }
}

impl Drop for Prosody {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// BOSH with a short `wait`, so an idle poll comes back within the tests' patience.
pub fn bosh() -> Transport {
    Transport::Bosh {
        wait: Duration::from_secs(5),
        first_rid: 0,
    }
}

/// The endpoint for `transport` of a Prosody (or a proxy in front of it) on loopback `port`.
pub fn endpoint(port: u16, transport: Transport) -> String {
    match transport {
        Transport::WebSocket => format!("ws://127.0.0.1:{port}/xmpp-websocket"),
        Transport::Bosh { .. } => format!("http://127.0.0.1:{port}/http-bind"),
    }
}

/// Waits until the log, from `log_start` (its length before the process was spawned: a fast
/// start may log before this is called), shows both listeners up. Only the log tells
/// Prosody's listener from someone else's on a port that was free when chosen.
fn wait_listening(
    process: &mut Child,
    dir: &Path,
    log_start: usize,
    c2s_port: u16,
    http_port: u16,
) -> Listening {
    let c2s = format!("Activated service 'c2s' on [127.0.0.1]:{c2s_port}");
    let http = format!("Activated service 'http' on [127.0.0.1]:{http_port}");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let log = read_log(dir);
        let new = log.get(log_start..).unwrap_or_default();
        if new.contains(&c2s) && new.contains(&http) {
            return Listening::Yes;
        }
        if new.contains("Failed to open server port") {
            return Listening::PortTaken;
        }
        if let Ok(Some(status)) = process.try_wait() {
            panic!("prosody exited with {status}; log:\n{log}");
        }
        assert!(
            Instant::now() < deadline,
            "prosody did not listen in time; log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn read_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("prosody.log")).unwrap_or_default()
}

fn spawn(config: &Path) -> Child {
    Command::new(prosody_binary("prosody"))
        .arg("-F")
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prosody (apt-get install prosody)")
}

/// Ports the OS reports free right now (all held at once so they differ), never handed out
/// before in this process: parallel tests must not choose each other's ports.
fn free_ports<const N: usize>() -> [u16; N] {
    static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let mut listeners = Vec::with_capacity(N);
    while listeners.len() < N {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
        let port = listener.local_addr().expect("local address").port();
        if !handed_out.contains(&port) {
            handed_out.push(port);
            listeners.push(listener);
        }
    }
    std::array::from_fn(|i| listeners[i].local_addr().expect("local address").port())
}

fn prosody_binary(name: &str) -> PathBuf {
    let path = Path::new("/usr/bin").join(name);
    assert!(
        path.exists(),
        "{name} is not installed: apt-get install prosody"
    );
    path
}

fn config_text(
    dir: &Path,
    c2s_port: u16,
    s2s_port: u16,
    http_port: u16,
    extra_global_options: &str,
) -> String {
    let dir = dir.display();
    format!(
        r#"-- Written by vigie-xmpp's test launcher.
run_as_root = true
pidfile = "{dir}/prosody.pid"
data_path = "{dir}/data"
log = {{ {{ levels = {{ min = "info" }}, to = "file", filename = "{dir}/prosody.log" }} }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {c2s_port} }}
s2s_ports = {{ {s2s_port} }}
http_ports = {{ {http_port} }}
http_interfaces = {{ "127.0.0.1" }}
https_ports = {{ }}
modules_enabled = {{ "roster", "saslauth", "disco", "ping", "version", "vcard", "register", "websocket", "bosh", "smacks", "mam" }}
modules_disabled = {{ "s2s" }}
storage = "internal"
authentication = "internal_hashed"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
consider_websocket_secure = true
consider_bosh_secure = true
-- In-band registration (XEP-0077), as deploy/prosody.cfg.lua allows it.
allow_registration = true
-- As deploy/prosody.cfg.lua: no Nagle delays on small writes.
network_settings = {{ nagle = false }}
{extra_global_options}

VirtualHost "{DOMAIN}"

VirtualHost "{ANONYMOUS_DOMAIN}"
    authentication = "anonymous"

Component "{MUC_DOMAIN}" "muc"
    modules_enabled = {{ "muc_mam" }}
    restrict_room_creation = "local"
"#
    )
}
