//! Reading what nginx printed on the server: its error lines in either of
//! the forms it writes them, and hints for the usual failures.

use super::target::Remote;

/// nginx's messages at `levels`, each as `nginx: [level] message`: from
/// the console form (`nginx: [emerg] …`) or the error-log form nginx
/// prints when its log is standard error (`2024/01/02 03:04:05 [emerg]
/// 12#12: …`); and its `configuration file … test failed` line.
fn nginx_lines_at(text: &str, levels: &[&str]) -> Vec<String> {
    let mut lines = Vec::new();
    for l in text.lines().map(str::trim) {
        if let Some(lv) = levels.iter().find(|lv| l.contains(*lv)) {
            let msg = l.split_once(lv).map_or(l, |(_, m)| m).trim_start();
            // The log form: `PID#TID: ` before the message.
            let msg = match msg.split_once(": ") {
                Some((id, rest)) if id.bytes().all(|b| b.is_ascii_digit() || b == b'#') => rest,
                _ => msg,
            };
            lines.push(format!("nginx: {lv} {msg}"));
        } else if l.starts_with("nginx: configuration file") && l.ends_with("failed") {
            lines.push(l.to_string());
        }
    }
    lines
}

const FATAL_LEVELS: &[&str] = &["[emerg]", "[alert]", "[crit]"];
const ERROR_LEVELS: &[&str] = &["[emerg]", "[alert]", "[crit]", "[error]"];

/// nginx's own error lines, when it rejected the configuration.
pub(super) fn nginx_errors(text: &str) -> Option<String> {
    let lines = nginx_lines_at(text, FATAL_LEVELS);
    lines
        .iter()
        .any(|l| !l.starts_with("nginx: configuration file"))
        .then(|| lines.join(" / "))
}

/// What nginx said, its error lines first-class (the raw output when it
/// printed none).
pub(super) fn nginx_messages(text: &str) -> String {
    let lines = nginx_lines_at(text, ERROR_LEVELS);
    if lines.is_empty() {
        text.trim().to_string()
    } else {
        lines.join("\n")
    }
}

/// Hints for the usual remote failures.
pub(super) fn failure_hint(remote: &Remote, output: &str) -> &'static str {
    if output.contains("a password is required") || output.contains("a terminal is required") {
        " (--sudo needs passwordless sudo on the server: a NOPASSWD rule)"
    } else if output.contains("Permission denied") && !remote.sudo {
        " (nginx may need root to read its files: try --sudo)"
    } else if output.contains("[emerg]") {
        ""
    } else if output.lines().any(|l| {
        l.contains(remote.nginx.as_str()) && (l.contains("not found") || l.contains("No such file"))
    }) {
        " (set --nginx to the path of nginx on the server, e.g. /usr/sbin/nginx)"
    } else {
        ""
    }
}

/// The lines of `text` joined with ` / `, cut at 600 characters.
pub(super) fn one_line_excerpt(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let joined = lines.join(" / ");
    if joined.chars().count() > 600 {
        let cut: String = joined.chars().take(600).collect();
        format!("{cut}…")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_error_lines_in_both_forms() {
        let log = "2026/11/25 21:17:48 [emerg] 4771#4771: unknown directive \"x\" in /e/n.conf:2\nnginx: configuration file /e/n.conf test failed\n";
        assert_eq!(
            nginx_errors(log).unwrap(),
            "nginx: [emerg] unknown directive \"x\" in /e/n.conf:2 / nginx: configuration file /e/n.conf test failed"
        );
        let console = "nginx: [emerg] open() \"/x\" failed (13: Permission denied)\n";
        assert_eq!(
            nginx_errors(console).unwrap(),
            "nginx: [emerg] open() \"/x\" failed (13: Permission denied)"
        );
        assert!(nginx_errors("nginx: [warn] something\n").is_none());
    }
}
