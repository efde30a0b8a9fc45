//! A state gauge whose series can never disagree: the current state is ONE atomic index, and
//! the observable gauge's callback derives all series from a single load of it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Index meaning "no current state": every series reads 0 (onboarding disabled).
const NONE: usize = usize::MAX;

/// The current state of one machine, as an index into its fixed list of state names.
#[derive(Clone, Debug)]
pub(crate) struct OneHot {
    states: &'static [&'static str],
    current: Arc<AtomicUsize>,
}

impl OneHot {
    /// A gauge over `states` starting at `initial` (`None`: all series 0).
    pub(crate) fn new(states: &'static [&'static str], initial: Option<&str>) -> OneHot {
        let gauge = OneHot {
            states,
            current: Arc::new(AtomicUsize::new(NONE)),
        };
        gauge.set(initial);
        gauge
    }

    /// Make `state` current (`None`: no state). Returns false, changing nothing, for a name
    /// outside the list.
    pub(crate) fn set(&self, state: Option<&str>) -> bool {
        let index = match state {
            None => NONE,
            Some(name) => match self.states.iter().position(|s| *s == name) {
                Some(i) => i,
                None => return false,
            },
        };
        self.current.store(index, Ordering::Release);
        true
    }

    /// Every `(state, value)` series from one load of the current index.
    pub(crate) fn series(&self) -> impl Iterator<Item = (&'static str, u64)> + use<> {
        let current = self.current.load(Ordering::Acquire);
        let states = self.states;
        states
            .iter()
            .enumerate()
            .map(move |(i, s)| (*s, u64::from(i == current)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATES: [&str; 3] = ["a", "b", "c"];

    fn ones(g: &OneHot) -> Vec<&'static str> {
        g.series()
            .filter(|(_, v)| *v == 1)
            .map(|(s, _)| s)
            .collect()
    }

    #[test]
    fn exactly_the_current_state_is_one() {
        let g = OneHot::new(&STATES, Some("a"));
        assert_eq!(ones(&g), ["a"]);
        assert!(g.set(Some("c")));
        assert_eq!(ones(&g), ["c"]);
        assert_eq!(g.series().count(), 3);
    }

    #[test]
    fn unknown_name_changes_nothing_and_none_clears() {
        let g = OneHot::new(&STATES, Some("b"));
        assert!(!g.set(Some("zzz")));
        assert_eq!(ones(&g), ["b"]);
        assert!(g.set(None));
        assert!(ones(&g).is_empty());
    }
}
