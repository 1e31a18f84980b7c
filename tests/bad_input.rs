//! A corpus of broken inputs, each with its expected outcome.
//!
//! For every case: the exit code is exactly the expected one (2 for a load
//! error, 0 for inputs that only look odd), stderr holds ONE line per error
//! formatted `hopscope: error: FILE:LINE: message` naming the right file and
//! line (`FILE: message` for a file that cannot be read at all), the JSON
//! `errors` say the same, nothing panics, and each run ends within
//! [`CASE_TIMEOUT`]. Where the main file is fine and an include is broken,
//! the hops of the good parts must still be listed (contract: errors are
//! listed, the rest is analysed).

mod common;

use common::*;
use serde_json::Value;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

/// Bound for one hopscope run.
const CASE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where an error must point.
#[derive(Clone, Debug)]
enum At {
    /// `FILE:LINE: message`.
    Line(String, u32),
    /// `FILE:LINE: message` with LINE in a range (random input).
    Lines(String, u32, u32),
    /// `FILE: message` (the file as a whole).
    File(String),
}

#[derive(Clone, Debug)]
struct Want {
    at: At,
    /// A piece of the message.
    says: String,
}

fn line(file: &str, n: usize, says: &str) -> Want {
    Want {
        at: At::Line(file.to_string(), n as u32),
        says: says.to_string(),
    }
}

struct Case {
    name: String,
    /// Keeps the files alive.
    _dir: Prefix,
    args: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    code: i32,
    errors: Vec<Want>,
    /// Hop ids that must be listed, exactly (None: not checked).
    hops: Option<Vec<String>>,
    /// More checks on the JSON document.
    json: Option<JsonCheck>,
    /// Real `nginx -t` must report its error at the same file and line.
    nginx_agrees: bool,
}

type JsonCheck = fn(&Value) -> Vec<String>;

impl Case {
    fn new(name: &str, dir: Prefix, path: &Path) -> Case {
        Case {
            name: name.to_string(),
            _dir: dir,
            args: vec!["hops".into(), path.as_os_str().to_owned(), "--json".into()],
            stdin: None,
            code: 2,
            errors: Vec::new(),
            hops: None,
            json: None,
            nginx_agrees: false,
        }
    }
    fn errors(mut self, e: Vec<Want>) -> Case {
        self.errors = e;
        self
    }
    fn hops(mut self, h: Vec<String>) -> Case {
        self.hops = Some(h);
        self
    }
    fn nginx_agrees(mut self) -> Case {
        self.nginx_agrees = true;
        self
    }
    fn ok(mut self) -> Case {
        self.code = 0;
        self
    }
}

// ---------------------------------------------------------------------------
// Building inputs
// ---------------------------------------------------------------------------

/// A good main file whose first server includes `target` (written as is):
/// ```text
/// events {}
/// http {
///     server {
///         listen 127.0.0.1:8080;
///         location /good/ {
///             proxy_pass https://good.example;
///         }
///         include TARGET;
///     }
///     server { … location /after/ { proxy_pass https://after.example; } }
/// }
/// ```
/// Returns the two good hop ids and the line of the include.
fn skeleton(p: &Prefix, target: &str) -> (Vec<String>, usize) {
    let mut f = ConfFile::new("nginx.conf");
    f.line("events {}");
    f.open("http");
    f.open("server");
    f.line("listen 127.0.0.1:8080;");
    f.open("location /good/");
    let a = f.line("proxy_pass https://good.example;");
    f.close();
    let inc = f.line(format!("include {target};"));
    f.close();
    f.open("server");
    f.line("listen 127.0.0.1:8081;");
    f.open("location /after/");
    let b = f.line("proxy_pass https://after.example;");
    f.close();
    f.close();
    f.close();
    p.write_conf(&f);
    (
        vec![format!("nginx.conf:{a}"), format!("nginx.conf:{b}")],
        inc,
    )
}

/// Deterministic bytes (xorshift64*).
fn random_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.max(1);
    (0..n)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// Random bytes with NUL and invalid UTF-8, but no byte that nginx's
/// tokenizer treats specially (`;{}"'\#`) and whitespace often enough that
/// no word reaches 4096 bytes: the only error is the unterminated
/// directive at the end of the file, on its last line.
fn binary_words(seed: u64, n: usize) -> (Vec<u8>, u32) {
    let mut v: Vec<u8> = random_bytes(seed, n)
        .into_iter()
        .map(|b| match b {
            b';' | b'{' | b'}' | b'"' | b'\'' | b'\\' | b'#' => 0xff,
            _ => b,
        })
        .collect();
    for (i, b) in v.iter_mut().enumerate() {
        if i % 97 == 50 {
            *b = b'\n';
        }
    }
    v.splice(0..0, b"\x00\xff\xfe\xc3\x28 ".iter().copied());
    v.extend_from_slice(b" \x00end\xff");
    let lines = v.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
    (v, lines)
}

/// Server-level content with a syntax error; (name, text, error line, what
/// the message says, hop lines listed before the error).
/// `nginx -t` reports the same line except for unterminated quotes (nginx
/// reports them where the file ends).
fn syntax_cases() -> Vec<(&'static str, String, usize, &'static str, Vec<usize>)> {
    let ok_loc = "location /a/ {\n    proxy_pass https://a.example;\n}\n";
    vec![
        (
            "unterminated double quote",
            format!("{ok_loc}location /b/ {{\n    return 200 \"abc;\n}}\n"),
            5,
            "unexpected end of file",
            vec![2],
        ),
        (
            "unterminated single quote",
            format!("{ok_loc}location /b/ {{\n    return 200 'abc;\n}}\n"),
            5,
            "unexpected end of file",
            vec![2],
        ),
        (
            "unterminated brace (EOF)",
            "location /a/ {\n    proxy_pass https://a.example;\n".to_string(),
            3,
            "unexpected end of file",
            vec![2],
        ),
        (
            "unexpected } at the top level",
            format!("{ok_loc}}}\nlocation /b/ {{\n    proxy_pass https://b.example;\n}}\n"),
            4,
            "unexpected \"}\"",
            vec![2],
        ),
        (
            "; with no directive",
            "location /a/ {\n    proxy_pass https://a.example;\n    ;\n}\n".to_string(),
            3,
            "unexpected \";\"",
            vec![2],
        ),
        (
            "quoted string followed by a letter",
            "location /a/ {\n    proxy_pass https://a.example;\n    add_header X \"a\"b;\n}\n"
                .to_string(),
            3,
            "unexpected \"b\"",
            vec![2],
        ),
        (
            "4096+ byte bare parameter",
            format!(
                "location /a/ {{\n    proxy_pass https://a.example;\n    set $x {};\n}}\n",
                "p".repeat(5000)
            ),
            3,
            "too long parameter",
            vec![2],
        ),
        (
            "4096+ byte quoted parameter",
            format!(
                "location /a/ {{\n    proxy_pass https://a.example;\n    set $x \"{}\";\n}}\n",
                "q".repeat(5000)
            ),
            3,
            "too long parameter",
            vec![2],
        ),
        (
            "4096 byte parameter (one too long)",
            format!(
                "location /a/ {{\n    proxy_pass https://a.example;\n\n    set $x {};\n}}\n",
                "r".repeat(4096)
            ),
            4,
            "too long parameter",
            vec![2],
        ),
    ]
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();

    // ---- syntax errors in an included file, and some as the main file -----
    for (name, text, err_line, says, hop_lines) in syntax_cases() {
        let p = Prefix::new("bad");
        let (mut good, _) = skeleton(&p, "broken.conf");
        p.write("broken.conf", &text);
        good.extend(hop_lines.iter().map(|l| format!("broken.conf:{l}")));
        let path = p.conf_path();
        let c = Case::new(&format!("{name} (include)"), p, &path)
            .errors(vec![line("broken.conf", err_line, says)])
            .hops(good);
        out.push(if name.contains("quote") {
            c
        } else {
            c.nginx_agrees()
        });
    }
    for (name, text, err_line, says, hop_lines) in syntax_cases().into_iter().take(6) {
        // the same content as the main file, inside `http { server {`
        let p = Prefix::new("bad");
        let main = format!("events {{}}\nhttp {{\nserver {{\n{text}}}\n}}\n");
        p.write("nginx.conf", &main);
        let path = p.conf_path();
        let l = if name.starts_with("unexpected }") {
            // its `}` closes `server` here; the one too many is the last line
            main.matches('\n').count()
        } else if name.starts_with("unterminated brace") {
            // `http` is left open: the end of the file
            main.matches('\n').count() + 1
        } else {
            err_line + 3
        };
        out.push(
            Case::new(&format!("{name} (main)"), p, &path)
                .errors(vec![line("nginx.conf", l, says)])
                .hops(
                    hop_lines
                        .iter()
                        .map(|h| format!("nginx.conf:{}", h + 3))
                        .collect(),
                ),
        );
    }
    // an unterminated quote read from standard input
    {
        let p = Prefix::new("bad");
        let text = "events {}\nhttp {\n    server {\n        location / {\n            proxy_pass https://stdin.example;\n            return 200 \"x;\n        }\n    }\n}\n";
        let path = p.conf_path();
        let mut c = Case::new("unterminated double quote (stdin)", p, &path)
            .errors(vec![line("-", 6, "unexpected end of file")])
            .hops(vec!["-:5".into()]);
        c.args = vec!["hops".into(), "-".into(), "--json".into()];
        c.stdin = Some(text.as_bytes().to_vec());
        out.push(c);
    }
    // a 4095-byte parameter is fine (nginx's limit is 4096 with the separator)
    {
        let p = Prefix::new("bad");
        let (mut good, _) = skeleton(&p, "long-ok.conf");
        p.write(
            "long-ok.conf",
            &format!(
                "location /a/ {{\n    set $x {};\n    proxy_pass https://a.example;\n}}\n",
                "s".repeat(4095)
            ),
        );
        good.push("long-ok.conf:3".into());
        let path = p.conf_path();
        out.push(
            Case::new("4095 byte parameter (valid)", p, &path)
                .ok()
                .hops(good),
        );
    }

    // ---- include targets ----------------------------------------------------
    {
        let p = Prefix::new("bad");
        let (good, l) = skeleton(&p, "missing.conf");
        let path = p.conf_path();
        out.push(
            Case::new("include of a missing file", p, &path)
                .errors(vec![line("nginx.conf", l, "missing.conf")])
                .hops(good)
                .nginx_agrees(),
        );
    }
    {
        let p = Prefix::new("bad");
        let (good, _) = skeleton(&p, "nothing.d/*.conf");
        let path = p.conf_path();
        out.push(
            Case::new("empty glob include (not an error)", p, &path)
                .ok()
                .hops(good),
        );
    }
    {
        let p = Prefix::new("bad");
        let (mut good, _) = skeleton(&p, "self.conf");
        p.write(
            "self.conf",
            "location /s/ {\n    proxy_pass https://s.example;\n}\ninclude self.conf;\n",
        );
        good.push("self.conf:2".into());
        let path = p.conf_path();
        out.push(
            Case::new("include cycle: a file includes itself", p, &path)
                .errors(vec![line("self.conf", 4, "cycle")])
                .hops(good),
        );
    }
    {
        let p = Prefix::new("bad");
        let (good, _) = skeleton(&p, "cyc/*.conf");
        p.write("cyc/1.conf", "add_header X-C1 1;\n");
        p.write("cyc/2.conf", "add_header X-C2 2;\ninclude cyc/*.conf;\n");
        let path = p.conf_path();
        out.push(
            Case::new("include cycle through a glob", p, &path)
                .errors(vec![line("cyc/2.conf", 2, "cycle")])
                .hops(good),
        );
    }
    {
        let p = Prefix::new("bad");
        p.write("loop/a.conf", "include loop/b.conf;\n");
        p.write("loop/b.conf", "\n\ninclude loop/a.conf;\n");
        let (good, _) = skeleton(&p, "loop/a.conf");
        let path = p.conf_path();
        out.push(
            Case::new("include cycle through two files", p, &path)
                .errors(vec![line("loop/b.conf", 3, "cycle")])
                .hops(good),
        );
    }
    {
        let p = Prefix::new("bad");
        std::fs::create_dir_all(p.path().join("adir")).expect("mkdir");
        let (good, l) = skeleton(&p, "adir");
        let path = p.conf_path();
        out.push(
            Case::new("a directory as include target", p, &path)
                .errors(vec![line("nginx.conf", l, "adir")])
                .hops(good),
        );
    }
    {
        let p = Prefix::new("bad");
        std::fs::create_dir_all(p.path().join("globdir/sub.conf")).expect("mkdir");
        p.write("globdir/a.conf", "add_header X-A 1;\n");
        let (good, l) = skeleton(&p, "globdir/*.conf");
        let path = p.conf_path();
        out.push(
            Case::new("a glob matching a directory", p, &path)
                .errors(vec![line("nginx.conf", l, "sub.conf")])
                .hops(good),
        );
    }
    for (name, target, make) in [
        ("a FIFO as include target", "fifo", "fifo"),
        ("a FIFO matched by a glob", "fifos/*", "fifos/f"),
    ] {
        let p = Prefix::new("bad");
        let fifo = p.path().join(make);
        std::fs::create_dir_all(fifo.parent().expect("parent")).expect("mkdir");
        let st = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("run mkfifo");
        assert!(st.success(), "mkfifo failed");
        let (good, l) = skeleton(&p, target);
        let path = p.conf_path();
        out.push(
            Case::new(name, p, &path)
                .errors(vec![line("nginx.conf", l, make)])
                .hops(good),
        );
    }
    // Files of /proc look regular; /proc/kmsg blocks a reader (as root)
    // until the kernel logs. Neither is read, and the error says why.
    for target in ["/proc/self/status", "/proc/kmsg"] {
        if !Path::new(target).exists() {
            continue;
        }
        let p = Prefix::new("bad");
        let (good, l) = skeleton(&p, target);
        let path = p.conf_path();
        out.push(
            Case::new(&format!("{target} as include target"), p, &path)
                .errors(vec![line(
                    "nginx.conf",
                    l,
                    "is a file of the kernel's proc (/proc) file system",
                )])
                .hops(good),
        );
    }
    {
        let p = Prefix::new("bad");
        let (good, l) = skeleton(&p, "/dev/zero");
        let path = p.conf_path();
        out.push(
            Case::new("/dev/zero as include target", p, &path)
                .errors(vec![line("nginx.conf", l, "/dev/zero")])
                .hops(good),
        );
    }
    {
        let p = Prefix::new("bad");
        std::os::unix::fs::symlink(p.path().join("nowhere.conf"), p.path().join("dangling"))
            .expect("symlink");
        let (good, l) = skeleton(&p, "dangling");
        let path = p.conf_path();
        out.push(
            Case::new("a dangling symlink as include target", p, &path)
                .errors(vec![line("nginx.conf", l, "dangling")])
                .hops(good)
                .nginx_agrees(),
        );
    }
    {
        let p = Prefix::new("bad");
        std::os::unix::fs::symlink(p.path().join("loop2"), p.path().join("loop1"))
            .expect("symlink");
        std::os::unix::fs::symlink(p.path().join("loop1"), p.path().join("loop2"))
            .expect("symlink");
        let (good, l) = skeleton(&p, "loop1");
        let path = p.conf_path();
        out.push(
            Case::new("a symlink loop as include target", p, &path)
                .errors(vec![line("nginx.conf", l, "loop1")])
                .hops(good)
                .nginx_agrees(),
        );
    }

    // ---- binary files ----------------------------------------------------------
    {
        let p = Prefix::new("bad");
        let (bytes, last) = binary_words(7, 6000);
        std::fs::write(p.path().join("bin.conf"), &bytes).expect("write");
        let (good, _) = skeleton(&p, "bin.conf");
        let path = p.conf_path();
        out.push(
            Case::new("binary words as include (error on the last line)", p, &path)
                .errors(vec![line(
                    "bin.conf",
                    last as usize,
                    "unexpected end of file",
                )])
                .hops(good),
        );
    }
    {
        let p = Prefix::new("bad");
        let (bytes, last) = binary_words(11, 6000);
        std::fs::write(p.conf_path(), &bytes).expect("write");
        let path = p.conf_path();
        out.push(
            Case::new("binary words as main (error on the last line)", p, &path)
                .errors(vec![line(
                    "nginx.conf",
                    last as usize,
                    "unexpected end of file",
                )])
                .hops(vec![]),
        );
    }
    for (seed, as_main) in [(1u64, true), (2, false), (3, true), (4, false)] {
        let p = Prefix::new("bad");
        let mut bytes = random_bytes(seed, 3000);
        // NUL and invalid UTF-8 on a line of their own, no `;`: never complete
        bytes.extend_from_slice(b"\n\x00\xff\xfe\xc3\x28");
        let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
        let (file, good) = if as_main {
            std::fs::write(p.conf_path(), &bytes).expect("write");
            ("nginx.conf", vec![])
        } else {
            std::fs::write(p.path().join("rand.bin"), &bytes).expect("write");
            ("rand.bin", skeleton(&p, "rand.bin").0)
        };
        let path = p.conf_path();
        let mut c = Case::new(
            &format!(
                "random bytes (seed {seed}) as {}",
                if as_main { "main" } else { "include" }
            ),
            p,
            &path,
        );
        c.errors = vec![Want {
            at: At::Lines(file.into(), 1, lines),
            says: String::new(),
        }];
        if !as_main {
            c.hops = Some(good);
        }
        out.push(c);
    }

    // ---- deep nesting ---------------------------------------------------------
    {
        let limit = hopscope::conf::parser::MAX_DEPTH;
        let p = Prefix::new("bad");
        // written by hand: indentation would make the file gigabytes
        let mut lines: Vec<String> = vec!["events {}".into()];
        let mut opens = 0usize;
        let mut over = None;
        let mut open = |lines: &mut Vec<String>, head: String| {
            lines.push(format!("{head} {{"));
            opens += 1;
            if opens == limit + 1 && over.is_none() {
                over = Some(lines.len());
            }
        };
        open(&mut lines, "http".into());
        open(&mut lines, "server".into());
        open(&mut lines, "location /l/".into());
        lines.push("proxy_pass https://deep.example;".into());
        let hop = lines.len();
        for i in 0..10_000 {
            open(&mut lines, format!("location /l{i}/"));
        }
        for _ in 0..10_003 {
            lines.push("}".into());
        }
        p.write("nginx.conf", &(lines.join("\n") + "\n"));
        let path = p.conf_path();
        let c = Case::new("10 000-deep nesting in one file", p, &path)
            .hops(vec![format!("nginx.conf:{hop}")]);
        out.push(match over {
            Some(l) => c.errors(vec![line("nginx.conf", l, "nested")]),
            None => c.ok(),
        });
    }
    {
        // 300 files, each adding two levels (nginx accepts this tree)
        let limit = hopscope::model::tree::MAX_DEPTH;
        let p = Prefix::new("bad");
        let mut m = ConfFile::new("nginx.conf");
        m.line("events {}");
        m.open("http");
        m.open("server");
        m.line("include chain/0.conf;");
        m.close();
        m.close();
        p.write_conf(&m);
        let mut hops = Vec::new();
        let mut err = None;
        let mut path_so_far = String::new();
        for i in 0..300usize {
            // main = 0, http = 1, server = 2, file i: 3 + 2i and 4 + 2i
            let (d1, d2) = (3 + 2 * i, 4 + 2 * i);
            let a = format!("{path_so_far}/a{i}");
            let b = format!("{a}/b");
            let mut f = ConfFile::new(&format!("chain/{i}.conf"));
            let l1 = f.open(format!("location {a}/"));
            let l2 = f.open(format!("location {b}/"));
            let h = f.line("proxy_pass https://127.0.0.1:8443;");
            if i + 1 < 300 {
                f.line(format!("include chain/{}.conf;", i + 1));
            }
            f.close();
            f.close();
            p.write_conf(&f);
            if err.is_none() {
                if d1 > limit {
                    err = Some((f.rel.clone(), l1));
                } else if d2 > limit {
                    err = Some((f.rel.clone(), l2));
                } else {
                    hops.push(format!("{}:{h}", f.rel));
                }
            }
            path_so_far = b;
        }
        let path = p.conf_path();
        let c = Case::new("deep nesting through 300 includes", p, &path).hops(hops);
        out.push(match err {
            Some((file, l)) => c.errors(vec![line(&file, l, "nested")]),
            None => c.ok(),
        });
    }

    // ---- valid oddities: CRLF and a UTF-8 BOM ------------------------------------
    {
        let p = Prefix::new("bad");
        let main = "events {}\r\nhttp {\r\n    proxy_ssl_server_name on;\r\n    server {\r\n        include bom.conf;\r\n        location / {\r\n            proxy_ssl_name crlf.example;\r\n            proxy_pass https://crlf;\r\n        }\r\n    }\r\n}\r\n";
        p.write("nginx.conf", main);
        let bom = "\u{feff}location /bom/ {\r\n    proxy_ssl_name bom.example:8443;\r\n    proxy_pass https://bom;\r\n}\n";
        p.write("bom.conf", bom);
        let path = p.conf_path();
        out.push(Case {
            json: Some(crlf_bom_values),
            ..Case::new("CRLF line ends and a UTF-8 BOM (valid)", p, &path)
                .ok()
                .hops(vec!["nginx.conf:8".into(), "bom.conf:3".into()])
        });
    }

    // ---- the main file itself ------------------------------------------------------
    {
        let p = Prefix::new("bad");
        let missing = p.path().join("no-such-nginx.conf");
        out.push(
            Case::new("missing main file", p, &missing).errors(vec![Want {
                at: At::File(missing.display().to_string()),
                says: String::new(),
            }]),
        );
    }
    {
        let p = Prefix::new("bad");
        let dir = p.path().join("empty-dir");
        std::fs::create_dir_all(&dir).expect("mkdir");
        let shown = dir.join("nginx.conf").display().to_string();
        out.push(
            Case::new("a directory without nginx.conf as PATH", p, &dir).errors(vec![Want {
                at: At::File(shown),
                says: String::new(),
            }]),
        );
    }
    {
        let p = Prefix::new("bad");
        let fifo = p.path().join("main.fifo");
        let st = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("run mkfifo");
        assert!(st.success());
        out.push(Case::new("a FIFO as PATH", p, &fifo).errors(vec![Want {
            at: At::File(fifo.display().to_string()),
            says: String::new(),
        }]));
    }
    {
        let p = Prefix::new("bad");
        out.push(
            Case::new("/dev/zero as PATH", p, Path::new("/dev/zero")).errors(vec![Want {
                at: At::File("/dev/zero".into()),
                says: String::new(),
            }]),
        );
    }

    // ---- several broken includes at once -------------------------------------------
    {
        let p = Prefix::new("bad");
        let mut f = ConfFile::new("nginx.conf");
        f.line("events {}");
        f.open("http");
        let l_missing = f.line("include gone.conf;");
        f.open("server");
        f.line("listen 127.0.0.1:8080;");
        f.line("include broken.conf;");
        f.open("location /good/");
        let a = f.line("proxy_pass https://good.example;");
        f.close();
        f.line("include self.conf;");
        f.close();
        f.close();
        p.write_conf(&f);
        p.write(
            "broken.conf",
            "location /x/ {\n    proxy_pass https://x.example;\n}\n}\n",
        );
        p.write(
            "self.conf",
            "location /s/ {\n    proxy_pass https://s.example;\n}\ninclude self.conf;\n",
        );
        let path = p.conf_path();
        out.push(
            Case::new("three broken includes at once", p, &path)
                .errors(vec![
                    line("nginx.conf", l_missing, "gone.conf"),
                    line("broken.conf", 4, "unexpected \"}\""),
                    line("self.conf", 4, "cycle"),
                ])
                .hops(vec![
                    format!("nginx.conf:{a}"),
                    "broken.conf:2".into(),
                    "self.conf:2".into(),
                ]),
        );
    }
    out
}

/// CRLF and BOM: values without `\r`, lines and columns as a person counts.
fn crlf_bom_values(doc: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let hops = doc["hops"].as_array().cloned().unwrap_or_default();
    let find = |id: &str| hops.iter().find(|h| h["id"] == id).cloned();
    let want = [
        ("nginx.conf:8", "crlf.example", 7, "crlf.example", 13),
        ("bom.conf:3", "bom.example:8443", 2, "bom.example", 5),
    ];
    for (id, name, name_line, sni, column) in want {
        let Some(h) = find(id) else { continue };
        let set = &h["settings"]["proxy_ssl_name"];
        let expected = serde_json::json!({
            "value": name, "origin": "explicit",
            "file": id.split(':').next().unwrap_or(""), "line": name_line, "level": "location",
        });
        if *set != expected {
            bad.push(format!("{id}: proxy_ssl_name {set}, expected {expected}"));
        }
        let sn = &h["settings"]["proxy_ssl_server_name"];
        if sn["line"] != 3 || sn["file"] != "nginx.conf" || sn["value"] != "on" {
            bad.push(format!("{id}: proxy_ssl_server_name {sn}"));
        }
        if h["sni"]["name"] != sni || h["sni"]["sent"] != true {
            bad.push(format!("{id}: sni {}, expected {sni}", h["sni"]));
        }
        if h["column"] != column {
            bad.push(format!("{id}: column {}, expected {column}", h["column"]));
        }
    }
    bad
}

// ---------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------

/// Split `hopscope: error: FILE:LINE: message` (or `FILE: message`).
fn parse_line(l: &str) -> Option<(String, Option<u32>, String)> {
    let rest = l.strip_prefix("hopscope: error: ")?;
    // FILE:LINE: message — the first ":<digits>: " after a non-empty file
    let bytes = rest.as_bytes();
    let mut i = 0;
    while let Some(off) = rest[i..].find(':') {
        let c = i + off;
        let digits = bytes[c + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if c > 0 && digits > 0 && rest[c + 1 + digits..].starts_with(": ") {
            let n = rest[c + 1..c + 1 + digits].parse().ok()?;
            return Some((
                rest[..c].to_string(),
                Some(n),
                rest[c + 3 + digits..].to_string(),
            ));
        }
        i = c + 1;
    }
    let (file, msg) = rest.split_once(": ")?;
    Some((file.to_string(), None, msg.to_string()))
}

fn matches(want: &Want, got: &(String, Option<u32>, String)) -> bool {
    let (file, line, msg) = got;
    let at = match &want.at {
        At::Line(f, l) => f == file && *line == Some(*l),
        At::Lines(f, lo, hi) => f == file && line.is_some_and(|l| (*lo..=*hi).contains(&l)),
        At::File(f) => f == file && line.is_none(),
    };
    at && msg.contains(&want.says)
}

fn show(w: &Want) -> String {
    match &w.at {
        At::Line(f, l) => format!("{f}:{l}: …{}…", w.says),
        At::Lines(f, lo, hi) => format!("{f}:{lo}..={hi}: …{}…", w.says),
        At::File(f) => format!("{f}: …{}…", w.says),
    }
}

fn check(c: &Case, r: &HopscopeRun) -> Vec<String> {
    let mut bad = Vec::new();
    if r.timed_out {
        bad.push(format!("did not finish within {CASE_TIMEOUT:?}"));
        return bad;
    }
    if r.code != Some(c.code) {
        bad.push(format!("exit {:?}, expected {}", r.code, c.code));
    }
    if r.stderr.contains("panicked") {
        bad.push("panicked".into());
    }
    let lines: Vec<&str> = r.stderr.lines().collect();
    if lines.len() != c.errors.len() {
        bad.push(format!(
            "{} stderr line(s), expected {} (one per error)",
            lines.len(),
            c.errors.len()
        ));
    }
    let parsed: Vec<Option<(String, Option<u32>, String)>> =
        lines.iter().map(|l| parse_line(l)).collect();
    for (l, p) in lines.iter().zip(&parsed) {
        if p.is_none() {
            bad.push(format!(
                "stderr line not `hopscope: error: FILE:LINE: message`: {l:?}"
            ));
        }
    }
    for w in &c.errors {
        if !parsed.iter().flatten().any(|p| matches(w, p)) {
            bad.push(format!("no error line `{}`", show(w)));
        }
    }
    // JSON (printed unless nothing could be loaded): same errors, the hops
    let doc: Option<Value> = serde_json::from_str(&r.stdout).ok();
    match (&doc, &c.hops) {
        (Some(doc), hops) => {
            let errs: Vec<String> = doc["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    let (f, l, m) = (
                        e["file"].as_str().unwrap_or(""),
                        e["line"].as_u64().unwrap_or(0),
                        e["message"].as_str().unwrap_or(""),
                    );
                    if l == 0 {
                        format!("hopscope: error: {f}: {m}")
                    } else {
                        format!("hopscope: error: {f}:{l}: {m}")
                    }
                })
                .collect();
            if errs != lines {
                bad.push(format!("JSON errors {errs:?} differ from stderr {lines:?}"));
            }
            if let Some(extra) = c.json {
                bad.extend(extra(doc));
            }
            if let Some(want) = hops {
                let mut got: Vec<String> = doc["hops"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|h| h["id"].as_str().map(str::to_string))
                    .collect();
                let mut want = want.clone();
                got.sort();
                want.sort();
                if got != want {
                    bad.push(format!("hops {got:?}, expected {want:?}"));
                }
            }
        }
        (None, Some(want)) => bad.push(format!(
            "no JSON on stdout, expected hops {want:?}; stdout starts {:?}",
            r.stdout.chars().take(120).collect::<String>()
        )),
        (None, None) => {}
    }
    bad
}

/// Where real `nginx -t` puts its first error: (file relative to the
/// prefix, line).
fn nginx_error_at(nginx: &Path, prefix: &Path) -> Option<(String, u32)> {
    let (ok, err) = nginx_test(nginx, prefix);
    if ok {
        return None;
    }
    let l = err.lines().find(|l| l.contains("[emerg]"))?;
    let at = l.rsplit(" in ").next()?;
    let (file, line) = at.rsplit_once(':')?;
    let file = file
        .strip_prefix(&format!("{}/", prefix.display()))
        .unwrap_or(file);
    Some((file.to_string(), line.trim().parse().ok()?))
}

#[test]
fn broken_inputs_fail_cleanly() {
    let started = Instant::now();
    let cases = cases();
    let nginx = nginx_or_skip();
    let mut report = String::new();
    let mut failed = 0;
    let mut table = String::new();
    for c in &cases {
        let r = hopscope_run(&c.args, c.stdin.clone(), CASE_TIMEOUT);
        let mut bad = check(c, &r);
        if let (true, Some(nginx)) = (c.nginx_agrees, &nginx) {
            let dir = c._dir.path();
            let said = nginx_error_at(nginx, dir);
            let want = c.errors.first().and_then(|w| match &w.at {
                At::Line(f, l) => Some((f.clone(), *l)),
                _ => None,
            });
            if said != want {
                bad.push(format!(
                    "real nginx -t reports its error at {said:?}, the case expects {want:?}"
                ));
            }
        }
        let _ = writeln!(
            table,
            "{:>8.1?}  exit {:<4} {:<5} {}",
            r.elapsed,
            r.code.map_or("-".to_string(), |c| c.to_string()),
            if bad.is_empty() { "ok" } else { "FAIL" },
            c.name
        );
        if !bad.is_empty() {
            failed += 1;
            let _ = writeln!(
                report,
                "\n--- {} ---\n  - {}\n  expected: exit {}, errors {:?}\n  stderr:\n{}",
                c.name,
                bad.join("\n  - "),
                c.code,
                c.errors.iter().map(show).collect::<Vec<_>>(),
                r.stderr
                    .lines()
                    .map(|l| format!("    {}", l.chars().take(300).collect::<String>()))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
    eprintln!("{table}{} cases in {:?}", cases.len(), started.elapsed());
    assert!(
        failed == 0,
        "{failed} of {} broken-input cases failed:{report}",
        cases.len()
    );
}

#[test]
fn line_parser_reads_the_format() {
    assert_eq!(
        parse_line("hopscope: error: a/b.conf:12: unexpected \"}\""),
        Some(("a/b.conf".into(), Some(12), "unexpected \"}\"".into()))
    );
    assert_eq!(
        parse_line("hopscope: error: /x/y: No such file or directory"),
        Some(("/x/y".into(), None, "No such file or directory".into()))
    );
    assert_eq!(
        parse_line("hopscope: error: -:6: unexpected end of file"),
        Some(("-".into(), Some(6), "unexpected end of file".into()))
    );
    assert!(parse_line("error: x").is_none());
}
