//! Tables for people, JSON for machines.

use serde_json::Value;

/// Renders rows as a left-aligned text table with a header.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Tables and sentences.
    Text,
    /// One JSON document.
    Json,
    /// Only ids (see `--quiet`).
    Quiet,
}

impl Mode {
    /// The mode the global options ask for.
    pub(crate) fn of(g: &crate::context::GlobalArgs) -> Self {
        if g.json {
            Mode::Json
        } else if g.quiet {
            Mode::Quiet
        } else {
            Mode::Text
        }
    }
}

/// Prints `value` as JSON, `text()` for people, or nothing when quiet.
pub(crate) fn emit(mode: Mode, value: &Value, text: impl FnOnce() -> String) {
    match mode {
        Mode::Json => println!("{value}"),
        Mode::Text => print!("{}", text()),
        Mode::Quiet => {}
    }
}

/// Writes `bytes` to `path` (an `--out` file), creating its directory.
pub(crate) fn write_file(path: &std::path::Path, bytes: &[u8]) -> crate::exit::CliResult<()> {
    use crate::exit::CliError;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::input(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(path, bytes)
        .map_err(|e| CliError::input(format!("cannot write --out {}: {e}", path.display())))
}

/// Whether progress may be drawn: both stdout and stderr are terminals (a pipe, a
/// file or CI gets no escape codes).
pub(crate) fn interactive() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}

/// A spinner on stderr, hidden unless [`interactive`].
pub(crate) fn spinner(msg: &str) -> indicatif::ProgressBar {
    if !interactive() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(100));
    pb
}

/// A bar of `len` steps on stderr, hidden unless [`interactive`].
pub(crate) fn progress(len: u64, msg: &str) -> indicatif::ProgressBar {
    bar(len, "{pos}/{len}", msg)
}

/// A byte-count bar on stderr, hidden unless [`interactive`].
pub(crate) fn bytes_progress(total: u64, msg: &str) -> indicatif::ProgressBar {
    bar(total, "{bytes}/{total_bytes}", msg)
}

/// A bar of `len` showing `counts` (an indicatif template fragment), hidden unless
/// [`interactive`].
fn bar(len: u64, counts: &str, msg: &str) -> indicatif::ProgressBar {
    if !interactive() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len);
    if let Ok(style) = bar_style(counts) {
        pb.set_style(style);
    }
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(100));
    pb
}

fn bar_style(counts: &str) -> Result<indicatif::ProgressStyle, indicatif::style::TemplateError> {
    indicatif::ProgressStyle::with_template(&format!(
        "{{spinner}} {{msg}} [{{bar:30}}] {counts} ({{elapsed}})"
    ))
    .map(|s| s.progress_chars("=> "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_templates_parse() {
        for counts in ["{pos}/{len}", "{bytes}/{total_bytes}"] {
            assert!(bar_style(counts).is_ok(), "{counts}");
        }
    }

    #[test]
    fn aligned() {
        let t = table(
            &["name", "v"],
            &[
                vec!["fraud-detector".into(), "3".into()],
                vec!["a".into(), "10".into()],
            ],
        );
        assert_eq!(
            t,
            "name            v\nfraud-detector  3\na               10\n"
        );
    }
}
