//! A small table of named deadlines (after quinn-proto's `TimerTable`).
//!
//! Each machine names its timers with an enum implementing [`TimerKind`]; the table holds at most
//! one deadline per name. [`TimerTable::next`] is what `poll_timeout()` returns; a timeout
//! delivered early or for a disarmed timer finds nothing expired and is a no-op.

use super::time::Millis;

/// A machine's timer names.
pub trait TimerKind: Copy + Eq + std::fmt::Debug + 'static {
    /// Every timer, in tie-break order (earlier entries fire first at equal deadlines).
    const ALL: &'static [Self];
    /// Position in [`ALL`](Self::ALL).
    fn index(self) -> usize;
    /// Name for logs and transition records (`hello_deadline`, ...).
    fn name(self) -> &'static str;
}

/// At most one deadline per timer name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimerTable<T: TimerKind> {
    deadlines: Vec<Option<Millis>>,
    _kind: std::marker::PhantomData<T>,
}

impl<T: TimerKind> Default for TimerTable<T> {
    fn default() -> Self {
        TimerTable {
            deadlines: vec![None; T::ALL.len()],
            _kind: std::marker::PhantomData,
        }
    }
}

impl<T: TimerKind> TimerTable<T> {
    /// Arm (or re-arm) `timer` for `at`.
    pub fn set(&mut self, timer: T, at: Millis) {
        self.deadlines[timer.index()] = Some(at);
    }

    /// Disarm `timer`.
    pub fn clear(&mut self, timer: T) {
        self.deadlines[timer.index()] = None;
    }

    /// Disarm every timer.
    pub fn clear_all(&mut self) {
        self.deadlines.iter_mut().for_each(|d| *d = None);
    }

    /// The deadline of `timer`, if armed.
    pub fn get(&self, timer: T) -> Option<Millis> {
        self.deadlines[timer.index()]
    }

    /// Whether `timer` is armed.
    pub fn is_armed(&self, timer: T) -> bool {
        self.get(timer).is_some()
    }

    /// The earliest armed deadline and its timer.
    pub fn next(&self) -> Option<(T, Millis)> {
        T::ALL
            .iter()
            .filter_map(|t| self.get(*t).map(|at| (*t, at)))
            .min_by_key(|(t, at)| (*at, t.index()))
    }

    /// The earliest timer whose deadline is at or before `now`.
    pub fn expired(&self, now: Millis) -> Option<T> {
        self.next().filter(|(_, at)| *at <= now).map(|(t, _)| t)
    }

    /// Every armed timer with its deadline.
    pub fn armed(&self) -> impl Iterator<Item = (T, Millis)> + '_ {
        T::ALL
            .iter()
            .filter_map(|t| self.get(*t).map(|at| (*t, at)))
    }
}
