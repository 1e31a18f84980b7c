//! `nginx -T` output: the whole configuration in one stream.
//!
//! nginx writes, for every file it read, a line `# configuration file PATH:`,
//! the file's bytes, and one extra line feed (src/core/nginx.c). Splitting
//! at those markers gives back each file as nginx read it, which is how a
//! live server is audited without access to its file system.

const MARKER: &[u8] = b"# configuration file ";

fn marker_name(line: &[u8]) -> Option<&[u8]> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let rest = line.strip_prefix(MARKER)?;
    let name = rest.strip_suffix(b":")?;
    (!name.is_empty()).then_some(name)
}

fn lines(text: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= text.len() {
            return None;
        }
        let start = at;
        let end = text[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |i| at + i);
        at = end + 1;
        Some((start, &text[start..end]))
    })
}

/// A line nginx writes about itself rather than a configuration line:
/// `nginx: [warn] …` on a terminal, or the error-log form
/// `2026/11/25 21:17:48 [warn] 4771#4771: …` (Debian's nginx writes that
/// form when its error log goes to stderr).
pub fn is_nginx_message(line: &[u8]) -> bool {
    if line.starts_with(b"nginx: ") {
        return true;
    }
    let b = line;
    b.len() > 21
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'/'
        && b[7] == b'/'
        && b[10] == b' '
        && b[13] == b':'
        && b[16] == b':'
        && b[19..].starts_with(b" [")
}

/// True when the first line that is not nginx's own chatter is a marker.
pub fn is_dump(text: &[u8]) -> bool {
    lines(text)
        .find(|(_, l)| !l.iter().all(u8::is_ascii_whitespace) && !is_nginx_message(l))
        .is_some_and(|(_, l)| marker_name(l).is_some())
}

/// When the input is what `nginx -T` prints for a configuration it rejects,
/// nginx's own error lines.
pub fn failed_test(text: &[u8]) -> Option<String> {
    let errs: Vec<String> = lines(text)
        .filter(|(_, l)| {
            is_nginx_message(l)
                && (l.windows(7).any(|w| w == b"[emerg]")
                    || l.starts_with(b"nginx: configuration file"))
        })
        .map(|(_, l)| String::from_utf8_lossy(l).into_owned())
        .collect();
    errs.iter().any(|l| l.contains("[emerg]")).then(|| {
        format!(
            "this is nginx -T output for a configuration nginx rejected: {}",
            errs.join(" / ")
        )
    })
}

/// The dumped files in order: (name as written, contents).
pub fn split(text: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut current: Option<(String, usize)> = None;
    let finish = |cur: Option<(String, usize)>, end: usize, out: &mut Vec<(String, Vec<u8>)>| {
        if let Some((name, start)) = cur {
            let mut body = &text[start.min(end)..end];
            // nginx appends one line feed after each file.
            body = body.strip_suffix(b"\n").unwrap_or(body);
            if !out.iter().any(|(n, _)| *n == name) {
                out.push((name, body.to_vec()));
            }
        }
    };
    for (start, line) in lines(text) {
        if let Some(name) = marker_name(line) {
            finish(current.take(), start, &mut out);
            let body_start = (start + line.len() + 1).min(text.len());
            current = Some((String::from_utf8_lossy(name).into_owned(), body_start));
        }
    }
    finish(current, text.len(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_nginx_writes() {
        let t = b"nginx: the configuration file /e/n.conf syntax is ok\n\
                  # configuration file /e/n.conf:\nhttp {\n include a;\n}\n\n\
                  # configuration file /e/a:\nno newline at end\n";
        assert!(is_dump(t));
        let f = split(t);
        assert_eq!(f.len(), 2);
        assert_eq!(
            f[0],
            (
                "/e/n.conf".to_string(),
                b"http {\n include a;\n}\n".to_vec()
            )
        );
        assert_eq!(f[1], ("/e/a".to_string(), b"no newline at end".to_vec()));
    }

    #[test]
    fn log_form_messages_before_the_dump_are_nginx_chatter() {
        let t = b"2026/11/25 21:17:48 [warn] 4771#4771: \"ssl_stapling\" ignored\n\
                  # configuration file /e/n.conf:\nevents {}\n";
        assert!(is_dump(t));
        let bad =
            b"2026/11/25 21:17:48 [emerg] 4771#4771: unknown directive \"x\" in /e/n.conf:1\n";
        assert!(failed_test(bad).unwrap().contains("unknown directive"));
    }

    #[test]
    fn plain_configs_are_not_dumps() {
        assert!(!is_dump(b"# a comment\nhttp {}\n"));
        assert!(!is_dump(b""));
        assert!(failed_test(b"nginx: [emerg] unknown directive \"x\" in /e/n.conf:1\n").is_some());
    }

    #[test]
    fn truncated_dump_keeps_what_arrived() {
        let f = split(b"# configuration file /e/n.conf:\nhttp {\n server {");
        assert_eq!(f[0].1, b"http {\n server {");
    }
}
