//! Ctrl-C and SIGTERM, caught from the start so a signal during start-up still stops what was
//! started, in order, instead of killing `vigie-stack` and leaving servers behind.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Result;
use tokio::signal::unix::{signal, SignalKind};

pub struct Signals {
    received: Arc<AtomicBool>,
    _runtime: tokio::runtime::Runtime,
}

impl Signals {
    pub fn install() -> Result<Signals> {
        // One worker thread drives the signal driver while the main thread does blocking work.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        // Handlers must exist before we return: register them here, wait in a task.
        let received = Arc::new(AtomicBool::new(false));
        let (mut interrupt, mut terminate, mut hangup) = runtime.block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
                signal(SignalKind::hangup())?,
            ))
        })?;
        let flag = received.clone();
        runtime.spawn(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
                _ = hangup.recv() => {}
            }
            flag.store(true, Ordering::SeqCst);
        });
        Ok(Signals {
            received,
            _runtime: runtime,
        })
    }

    /// Whether Ctrl-C, SIGTERM or SIGHUP arrived.
    pub fn received(&self) -> bool {
        self.received.load(Ordering::SeqCst)
    }
}
