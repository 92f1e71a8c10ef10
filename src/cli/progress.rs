//! How the binary shows progress: the one [`Progress`] the library crates are handed.
//! On a terminal (stderr) an indicatif bar; otherwise (a CI log, a file) a plain
//! line every few seconds with done/total, rate and ETA. Notes are lines either way.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use okla_formats::progress::{NoProgress, Progress};

/// How often a log (not a terminal) gets a progress line.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Progress on stderr, as a bar or as log lines.
pub struct Terminal {
    state: Mutex<State>,
}

enum State {
    /// stderr is a terminal: the bar of the work in hand, if any.
    Bar(Option<ProgressBar>),
    /// stderr is a log.
    Log(LogLines),
}

/// The work in hand when stderr is a log.
struct LogLines {
    label: String,
    total: u64,
    done: u64,
    message: String,
    started: Instant,
    last_line: Instant,
    /// Whether a line was written for this work (then its end gets one too).
    wrote: bool,
}

impl LogLines {
    fn new(total: u64, label: &str) -> Self {
        let now = Instant::now();
        LogLines {
            label: label.to_string(),
            total,
            done: 0,
            message: String::new(),
            started: now,
            last_line: now,
            wrote: false,
        }
    }

    /// `label: done/total (rate/s, eta T) message`.
    fn line(&self) -> String {
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = if elapsed > 0.0 {
            self.done as f64 / elapsed
        } else {
            0.0
        };
        let eta = if rate > 0.0 {
            duration(self.total.saturating_sub(self.done) as f64 / rate)
        } else {
            "?".into()
        };
        let mut line = format!(
            "{}: {}/{} ({}/s, eta {eta})",
            self.label,
            self.done,
            self.total,
            rate_text(rate)
        );
        if !self.message.is_empty() {
            line.push(' ');
            line.push_str(&self.message);
        }
        line
    }
}

impl Terminal {
    /// Progress on stderr: a bar when it is a terminal, else log lines.
    pub fn stderr() -> Self {
        let state = if std::io::stderr().is_terminal() {
            State::Bar(None)
        } else {
            State::Log(LogLines::new(0, ""))
        };
        Terminal {
            state: Mutex::new(state),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Progress for Terminal {
    fn start(&self, total: u64, label: &str) {
        match &mut *self.state() {
            State::Bar(bar) => {
                if let Some(old) = bar.take() {
                    old.finish_and_clear();
                }
                let new = ProgressBar::new(total).with_style(
                    ProgressStyle::with_template(
                        "{prefix:>12} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta}) {msg}",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                );
                new.set_prefix(label.to_string());
                *bar = Some(new);
            }
            State::Log(log) => *log = LogLines::new(total, label),
        }
    }

    fn advance(&self, n: u64) {
        match &mut *self.state() {
            State::Bar(bar) => {
                if let Some(bar) = bar {
                    bar.inc(n);
                }
            }
            State::Log(log) => {
                log.done += n;
                if log.last_line.elapsed() >= LOG_EVERY {
                    log.last_line = Instant::now();
                    log.wrote = true;
                    eprintln!("{}", log.line());
                }
            }
        }
    }

    fn message(&self, text: &str) {
        match &mut *self.state() {
            State::Bar(bar) => {
                if let Some(bar) = bar {
                    bar.set_message(text.to_string());
                }
            }
            State::Log(log) => log.message = text.to_string(),
        }
    }

    fn note(&self, text: &str) {
        match &*self.state() {
            State::Bar(Some(bar)) => bar.println(text),
            _ => eprintln!("{text}"),
        }
    }

    fn finish(&self) {
        match &mut *self.state() {
            State::Bar(bar) => {
                if let Some(bar) = bar.take() {
                    bar.finish_and_clear();
                }
            }
            State::Log(log) => {
                if log.wrote {
                    eprintln!(
                        "{}: {}/{} done in {}",
                        log.label,
                        log.done,
                        log.total,
                        duration(log.started.elapsed().as_secs_f64())
                    );
                }
                log.wrote = false;
            }
        }
    }
}

/// The progress for a command: [`Terminal`], or nothing when `quiet`.
pub fn for_command(quiet: bool) -> Box<dyn Progress> {
    if quiet {
        Box::new(NoProgress)
    } else {
        Box::new(Terminal::stderr())
    }
}

/// `12.3`, `0.42`, `1234`: enough digits to read a rate.
fn rate_text(rate: f64) -> String {
    if rate >= 100.0 {
        format!("{rate:.0}")
    } else if rate >= 1.0 {
        format!("{rate:.1}")
    } else {
        format!("{rate:.2}")
    }
}

/// `42s`, `3m05s`, `2h07m`.
fn duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_read_done_total_rate_and_eta() {
        let mut log = LogLines::new(100, "generating");
        log.done = 25;
        log.started = Instant::now() - Duration::from_secs(10);
        log.message = "case-7".into();
        assert_eq!(log.line(), "generating: 25/100 (2.5/s, eta 30s) case-7");
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(duration(42.4), "42s");
        assert_eq!(duration(185.0), "3m05s");
        assert_eq!(duration(7620.0), "2h07m");
    }
}
