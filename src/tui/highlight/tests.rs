//! The highlighter against its contract: styles, sanitising, caching.

use super::*;
use ratatui::style::Color;

/// A theme where each syntax slot has its own colour.
fn theme() -> Theme {
    let mut t = Theme::monochrome();
    for (i, slot) in Theme::SLOTS.iter().enumerate() {
        *t.slot_mut(slot).unwrap() = Style::default().fg(Color::Indexed(100 + i as u8));
    }
    t
}

const SAMPLE: &str = r#"# upstream TLS
http {
upstream pool {
    server 10.0.0.1:443 max_fails=2 fail_timeout=30s;
}
server {
    listen 443 ssl;
    client_max_body_size 10m;
    location ~* \.php$ {
        proxy_pass https://pool$request_uri;
        proxy_ssl_server_name on;
        proxy_set_header X-Host "${host}:x \"q\"";
    }
    if ($request_method = POST) { return 405; }
}
}
"#;

/// The style of the first span containing `needle` on line `line`
/// (the span must start at `needle`'s first byte).
fn style_of(lines: &[Line<'_>], line: usize, needle: &str) -> Style {
    let l = &lines[line];
    let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in {text:?}"));
    let mut pos = 0;
    for s in &l.spans {
        if at < pos + s.content.len() {
            assert!(
                s.content[at - pos..].starts_with(needle)
                    || needle.starts_with(&s.content[at - pos..]),
                "{needle:?} split oddly in {:?}",
                l.spans
            );
            return s.style;
        }
        pos += s.content.len();
    }
    unreachable!()
}

#[test]
fn tokens_get_their_slots() {
    let hl = Highlighter::new().unwrap();
    let t = theme();
    let lines = hl.highlight_lines(SAMPLE, 0, 100, &t);
    assert_eq!(lines.len(), SAMPLE.lines().count());
    let check = |line: usize, needle: &str, want: Style| {
        assert_eq!(
            style_of(&lines, line, needle),
            want,
            "line {line}: {needle:?}"
        );
    };
    check(0, "# upstream TLS", t.syntax_comment);
    check(1, "http", t.syntax_block);
    check(1, "{", t.syntax_punct);
    check(2, "upstream", t.syntax_block);
    check(2, "pool", Style::default());
    // `server` inside upstream is a directive, `server {` a block.
    check(3, "server", t.syntax_directive);
    check(3, "10.0.0.1:443", Style::default());
    check(3, "2", t.syntax_number);
    check(3, "30s", t.syntax_number);
    check(3, ";", t.syntax_punct);
    check(4, "}", t.syntax_punct);
    check(5, "server", t.syntax_block);
    check(6, "listen", t.syntax_directive);
    check(6, "443", t.syntax_number);
    check(7, "10m", t.syntax_number);
    check(8, "location", t.syntax_block);
    check(8, "~*", t.syntax_block);
    check(8, "\\.php$", t.syntax_string);
    check(9, "https://pool", Style::default());
    check(9, "$request_uri", t.syntax_variable);
    check(10, "on", t.syntax_number);
    check(11, "\"", t.syntax_string);
    check(11, "${host}", t.syntax_variable);
    check(11, ":x ", t.syntax_string);
    check(11, "\\\"", t.syntax_number);
    check(13, "if", t.syntax_block);
    check(13, "(", t.syntax_punct);
    check(13, "$request_method", t.syntax_variable);
    check(13, "=", t.syntax_block);
    check(13, "return", t.syntax_directive);
    check(13, "405", t.syntax_number);
}

#[test]
fn strings_and_comments_span_correctly() {
    let hl = Highlighter::new().unwrap();
    let t = theme();
    let text = "add_header X 'a # not a comment\nstill string' always; # comment\nfoo#bar 1;";
    let lines = hl.highlight_lines(text, 0, 10, &t);
    assert_eq!(style_of(&lines, 0, "# not"), t.syntax_string);
    assert_eq!(style_of(&lines, 1, "still"), t.syntax_string);
    assert_eq!(style_of(&lines, 1, "always"), Style::default());
    assert_eq!(style_of(&lines, 1, "# comment"), t.syntax_comment);
    // `#` inside a token is not a comment.
    assert_eq!(style_of(&lines, 2, "foo#bar"), Style::default());
    assert_eq!(style_of(&lines, 2, "1"), t.syntax_number);
}

#[test]
fn window_matches_full_render_and_cache_is_consistent() {
    let hl = Highlighter::new().unwrap();
    let t = theme();
    let text = crate::test_support::nginx_lines(3000);
    let full = hl.highlight_lines(&text, 0, usize::MAX, &t);
    assert_eq!(full.len(), 3000);
    for first in [0, 255, 256, 257, 1000, 2990, 2999, 3000, 5000] {
        let part = hl.highlight_lines(&text, first, 20, &t);
        let want: Vec<_> = full.iter().skip(first).take(20).cloned().collect();
        assert_eq!(part, want, "first = {first}");
    }
    // An edit that opens a string changes everything after it; the cache
    // must notice even though the text has the same length.
    let edited = text.replacen("server_name", "server_nam\"", 1);
    assert_eq!(edited.len(), text.len());
    let fresh = Highlighter::new()
        .unwrap()
        .highlight_lines(&edited, 2000, 10, &t);
    assert_eq!(hl.highlight_lines(&edited, 2000, 10, &t), fresh);
    // And switching back reuses or rebuilds correctly.
    let want: Vec<_> = full[2000..2010].to_vec();
    assert_eq!(hl.highlight_lines(&text, 2000, 10, &t), want);
    // Scrolling past the end of a short text leaves the cache alone.
    for _ in 0..2 * CACHED_FILES {
        assert!(hl.highlight_lines("a;\nb;", 400, 5, &t).is_empty());
    }
    assert!(hl.lock_cache().iter().all(|e| !e.checkpoints.is_empty()));
    assert_eq!(
        hl.highlight_lines(&text, 2500, 5, &t),
        full[2500..2505].to_vec()
    );
    // Several files at once.
    let other = crate::test_support::nginx_lines(1000).replace("proxy", "grpc");
    let other_full = hl.highlight_lines(&other, 0, usize::MAX, &t);
    for _ in 0..2 {
        assert_eq!(
            hl.highlight_lines(&other, 600, 5, &t),
            other_full[600..605].to_vec()
        );
        assert_eq!(
            hl.highlight_lines(&text, 2500, 5, &t),
            full[2500..2505].to_vec()
        );
    }
}

#[test]
fn highlighter_can_be_shared() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Highlighter>();
}

#[test]
fn prepare_fills_the_cache() {
    let hl = Highlighter::new().unwrap();
    let t = theme();
    let text = crate::test_support::nginx_lines(2000);
    let full = Highlighter::new()
        .unwrap()
        .highlight_lines(&text, 0, usize::MAX, &t);
    hl.prepare(&text);
    assert_eq!(
        hl.lock_cache()[0].checkpoints.len(),
        1999 / CHECKPOINT_EVERY
    );
    assert_eq!(
        hl.highlight_lines(&text, 1900, 30, &t),
        full[1900..1930].to_vec()
    );
    hl.prepare("short;");
    hl.clear_cache();
    assert!(hl.lock_cache().is_empty());
}

#[test]
fn tokens_in_context() {
    let hl = Highlighter::new().unwrap();
    let t = theme();
    let text = r#"location =/exact { }
location /a=b { proxy_if x; my_server { } }
server
{
if (-f $request_filename) { break; }
if ($http_user_agent !~* "bot") { }
map $http_upgrade $connection_upgrade { default upgrade; '' close; ~^/api 1; }
log_format main '$remote_addr - $remote_user'
'"$request" $status';
ssl_protocols TLSv1.2 TLSv1.3; keepalive_timeout 1h30m; proxy_connect_timeout 500ms; x 2.5;
proxy_cache_path /c levels=1:2 keys_zone=one:10m use_temp_path=off;
"#;
    let lines = hl.highlight_lines(text, 0, 20, &t);
    let check = |line: usize, needle: &str, want: Style| {
        assert_eq!(
            style_of(&lines, line, needle),
            want,
            "line {line}: {needle:?}"
        );
    };
    check(0, "=", t.syntax_block);
    check(0, "/exact", Style::default());
    check(1, "/a", Style::default());
    check(1, "proxy_if", t.syntax_directive);
    check(1, "my_server", t.syntax_directive);
    check(2, "server", t.syntax_block);
    check(3, "{", t.syntax_punct);
    check(4, "-f", t.syntax_block);
    check(4, "$request_filename", t.syntax_variable);
    check(4, ")", t.syntax_punct);
    check(4, "break", t.syntax_directive);
    check(5, "!~*", t.syntax_block);
    check(5, "\"bot\"", t.syntax_string);
    check(6, "map", t.syntax_block);
    check(6, "$connection_upgrade", t.syntax_variable);
    check(6, "default", t.syntax_directive);
    check(6, "''", t.syntax_string);
    check(6, "~^/api", Style::default());
    check(6, "1", t.syntax_number);
    check(7, "'", t.syntax_string);
    check(7, "$remote_addr", t.syntax_variable);
    check(7, " - ", t.syntax_string);
    // A continuation line is still the same statement's arguments.
    check(8, "'\"", t.syntax_string);
    check(8, "$status", t.syntax_variable);
    check(9, "TLSv1.2", Style::default());
    check(9, "1h30m", t.syntax_number);
    check(9, "500ms", t.syntax_number);
    check(9, "2.5", t.syntax_number);
    check(10, "1:2", Style::default());
    check(10, "one:10m", Style::default());
    check(10, "off", t.syntax_number);
}

#[test]
fn odd_input_never_panics() {
    let hl = Highlighter::new().unwrap();
    let t = theme();
    let long = "x".repeat(MAX_LINE_BYTES + 1);
    let inputs = [
        "",
        "\n",
        "\r\n\r\n",
        "{{{{ }}}} ;;; \"unterminated",
        "'\\",
        "\\",
        "$",
        "${",
        "location",
        "location ~",
        "if (",
        "\u{1b}[31mred\u{7}\u{7f}\0",
        "é ü 日本 🦀 \u{fffd}",
        long.as_str(),
    ];
    for input in inputs {
        for first in [0, 1, 300] {
            let lines = hl.highlight_lines(input, first, 5, &t);
            assert!(lines.len() <= 5);
            for l in &lines {
                for s in &l.spans {
                    assert!(!s.content.chars().any(char::is_control), "{input:?}");
                }
            }
        }
    }
    assert!(hl.highlight_lines("a;", 0, 0, &t).is_empty());
    assert!(hl
        .highlight_lines("a;", usize::MAX, usize::MAX, &t)
        .is_empty());
    // The long line is unstyled but the next one is still highlighted.
    let text = format!("{long}\n# c");
    let lines = hl.highlight_lines(&text, 0, 2, &t);
    assert_eq!(lines[0].spans[0].style, Style::default());
    assert_eq!(lines[1].spans[0].style, t.syntax_comment);
}

#[test]
fn sanitize_expands_tabs_and_controls() {
    assert_eq!(sanitize("a\tb"), "a   b");
    assert_eq!(sanitize("\tx"), "    x");
    assert_eq!(sanitize("abcd\tx"), "abcd    x");
    assert_eq!(sanitize("\u{1b}[0m"), "\\x1b[0m");
    assert_eq!(sanitize("\u{7f}"), "\\x7f");
    assert_eq!(sanitize("\u{9b}\u{202e}x"), "\\x9b\\u{202e}x");
    assert_eq!(sanitize("\u{1b}\tx"), "\\x1b    x");
    assert!(matches!(sanitize("plain"), Cow::Borrowed(_)));
    let hl = Highlighter::new().unwrap();
    let t = theme();
    let lines = hl.highlight_lines("\tlisten\t443;", 0, 1, &t);
    assert_eq!(style_of(&lines, 0, "listen"), t.syntax_directive);
    assert_eq!(style_of(&lines, 0, "443"), t.syntax_number);
    let text: String = lines[0].spans.iter().map(|s| s.content.as_ref()).collect();
    assert_eq!(text, "    listen  443;");
}

#[test]
fn crlf_lines() {
    let hl = Highlighter::new().unwrap();
    let lines = hl.highlight_lines("a 1;\r\nb 2;\r\n", 0, 5, &theme());
    assert_eq!(lines.len(), 2);
    let text: String = lines[1].spans.iter().map(|s| s.content.as_ref()).collect();
    assert_eq!(text, "b 2;");
}
