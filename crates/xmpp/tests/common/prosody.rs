//! A private Prosody for one test: temporary directory, free ports, in-memory-ish internal
//! storage, WebSocket on loopback without TLS. Killed and removed on drop.
//!
//! Not `vigie_stack::Prosody`: that one stores into MariaDB (a shared server and a database
//! per test) and takes no per-test options, which these tests need (SASL mechanisms, hash,
//! hibernation time, registration off).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use vigie_xmpp::Transport;

pub const DOMAIN: &str = "localhost";
pub const ANONYMOUS_DOMAIN: &str = "anon.localhost";
pub const MUC_DOMAIN: &str = "rooms.localhost";

pub struct Prosody {
    process: Child,
    dir: PathBuf,
    config: PathBuf,
    http_port: u16,
}

impl Prosody {
    /// Starts Prosody and waits until its HTTP port (WebSocket, BOSH) accepts connections.
    pub fn start() -> Prosody {
        Prosody::start_with("")
    }

    /// As [`start`](Self::start), with extra global options (Lua) appended to the defaults.
    pub fn start_with(extra_global_options: &str) -> Prosody {
        static INSTANCE: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "vigie-xmpp-prosody-{}-{}",
            std::process::id(),
            INSTANCE.fetch_add(1, Ordering::Relaxed)
        ));
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("create Prosody's temporary directory");
        let [c2s_port, s2s_port, http_port] = free_ports();
        let config = dir.join("prosody.cfg.lua");
        std::fs::write(
            &config,
            config_text(&dir, c2s_port, s2s_port, http_port, extra_global_options),
        )
        .expect("write Prosody config");

        let mut prosody = Prosody {
            process: spawn(&config),
            dir,
            config,
            http_port,
        };
        prosody.wait_listening();
        prosody
    }

    /// Stops Prosody (as a crash would) and starts it again with the same ports and data.
    pub fn restart(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        self.process = spawn(&self.config);
        self.wait_listening();
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

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", self.http_port)).is_err() {
            if let Ok(Some(status)) = self.process.try_wait() {
                panic!("prosody exited with {status}; log:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "prosody did not listen in time; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prosody.log")).unwrap_or_default()
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

/// Ports the OS reports free right now (all held at once so they differ).
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port"))
        .collect();
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
