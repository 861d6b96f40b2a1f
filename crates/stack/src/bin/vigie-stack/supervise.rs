//! When `up` starts again a server or program that ended on its own: soon after it ends,
//! later and later while it keeps ending, and not at all once it ends again and again right
//! after each start (a broken configuration or binary, which waiting cannot mend: then `up`
//! stops everything and says so). Only a part that may finish (the simulator, after its
//! `--duration`) is left alone after a clean exit; a server that exits cleanly (a plain `kill`
//! of Prosody) is as gone as one that crashed.

use std::process::ExitStatus;
use std::time::Duration;

/// The wait before the first start again; it doubles with each crash in a row.
const FIRST_DELAY: Duration = Duration::from_secs(1);
/// A run this long was a real one: the next crash starts the count afresh.
const STEADY_RUN: Duration = Duration::from_secs(60);
/// Crashes in a row, each within [`STEADY_RUN`] of its start, after which `up` gives up
/// (after waiting 1 + 2 + 4 + 8 + 16 = 31 s in all).
const GIVE_UP_AFTER: u32 = 6;

/// What to do about a part that ended.
#[derive(Debug, PartialEq, Eq)]
pub enum AfterExit {
    /// It finished its work (exit status 0 of a part that may finish): leave it.
    Finished,
    /// Start it again after this long.
    StartAgainIn(Duration),
    /// It crashed this many times in a row right after starting: stop everything.
    GiveUp(u32),
}

/// One part's crashes in a row.
#[derive(Debug, Default)]
pub struct Restarts {
    quick_crashes: u32,
}

impl Restarts {
    /// Decides about a part that ended with `status` (`None`: it could not even be started)
    /// after running for `ran_for`; `may_finish`: a clean exit means its work is done.
    pub fn after_exit(
        &mut self,
        status: Option<ExitStatus>,
        ran_for: Duration,
        may_finish: bool,
    ) -> AfterExit {
        if may_finish && status.is_some_and(|status| status.success()) {
            return AfterExit::Finished;
        }
        if ran_for >= STEADY_RUN {
            self.quick_crashes = 0;
        }
        self.quick_crashes += 1;
        if self.quick_crashes >= GIVE_UP_AFTER {
            return AfterExit::GiveUp(self.quick_crashes);
        }
        AfterExit::StartAgainIn(FIRST_DELAY * 2u32.pow(self.quick_crashes - 1))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;

    use super::*;

    fn killed() -> Option<ExitStatus> {
        Some(ExitStatus::from_raw(libc::SIGKILL))
    }

    #[test]
    fn a_clean_exit_is_left_alone_only_for_a_part_that_may_finish() {
        let clean = Some(ExitStatus::from_raw(0));
        let mut restarts = Restarts::default();
        assert_eq!(
            restarts.after_exit(clean, Duration::ZERO, true),
            AfterExit::Finished
        );
        assert_eq!(
            restarts.after_exit(clean, Duration::ZERO, false),
            AfterExit::StartAgainIn(FIRST_DELAY)
        );
    }

    #[test]
    fn crashes_in_a_row_wait_longer_and_longer_then_give_up() {
        let mut restarts = Restarts::default();
        let quick = Duration::from_secs(5);
        let waits: Vec<AfterExit> = (0..GIVE_UP_AFTER)
            .map(|_| restarts.after_exit(killed(), quick, false))
            .collect();
        assert_eq!(
            waits,
            [1, 2, 4, 8, 16]
                .map(|s| AfterExit::StartAgainIn(Duration::from_secs(s)))
                .into_iter()
                .chain([AfterExit::GiveUp(GIVE_UP_AFTER)])
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_failed_start_counts_as_a_crash() {
        let mut restarts = Restarts::default();
        restarts.after_exit(killed(), Duration::ZERO, false);
        assert_eq!(
            restarts.after_exit(None, Duration::ZERO, false),
            AfterExit::StartAgainIn(Duration::from_secs(2))
        );
    }

    #[test]
    fn a_steady_run_starts_the_count_afresh() {
        let mut restarts = Restarts::default();
        for _ in 0..GIVE_UP_AFTER - 1 {
            restarts.after_exit(killed(), Duration::from_secs(1), false);
        }
        assert_eq!(
            restarts.after_exit(killed(), STEADY_RUN, false),
            AfterExit::StartAgainIn(FIRST_DELAY)
        );
    }
}
