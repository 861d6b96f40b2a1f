//! What the stack's tests share.

use std::time::Duration;

/// How long a test waits for a server's answer.
pub const WAIT: Duration = Duration::from_secs(10);
