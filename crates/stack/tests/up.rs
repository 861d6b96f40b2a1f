//! `vigie-stack up` end to end, with stand-in programs (shell scripts that record their
//! environment): what they are given, that what crashes is started again, and that
//! Ctrl-C/SIGTERM stops everything.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{mpsc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use vigie_stack::{read_env_file, Mysql, StateDir};

const PROGRAMS: [&str; 4] = [
    "vigie-server",
    "vigie-collector",
    "vigie-gateway",
    "vigie-simulator",
];

/// A stand-in program: writes its environment and pid next to itself, then waits; the
/// server also listens on `$VIGIE_LISTEN`, as `up` waits for that.
fn fake_program(bin_dir: &Path, name: &str) {
    let path = bin_dir.join(name);
    let wait = if name == "vigie-server" {
        "exec python3 -c 'import os, socket\n\
         host, port = os.environ[\"VIGIE_LISTEN\"].rsplit(\":\", 1)\n\
         s = socket.create_server((host, int(port)))\n\
         while True: c = s.accept()[0]; c.recv(100); c.sendall(b\"HTTP/1.0 200 OK\\r\\n\\r\\n\"); c.close()'"
    } else {
        "exec sleep 300"
    };
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nenv > '{dir}/{name}.env.tmp' && mv '{dir}/{name}.env.tmp' '{dir}/{name}.env'\n\
             echo $$ > '{dir}/{name}.pid'\n{wait}\n",
            dir = bin_dir.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn vigie_stack(state: &Path, bin_dir: &Path, database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vigie-stack"));
    command
        .args(["up", "--state-dir"])
        .arg(state)
        .arg("--bin-dir")
        .arg(bin_dir)
        .arg("--dist")
        .arg(state.join("dist"))
        .env("DATABASE_URL", database_url)
        .env_remove("MQTT_URL")
        .env_remove("VIGIE_LISTEN");
    command
}

/// Stops `vigie-stack up` (SIGTERM, as Ctrl-C would) even when an assertion fails first.
struct Running(std::process::Child);

impl Running {
    fn stop(&mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        self.0.wait().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            self.stop();
        }
    }
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `up` prefers the development stack's ports (5222, 5280, 1883…) when they are free: two
/// at once in this process would both choose them.
static ONE_UP_AT_A_TIME: Mutex<()> = Mutex::new(());

/// `vigie-stack up` with stand-in programs in `STATE/bin`, once it says it is up, and the
/// URL of the fresh database it was given.
fn start_up(state: &StateDir, database: &str) -> (Running, String) {
    let bin_dir = state.subdir("bin").unwrap();
    for name in PROGRAMS {
        fake_program(&bin_dir, name);
    }
    let database_url = Mysql::shared().fresh_database(database).unwrap();
    let mut up = Running(
        vigie_stack(state.path(), &bin_dir, &database_url)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (lines_tx, lines) = mpsc::channel();
    let stdout = up.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let ready = lines
        .recv_timeout(Duration::from_secs(30))
        .expect("vigie-stack up printed nothing");
    // stdout carries only what the user must read; logs go to stderr.
    assert!(
        ready.starts_with("Vigie is up: open http://127.0.0.1:"),
        "{ready}"
    );
    (up, database_url)
}

fn one_up_at_a_time() -> MutexGuard<'static, ()> {
    // A test that failed while holding it poisoned it; the next may still run.
    ONE_UP_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The pid a pid file names first (`PID` or `PID STARTTIME`), if the file is there.
fn pid_in(file: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(file).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn is_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| !stat.contains(") Z "))
}

fn signal(pid: i32, signal: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    assert_eq!(
        unsafe { libc::kill(pid, signal) },
        0,
        "kill -{signal} {pid}"
    );
}

#[test]
fn up_provisions_everything_passes_the_environment_and_stops_it_all_on_sigterm() {
    let state = StateDir::temporary("up-test").unwrap();
    let _one = one_up_at_a_time();
    let (mut up, database_url) = start_up(&state, "up_test");
    let bin_dir = state.path().join("bin");
    let stack = read_env_file(&state.path().join("stack.env")).unwrap();
    assert_eq!(stack["DATABASE_URL"], database_url);
    for key in [
        "MQTT_URL",
        "XMPP_WS_URL",
        "XMPP_BOSH_URL",
        "VIGIE_LISTEN",
        "VIGIE_DIST",
    ] {
        assert!(stack.contains_key(key), "{key} missing from stack.env");
    }
    for name in PROGRAMS {
        let env_file = bin_dir.join(format!("{name}.env"));
        wait_for(
            &env_file.display().to_string(),
            Duration::from_secs(10),
            || env_file.exists(),
        );
        let env = read_env_file(&env_file).unwrap();
        for (key, value) in &stack {
            assert_eq!(env.get(key), Some(value), "{name} lacks {key}");
        }
    }
    let gateway = read_env_file(&bin_dir.join("vigie-gateway.env")).unwrap();
    assert_eq!(gateway["XMPP_JID"], "gateway@localhost");
    assert_eq!(gateway["XMPP_PASSWORD"], stack["GATEWAY_PASSWORD"]);
    assert!(
        gateway["GATEWAY_STATE"].ends_with("/gateway.state"),
        "the gateway keeps its checkpoint in the state directory: {:?}",
        gateway.get("GATEWAY_STATE")
    );
    let collector = read_env_file(&bin_dir.join("vigie-collector.env")).unwrap();
    assert_eq!(collector["XMPP_JID"], "collector@localhost");
    assert_eq!(collector["XMPP_PASSWORD"], stack["COLLECTOR_PASSWORD"]);

    let status = up.stop();
    assert!(status.success(), "{status}");
    for name in PROGRAMS {
        let pid = pid_in(&bin_dir.join(format!("{name}.pid"))).unwrap();
        assert!(!is_alive(pid), "{name} still running");
    }
    assert!(!state.path().join("up.pid").exists(), "up.pid left behind");
}

#[test]
fn up_starts_again_a_program_and_servers_that_end() {
    let state = StateDir::temporary("up-restart").unwrap();
    let _one = one_up_at_a_time();
    let (mut up, _) = start_up(&state, "up_restart");
    let gateway_pid_file = state.path().join("bin/vigie-gateway.pid");
    wait_for("the gateway's pid", Duration::from_secs(10), || {
        pid_in(&gateway_pid_file).is_some()
    });
    let crashed = pid_in(&gateway_pid_file).unwrap();
    signal(crashed, libc::SIGKILL);
    wait_for("the gateway started again", Duration::from_secs(15), || {
        pid_in(&gateway_pid_file).is_some_and(|pid| pid != crashed && is_alive(pid))
    });

    let prosody_pid_file = state.path().join("prosody/prosody.owner.pid");
    let crashed = pid_in(&prosody_pid_file).expect("Prosody's pid file");
    signal(crashed, libc::SIGKILL);
    wait_for("Prosody started again", Duration::from_secs(30), || {
        pid_in(&prosody_pid_file).is_some_and(|pid| pid != crashed && is_alive(pid))
    });
    let stack = read_env_file(&state.path().join("stack.env")).unwrap();
    let ws_port: u16 = stack["XMPP_WS_URL"]
        .rsplit(':')
        .next()
        .and_then(|port_and_path| port_and_path.split('/').next())
        .and_then(|port| port.parse().ok())
        .expect("a port in XMPP_WS_URL");
    wait_for("Prosody answering again", Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", ws_port)).is_ok()
    });

    // A server that exits cleanly (a plain kill) is as gone as a crashed one.
    let broker_pid_file = state.path().join("mosquitto/mosquitto.owner.pid");
    let stopped = pid_in(&broker_pid_file).expect("Mosquitto's pid file");
    signal(stopped, libc::SIGTERM);
    wait_for("Mosquitto started again", Duration::from_secs(30), || {
        pid_in(&broker_pid_file).is_some_and(|pid| pid != stopped && is_alive(pid))
    });

    assert!(up.0.try_wait().unwrap().is_none(), "up stopped");
    let status = up.stop();
    assert!(status.success(), "{status}");
}

#[test]
fn up_refuses_to_start_when_a_program_is_missing_and_starts_nothing() {
    let state = StateDir::temporary("up-missing").unwrap();
    let bin_dir = state.subdir("bin").unwrap();
    fake_program(&bin_dir, "vigie-server");
    let database_url = Mysql::shared().fresh_database("up_missing").unwrap();
    let output = vigie_stack(state.path(), &bin_dir, &database_url)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("vigie-gateway"), "{error}");
    assert!(
        !state.path().join("prosody").exists(),
        "Prosody was started"
    );
}
