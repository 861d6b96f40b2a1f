//! Loopback ports: finding free ones, and telling whether something listens.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Mutex;
use std::time::Duration;

/// A loopback TCP port that was free a moment ago and that this process has not handed out
/// before (parallel tests in one process never get the same port twice).
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let handed_out = handed_out.get_or_insert_with(HashSet::new);
    loop {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("bind an ephemeral loopback port")
            .port();
        if handed_out.insert(port) {
            return port;
        }
    }
}

/// `preferred` when nothing listens on it and it can be bound, else a free port.
pub fn preferred_port(preferred: u16) -> u16 {
    if !port_answers(preferred) && TcpListener::bind((Ipv4Addr::LOCALHOST, preferred)).is_ok() {
        preferred
    } else {
        free_port()
    }
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub fn port_answers(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&address, Duration::from_millis(300)).is_ok()
}

/// Whether a process in process group `group` listens on 127.0.0.1:`port` (or on all
/// addresses): tells our server's socket apart from someone else's on the same port.
pub fn group_listens_on(group: u32, port: u16) -> bool {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return false;
    }
    crate::daemon::group_members(group).iter().any(|process| {
        std::fs::read_dir(process.join("fd"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .any(|target| {
                inodes
                    .iter()
                    .any(|inode| target.as_os_str() == inode.as_str())
            })
    })
}

/// `socket:[INODE]` of every IPv4 socket listening on `port` (/proc/net/tcp, state 0A).
fn listening_inodes(port: u16) -> Vec<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let wanted = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (fields.get(1)?, fields.get(3)?, fields.get(9)?);
            let address = local.strip_suffix(&wanted)?;
            let ours = address == "0100007F" || address == "00000000";
            (ours && *state == "0A").then(|| format!("socket:[{inode}]"))
        })
        .collect()
}

/// Forwards every connection accepted on `listener` to `target` (`host:port`) until the
/// listener fails or the task is dropped: a server that appears at the moment a test chooses
/// (bind the listener then), e.g. MySQL for a program started before it.
pub async fn forward(listener: tokio::net::TcpListener, target: String) {
    while let Ok((mut inbound, _)) = listener.accept().await {
        let target = target.clone();
        tokio::spawn(async move {
            if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}
