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

/// How `nginx -v` and `nginx -V` start their version line.
pub const VERSION_LINE: &str = "nginx version: ";

/// The lines `nginx -v` and `nginx -V` print, which people put before a
/// dump (`nginx -V 2>&1; nginx -T`, `nginx -v -T 2>&1`).
const VERSION_INFO: [&[u8]; 5] = [
    VERSION_LINE.as_bytes(),
    b"built by ",
    b"built with ",
    b"TLS SNI support ",
    b"configure arguments:",
];

fn is_version_info(line: &[u8]) -> bool {
    VERSION_INFO.iter().any(|p| line.starts_with(p))
}

/// The lines before the first marker that are not blank.
fn preamble(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    lines(text)
        .map(|(_, l)| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .take_while(|l| marker_name(l).is_none())
}

/// True when the first line that is not nginx's own chatter (its messages,
/// its version) is a marker.
pub fn is_dump(text: &[u8]) -> bool {
    lines(text)
        .find(|(_, l)| {
            !l.iter().all(u8::is_ascii_whitespace) && !is_nginx_message(l) && !is_version_info(l)
        })
        .is_some_and(|(_, l)| marker_name(l).is_some())
}

/// The `nginx version: …` line before a dump's first file, as written (at
/// most 200 bytes of it).
pub fn version_line(text: &[u8]) -> Option<String> {
    preamble(text)
        .find(|l| l.starts_with(VERSION_LINE.as_bytes()))
        .map(|l| String::from_utf8_lossy(&l[..l.len().min(200)]).into_owned())
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

/// What a dump holds: the files in order (name as written, contents), and
/// the problems found while splitting it (1-based line, message).
#[derive(Debug, Default)]
pub struct Dumped {
    pub files: Vec<(String, Vec<u8>)>,
    pub errors: Vec<(u32, String)>,
}

/// Splits a dump into its files.
///
/// nginx dumps each file name once (however often it is included), so a
/// name that comes twice means a line inside some file imitates the
/// marker, and whichever section were picked might hide the other: that
/// is an error naming both lines (the first section is analysed). The same
/// goes for two spellings of one path (`/e/./a` and `/e/a`, which nginx
/// does dump separately) with different contents; with the same contents
/// they are the one file nginx read twice.
pub fn split(text: &[u8]) -> Dumped {
    // (name, body start, marker line)
    let mut sections: Vec<(String, usize, usize, u32)> = Vec::new();
    let mut open: Option<(String, usize, u32)> = None;
    let mut line_no: u32 = 0;
    for (start, line) in lines(text) {
        line_no = line_no.saturating_add(1);
        if let Some(name) = marker_name(line) {
            if let Some((n, body, at)) = open.take() {
                sections.push((n, body, start, at));
            }
            let body_start = (start + line.len() + 1).min(text.len());
            open = Some((
                String::from_utf8_lossy(name).into_owned(),
                body_start,
                line_no,
            ));
        }
    }
    if let Some((n, body, at)) = open {
        sections.push((n, body, text.len(), at));
    }
    let mut out = Dumped::default();
    // Per kept file: its normalized name and marker line.
    let mut kept: Vec<(std::path::PathBuf, u32)> = Vec::new();
    for (name, start, end, at) in sections {
        let mut body = &text[start.min(end)..end];
        // nginx appends one line feed after each file.
        body = body.strip_suffix(b"\n").unwrap_or(body);
        let norm = super::loader::normalize(std::path::Path::new(&name));
        let earlier = kept.iter().position(|(n, _)| *n == norm);
        let Some(i) = earlier else {
            kept.push((norm, at));
            out.files.push((name, body.to_vec()));
            continue;
        };
        let (first_name, first_body) = &out.files[i];
        let first_at = kept[i].1;
        if *first_name == name {
            out.errors.push((
                at,
                format!(
                    "the nginx -T output names \"{}\" twice, at lines {first_at} and {at}: nginx dumps each file once, so one of these is a line inside a file that imitates its marker; only the first is analysed",
                    crate::visible::visible(&name)
                ),
            ));
        } else if first_body != body {
            out.errors.push((
                at,
                format!(
                    "the nginx -T output holds \"{}\" at line {first_at} and \"{}\" at line {at}, one file with two different contents: one of these is a line inside a file that imitates nginx's marker; only the first is analysed",
                    crate::visible::visible(first_name),
                    crate::visible::visible(&name)
                ),
            ));
        }
    }
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
        let f = split(t).files;
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
    fn nginx_version_lines_before_the_dump_are_chatter_and_kept() {
        let t = b"nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.2\nTLS SNI support enabled\n\
                  configure arguments: --with-debug\n\
                  nginx: the configuration file /e/n.conf syntax is ok\n\
                  # configuration file /e/n.conf:\nevents {}\n";
        assert!(is_dump(t));
        assert_eq!(
            version_line(t).as_deref(),
            Some("nginx version: nginx/1.22.1")
        );
        // Only before the first file: a file may hold anything.
        let inside = b"# configuration file /e/n.conf:\n# nginx version: nginx/1.2.3\nnginx version: nginx/1.2.3\n";
        assert_eq!(version_line(inside), None);
        assert_eq!(split(t).files.len(), 1);
    }

    #[test]
    fn plain_configs_are_not_dumps() {
        assert!(!is_dump(b"# a comment\nhttp {}\n"));
        assert!(!is_dump(b""));
        assert!(failed_test(b"nginx: [emerg] unknown directive \"x\" in /e/n.conf:1\n").is_some());
    }

    #[test]
    fn a_name_dumped_twice_is_an_error_with_both_lines() {
        let t = b"# configuration file /e/n.conf:\ninclude a; include b;\n\n\
                  # configuration file /e/a:\n# configuration file /e/b:\nfake;\n\n\
                  # configuration file /e/b:\nreal;\n\n\
                  # configuration file /e/./a:\n\n";
        let d = split(t);
        assert_eq!(d.files.len(), 3);
        assert_eq!(d.errors.len(), 1, "{:?}", d.errors);
        assert_eq!(d.errors[0].0, 8);
        assert!(d.errors[0].1.contains("lines 5 and 8"), "{}", d.errors[0].1);
        // Another spelling of a file, same contents: the file nginx read twice.
        assert!(d.files.iter().all(|(n, _)| n != "/e/./a"));
        let d = split(b"# configuration file /e/a:\nx;\n\n# configuration file /e/./a:\ny;\n");
        assert_eq!(d.errors.len(), 1);
        assert_eq!(d.errors[0].0, 4);
    }

    #[test]
    fn truncated_dump_keeps_what_arrived() {
        let f = split(b"# configuration file /e/n.conf:\nhttp {\n server {").files;
        assert_eq!(f[0].1, b"http {\n server {");
    }
}
