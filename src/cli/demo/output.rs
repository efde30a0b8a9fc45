//! What the demo prints: transition lines, the progress line and the summary, coloured on a
//! terminal and plain when piped (`std::io::IsTerminal`).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Prints to stdout; on a terminal it keeps one progress line at the bottom, redrawn in place.
#[derive(Clone)]
pub(crate) struct Printer {
    tty: bool,
    started: Instant,
    /// The progress line shown now (terminal only), redrawn after every other line.
    progress: Arc<Mutex<String>>,
}

/// ANSI colours, used only on a terminal.
#[derive(Clone, Copy)]
pub(crate) enum Paint {
    Dim,
    Cyan,
    Magenta,
    Green,
    Yellow,
    Bold,
}

impl Paint {
    fn code(self) -> &'static str {
        match self {
            Paint::Dim => "2",
            Paint::Cyan => "36",
            Paint::Magenta => "35",
            Paint::Green => "32",
            Paint::Yellow => "33",
            Paint::Bold => "1",
        }
    }
}

impl Printer {
    pub(crate) fn new() -> Printer {
        Printer {
            tty: std::io::stdout().is_terminal(),
            started: Instant::now(),
            progress: Arc::new(Mutex::new(String::new())),
        }
    }

    /// Whether stdout is a terminal.
    pub(crate) fn tty(&self) -> bool {
        self.tty
    }

    /// `text` in `paint` on a terminal, as is otherwise.
    pub(crate) fn paint(&self, paint: Paint, text: &str) -> String {
        if self.tty {
            format!("\x1b[{}m{text}\x1b[0m", paint.code())
        } else {
            text.to_string()
        }
    }

    /// Seconds since the demo started, `  12.345s`.
    pub(crate) fn clock(&self) -> String {
        format!("{:>8.3}s", self.started.elapsed().as_secs_f64())
    }

    /// Print one line (above the progress line on a terminal).
    pub(crate) fn line(&self, text: &str) {
        let progress = self.lock();
        let mut out = std::io::stdout().lock();
        if self.tty {
            let _ = write!(out, "\r\x1b[2K{text}\n{progress}");
        } else {
            let _ = writeln!(out, "{text}");
        }
        let _ = out.flush();
    }

    /// Replace the progress line (terminal); when piped, print it as a line of its own.
    pub(crate) fn progress(&self, text: String) {
        if !self.tty {
            self.line(&text);
            return;
        }
        let mut progress = self.lock();
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "\r\x1b[2K{text}");
        let _ = out.flush();
        *progress = text;
    }

    /// Remove the progress line (before the summary).
    pub(crate) fn end_progress(&self) {
        let mut progress = self.lock();
        if self.tty && !progress.is_empty() {
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "\r\x1b[2K");
            let _ = out.flush();
        }
        progress.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, String> {
        self.progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The `p`-th percentile (0..=100) of sorted `values`, nearest rank.
pub(crate) fn percentile(sorted: &[u64], p: u32) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (u64::from(p) * sorted.len() as u64).div_ceil(100).max(1);
    sorted.get(rank as usize - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), Some(50));
        assert_eq!(percentile(&v, 99), Some(99));
        assert_eq!(percentile(&[7], 99), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }
}
