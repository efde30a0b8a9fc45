//! `phantom-fsm demo`: the simulator and the full runtime in one process, a short scripted
//! story, a live one-line-per-transition log, and a summary.
//!
//! The story (times are fractions of `--duration`): connect; the installer's intro DM is
//! rate-limited once, then sent; events arrive; Slack warns and refreshes the link (a
//! handover); the link drops abruptly and the runtime reconnects; a slash command is answered inside its ack;
//! more events. Colours on a terminal, plain text when piped.

mod output;
mod story;

use super::CliError;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// How long the story runs (e.g. 30s, 10s, 1m, 1500ms).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// The LMDB data dir (default: a fresh temporary dir, removed at the end).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Where /metrics, /health and the inspector /debug/ui are served during the demo.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

/// `30s`, `1m`, `1500ms`, or whole seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => return Err(format!("{text:?}: use ms, s or m")),
    };
    if d < Duration::from_secs(5) {
        return Err("the story needs at least 5s".into());
    }
    Ok(d)
}

pub(crate) fn run(args: DemoArgs) -> Result<(), CliError> {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = tokio.block_on(story::play(args.duration, args.data_dir, args.listen));
    tokio.shutdown_timeout(Duration::from_millis(200));
    result
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_parse_with_their_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("7500ms"), Ok(Duration::from_millis(7500)));
        assert!(parse_duration("2s").is_err());
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("x").is_err());
    }
}
