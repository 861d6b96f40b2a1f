//! A TCP proxy in front of a server whose connections a test can cut at will, as a dead
//! network would: both sides see the connection close with no goodbye from the other.

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct CutProxy {
    pub port: u16,
    cuts: watch::Sender<u64>,
}

impl CutProxy {
    /// Listens on a free loopback port, forwarding each connection to `target_port`.
    pub async fn start(target_port: u16) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let (cuts, watcher) = watch::channel(0);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut cut = watcher.clone();
                cut.mark_unchanged();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target_port)).await
                    else {
                        return;
                    };
                    tokio::select! {
                        _ = copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                    // Dropping both streams closes them mid-conversation.
                });
            }
        });
        CutProxy { port, cuts }
    }

    /// Cuts every connection open now; later ones go through again.
    pub fn cut(&self) {
        self.cuts.send_modify(|cuts| *cuts += 1);
    }
}
