//! Hostile inputs that tests/bad_input.rs does not cover: sizes and
//! shapes meant to exhaust memory or time rather than to break the syntax.
//! Each case has an expected outcome (exit code, error, what is still
//! analysed) and a time bound, and where memory is the point, a bound on
//! the peak resident set size measured with `/usr/bin/time` (skipped,
//! with a note, where that tool is missing).
//!
//! - a 200 MB file: refused with a clear error before it is read (as the
//!   main file, an include, standard input redirected from it); piped in,
//!   it is read only up to the limit;
//! - glob fan-out: an include glob matching 30 000 files (bounded by
//!   `MAX_FILES`), and `include ROOT/*/*/*/*` over a wide directory tree;
//! - include diamonds: a file included thousands of times (fine), and
//!   three levels of 1000 includes each (bounded by `MAX_VISITS`);
//! - NUL bytes inside words: kept byte for byte, in JSON and in a fix;
//! - extremely long lines: one line of megabytes costs no more than the
//!   same configuration with line breaks;
//! - `nginx -T` output cut short at a file boundary, inside a marker line,
//!   and inside a block.

mod common;

use common::*;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hopscope::conf::loader::{MAX_FILES, MAX_FILE_BYTES};
use hopscope::model::tree::MAX_VISITS;
use serde_json::Value;

const TIME_TOOL: &str = "/usr/bin/time";

/// A run of hopscope with its peak RSS in KiB (None without `/usr/bin/time`).
struct Measured {
    run: HopscopeRun,
    rss_kib: Option<u64>,
}

/// Runs `hopscope ARGS` under `/usr/bin/time` when present; `stdin_file`
/// is redirected to standard input (a file, not a pipe).
fn measured(
    args: &[OsString],
    stdin: Option<Vec<u8>>,
    stdin_file: Option<&Path>,
    timeout: Duration,
) -> Measured {
    let bin = env!("CARGO_BIN_EXE_hopscope");
    let rss_file = tempfile::NamedTempFile::new().expect("temp file");
    let timed = required(
        "measuring peak memory",
        (!Path::new(TIME_TOOL).is_file()).then(|| format!("{TIME_TOOL} is missing (package time)")),
    );
    let mut cmd = if timed {
        let mut c = Command::new(TIME_TOOL);
        c.arg("-f").arg("%M").arg("-o").arg(rss_file.path());
        c
    } else {
        Command::new("env")
    };
    match stdin_file {
        // `sh -c 'exec BIN ARGS < FILE'`: standard input is the file itself.
        Some(f) => {
            cmd.arg("sh")
                .arg("-c")
                .arg("f=$1; shift; exec \"$@\" < \"$f\"")
                .arg("sh")
                .arg(f)
                .arg(bin);
        }
        None => {
            cmd.arg(bin);
        }
    }
    cmd.args(args);
    let run = run_bounded(&mut cmd, stdin, timeout);
    let rss_kib = timed
        .then(|| std::fs::read_to_string(rss_file.path()).ok())
        .flatten()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()));
    Measured { run, rss_kib }
}

fn args(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

fn path_args(cmd: &str, p: &Path, rest: &[&str]) -> Vec<OsString> {
    let mut v: Vec<OsString> = vec![cmd.into(), p.as_os_str().to_owned()];
    v.extend(rest.iter().map(OsString::from));
    v
}

fn json(r: &HopscopeRun) -> Value {
    r.json().unwrap_or_else(|e| panic!("{e}"))
}

fn hop_ids(doc: &Value) -> Vec<String> {
    doc["hops"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|h| h["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn error_lines(r: &HopscopeRun) -> Vec<&str> {
    r.stderr
        .lines()
        .filter(|l| l.starts_with("hopscope: error: "))
        .collect()
}

/// Fails with a summary of the run.
fn expect(cond: bool, what: &str, r: &HopscopeRun) {
    assert!(
        cond,
        "{what}\nexit {:?} in {:?} (timed out: {})\nstderr:\n{}\nstdout head:\n{}",
        r.code,
        r.elapsed,
        r.timed_out,
        r.stderr.chars().take(2000).collect::<String>(),
        r.stdout.chars().take(1000).collect::<String>()
    );
}

// ---------------------------------------------------------------------------
// A 200 MB file
// ---------------------------------------------------------------------------

const BIG: u64 = 200 << 20;
/// Refusing a file that is never read costs no more than this.
const SMALL_RSS_KIB: u64 = 64 << 10;

/// Writes a real (not sparse) file of `BIG` bytes of comment lines.
fn write_big(path: &Path) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create big file"));
    f.write_all(b"events {}\n").expect("write");
    let line = b"# padding: a configuration file far over the size hopscope reads\n";
    let mut n = 10u64;
    while n < BIG {
        f.write_all(line).expect("write");
        n += line.len() as u64;
    }
    f.flush().expect("flush");
}

#[test]
fn a_200_mb_file_is_refused_with_bounded_memory() {
    const { assert!(BIG > MAX_FILE_BYTES, "the case must exceed the limit") };
    let p = Prefix::new("hostile");
    let big = p.path().join("big.conf");
    write_big(&big);
    let limit_mib = MAX_FILE_BYTES >> 20;
    let bound = Duration::from_secs(10);

    // As the main file: refused from its size alone.
    let m = measured(&path_args("hops", &big, &["--json"]), None, None, bound);
    let r = &m.run;
    expect(r.code == Some(2), "main file: exit 2", r);
    let errs = error_lines(r);
    expect(
        errs.len() == 1
            && errs[0].contains("big.conf")
            && errs[0].contains(&format!("up to {limit_mib} MiB")),
        "main file: one error naming the file and the limit",
        r,
    );
    if let Some(kib) = m.rss_kib {
        assert!(kib < SMALL_RSS_KIB, "main file: peak RSS {kib} KiB");
    }

    // As an include: an error at the include line, the rest analysed.
    p.write(
        "nginx.conf",
        "events {}\nhttp {\n    server {\n        location / { proxy_pass https://a.example; }\n        include big.conf;\n    }\n}\n",
    );
    let m = measured(
        &path_args("hops", &p.conf_path(), &["--json"]),
        None,
        None,
        bound,
    );
    let r = &m.run;
    expect(r.code == Some(2), "include: exit 2", r);
    let errs = error_lines(r);
    expect(
        errs.len() == 1
            && errs[0].starts_with("hopscope: error: nginx.conf:5: cannot include")
            && errs[0].contains(&format!("up to {limit_mib} MiB")),
        "include: one error at nginx.conf:5",
        r,
    );
    expect(
        hop_ids(&json(r)) == ["nginx.conf:4"],
        "include: the good hop is listed",
        r,
    );
    if let Some(kib) = m.rss_kib {
        assert!(kib < SMALL_RSS_KIB, "include: peak RSS {kib} KiB");
    }

    // Standard input redirected from the file: refused before reading.
    let m = measured(&args(&["hops", "-", "--json"]), None, Some(&big), bound);
    let r = &m.run;
    expect(r.code == Some(2), "stdin file: exit 2", r);
    let errs = error_lines(r);
    expect(
        errs.len() == 1 && errs[0].contains(&format!("up to {limit_mib} MiB")),
        "stdin file: one error naming the limit",
        r,
    );
    if let Some(kib) = m.rss_kib {
        assert!(kib < SMALL_RSS_KIB, "stdin file: peak RSS {kib} KiB");
    }

    // Piped: read up to the limit, then refused; memory stays near the
    // limit, well below the input.
    let bytes = std::fs::read(&big).expect("read big file");
    let m = measured(&args(&["hops", "-", "--json"]), Some(bytes), None, bound);
    let r = &m.run;
    expect(r.code == Some(2), "stdin pipe: exit 2", r);
    let errs = error_lines(r);
    expect(
        errs.len() == 1 && errs[0].contains(&format!("over {limit_mib} MiB")),
        "stdin pipe: one error naming the limit",
        r,
    );
    if let Some(kib) = m.rss_kib {
        let bound = (MAX_FILE_BYTES >> 10) + (48 << 10);
        assert!(
            kib < bound && kib < (BIG >> 10) * 9 / 10,
            "stdin pipe: peak RSS {kib} KiB (bound {bound} KiB)"
        );
    }
}

// ---------------------------------------------------------------------------
// Glob fan-out
// ---------------------------------------------------------------------------

#[test]
fn an_include_glob_matching_30_000_files_stops_at_the_file_limit() {
    let n = 30_000;
    assert!(n > MAX_FILES);
    let p = Prefix::new("hostile");
    let dir = p.path().join("many");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for i in 0..n {
        std::fs::write(dir.join(format!("{i:05}.conf")), "add_header X-N 1;\n").expect("write");
    }
    p.write(
        "nginx.conf",
        "events {}\nhttp {\n    server {\n        location / { proxy_pass https://a.example; }\n        include many/*.conf;\n    }\n}\n",
    );
    let r = hopscope_run(
        &path_args("hops", &p.conf_path(), &["--json"]),
        None,
        Duration::from_secs(60),
    );
    expect(r.code == Some(2), "exit 2", &r);
    let errs = error_lines(&r);
    expect(
        errs == [format!(
            "hopscope: error: nginx.conf:5: more than {MAX_FILES} files are included; the rest is not loaded"
        )],
        "one error at the include",
        &r,
    );
    let doc = json(&r);
    expect(
        doc["files"].as_array().map(Vec::len) == Some(MAX_FILES),
        "exactly MAX_FILES files loaded",
        &r,
    );
    expect(hop_ids(&doc) == ["nginx.conf:4"], "the hop is listed", &r);
    eprintln!("30 000-file glob: {:?}", r.elapsed);
}

#[test]
fn a_four_level_wildcard_include_over_a_wide_tree_is_bounded() {
    // `include ROOT/*/*/*/*;` (like `include /*/*/*/*;`, rooted in a
    // temporary directory): 16 × 16 × 16 directories, one file in each.
    let p = Prefix::new("hostile");
    let root = p.path().join("tree");
    let mut files = 0;
    for a in 0..16 {
        for b in 0..16 {
            for c in 0..16 {
                let d = root.join(format!("{a:x}/{b:x}/{c:x}"));
                std::fs::create_dir_all(&d).expect("mkdir");
                std::fs::write(d.join("x.conf"), "add_header X-T 1;\n").expect("write");
                files += 1;
            }
        }
    }
    let root_s = root.display().to_string();
    p.write(
        "nginx.conf",
        &format!(
            "events {{}}\nhttp {{\n    server {{\n        location / {{ proxy_pass https://a.example; }}\n        include {root_s}/*/*/*/*;\n        include {root_s}/*/*/*/*/*;\n    }}\n}}\n"
        ),
    );
    let r = hopscope_run(
        &path_args("hops", &p.conf_path(), &["--json"]),
        None,
        Duration::from_secs(60),
    );
    expect(r.code == Some(0), "exit 0: every match is a file", &r);
    let doc = json(&r);
    expect(
        doc["files"].as_array().map(Vec::len) == Some(files + 1),
        "every file loaded once",
        &r,
    );
    expect(hop_ids(&doc) == ["nginx.conf:4"], "the hop is listed", &r);
    eprintln!("{files}-file wildcard tree: {:?}", r.elapsed);
}

// ---------------------------------------------------------------------------
// Include diamonds
// ---------------------------------------------------------------------------

#[test]
fn a_file_included_thousands_of_times_is_read_once() {
    let p = Prefix::new("hostile");
    let mut main = String::from("events {}\nhttp {\n    server {\n");
    for i in 0..2000 {
        let _ = writeln!(
            main,
            "        location /l{i}/ {{ include tls.conf; proxy_pass https://h{i}.example; }}"
        );
    }
    main.push_str("    }\n}\n");
    p.write("nginx.conf", &main);
    p.write(
        "tls.conf",
        "proxy_ssl_server_name on;\nproxy_ssl_verify on;\nproxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;\n",
    );
    let r = hopscope_run(
        &path_args("hops", &p.conf_path(), &["--json"]),
        None,
        Duration::from_secs(60),
    );
    expect(r.code == Some(0), "exit 0", &r);
    let doc = json(&r);
    expect(
        doc["files"] == serde_json::json!(["nginx.conf", "tls.conf"]),
        "two files",
        &r,
    );
    let hops = doc["hops"].as_array().cloned().unwrap_or_default();
    expect(hops.len() == 2000, "2000 hops", &r);
    expect(
        hops.iter().all(|h| h["sni"]["sent"] == true),
        "every hop gets the included settings",
        &r,
    );
    eprintln!("one file included 2000 times: {:?}", r.elapsed);
}

#[test]
fn an_include_diamond_blow_up_stops_at_max_visits() {
    // a.conf includes b.conf 1000 times, b.conf includes c.conf 1000
    // times, c.conf holds 100 directives: 10^8 directives once expanded.
    let p = Prefix::new("hostile");
    p.write(
        "nginx.conf",
        "events {}\nhttp {\n    server {\n        location / { proxy_pass https://a.example; }\n        location /d/ {\n            include a.conf;\n        }\n    }\n}\n",
    );
    p.write("a.conf", &"include b.conf;\n".repeat(1000));
    p.write("b.conf", &"include c.conf;\n".repeat(1000));
    p.write("c.conf", &"add_header X-D 1;\n".repeat(100));
    let m = measured(
        &path_args("hops", &p.conf_path(), &["--json"]),
        None,
        None,
        Duration::from_secs(180),
    );
    let r = &m.run;
    expect(r.code == Some(2), "exit 2", r);
    let errs = error_lines(r);
    expect(
        errs.len() == 1
            && errs[0].contains(&format!("expands to more than {MAX_VISITS} directives")),
        "one error about the expansion",
        r,
    );
    let doc = json(r);
    expect(
        doc["files"].as_array().map(Vec::len) == Some(4),
        "four files, each read once",
        r,
    );
    expect(hop_ids(&doc) == ["nginx.conf:4"], "the hop is listed", r);
    if let Some(kib) = m.rss_kib {
        // The tree holds at most MAX_VISITS directive references.
        assert!(kib < (1 << 20), "peak RSS {kib} KiB");
    }
    eprintln!(
        "include diamond: {:?}, peak RSS {:?} KiB",
        r.elapsed, m.rss_kib
    );
}

// ---------------------------------------------------------------------------
// NUL bytes inside words
// ---------------------------------------------------------------------------

#[test]
fn nul_bytes_inside_words_are_kept() {
    let p = Prefix::new("hostile");
    let conf: &[u8] = b"events {}\nhttp {\n    server {\n        location / {\n            proxy_ssl_name \"a\0b.example\";\n            proxy_ssl_server_name on;\n            proxy_pass https://up\0stream.example;\n        }\n        location /x/ { proxy_pass https://x\0.example; add_header X-\0 \"\0\"; }\n    }\n}\n";
    std::fs::write(p.conf_path(), conf).expect("write");
    let bound = Duration::from_secs(10);
    let r = hopscope_run(&path_args("hops", &p.conf_path(), &["--json"]), None, bound);
    expect(r.code == Some(0), "exit 0 (nginx reads these as words)", &r);
    let doc = json(&r);
    expect(
        hop_ids(&doc) == ["nginx.conf:7", "nginx.conf:9"],
        "two hops",
        &r,
    );
    let first = &doc["hops"][0];
    expect(
        first["sni"]["name"] == "a\0b.example",
        "the SNI name keeps its NUL",
        &r,
    );
    expect(
        doc["hops"][1]["target"]
            .as_str()
            .is_some_and(|t| t.contains('\0')),
        "the target keeps its NUL",
        &r,
    );

    // A fix on the line with NULs keeps them byte for byte.
    let r = hopscope_run(
        &path_args("fix", &p.conf_path(), &["--diff", "--rule", "sni-off"]),
        None,
        bound,
    );
    expect(r.code == Some(0), "fix: exit 0", &r);
    expect(
        r.stdout.contains(
            "+        location /x/ { proxy_pass https://x\0.example; proxy_ssl_server_name on; add_header X-\0 \"\0\"; }\n",
        ),
        "fix: the new line keeps its NULs",
        &r,
    );
}

// ---------------------------------------------------------------------------
// Extremely long lines
// ---------------------------------------------------------------------------

/// `n` hops in one server, on one line or one per line.
fn many_hops(n: usize, one_line: bool) -> String {
    let sep = if one_line { " " } else { "\n" };
    let mut s = String::from("events {} http { server { listen 80;");
    for i in 0..n {
        s.push_str(sep);
        let _ = write!(s, "location /l{i}/ {{ proxy_pass https://h{i}.example; }}");
    }
    s.push_str(sep);
    s.push_str("} }\n");
    s
}

#[test]
fn a_line_of_megabytes_costs_what_the_same_lines_cost() {
    let bound = Duration::from_secs(120);
    // 2000 hops (and their findings and fixes) on one line, against the
    // same configuration with line breaks. Quadratic work per line (a
    // column counted from the line start, a scan of the file per edit)
    // made the one-line form 6× slower at this size and 40× at 20 000.
    let p = Prefix::new("hostile");
    let mut times = Vec::new();
    for one_line in [false, true] {
        p.write("nginx.conf", &many_hops(2000, one_line));
        for cmd in [&["hops", "--json"][..], &["check", "--format", "json"][..]] {
            let mut a: Vec<OsString> = vec![cmd[0].into(), p.conf_path().into_os_string()];
            a.extend(cmd[1..].iter().map(OsString::from));
            let r = hopscope_run(&a, None, bound);
            expect(!r.timed_out, "bounded", &r);
            expect(
                r.code == Some(if cmd[0] == "check" { 1 } else { 0 }),
                "exit code",
                &r,
            );
            let doc = json(&r);
            if cmd[0] == "hops" {
                let ids = hop_ids(&doc);
                expect(ids.len() == 2000, "2000 hops", &r);
                if one_line {
                    // Columns count characters on the one line.
                    let col = doc["hops"][1999]["column"].as_u64().unwrap_or(0);
                    let text = many_hops(2000, true);
                    let want = text.find("proxy_pass https://h1999.").map(|i| i as u64 + 1);
                    expect(Some(col) == want, "the column of the last hop", &r);
                }
            }
            times.push(r.elapsed);
        }
    }
    let (multi, one) = (times[0] + times[1], times[2] + times[3]);
    eprintln!("2000 hops: line breaks {multi:?}, one line {one:?}");
    assert!(
        one < multi * 3 + Duration::from_secs(3),
        "one line took {one:?}, line breaks {multi:?}"
    );

    // Eight megabytes on one line: a comment, then directives.
    let mut s = String::from("# ");
    s.push_str(&"x".repeat(4 << 20));
    s.push('\n');
    s.push_str("events {} http { server { location / { proxy_pass https://a.example; }");
    s.push_str(&" add_header X-Pad 1;".repeat(200_000));
    s.push_str(" } }\n");
    p.write("nginx.conf", &s);
    let r = hopscope_run(
        &path_args("hops", &p.conf_path(), &["--json"]),
        None,
        Duration::from_secs(60),
    );
    expect(r.code == Some(0), "8 MB line: exit 0", &r);
    expect(
        hop_ids(&json(&r)) == ["nginx.conf:2"],
        "8 MB line: the hop",
        &r,
    );
    eprintln!("8 MB of two lines: {:?}", r.elapsed);
}

// ---------------------------------------------------------------------------
// nginx -T output cut short
// ---------------------------------------------------------------------------

/// An `nginx -T` dump of the demo tree as nginx writes it.
fn demo_dump() -> (Vec<u8>, Vec<(String, usize)>) {
    let mut d = b"nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n\
nginx: configuration file /etc/nginx/nginx.conf test is successful\n"
        .to_vec();
    let mut markers = Vec::new();
    for (name, text) in hopscope::demo::FILES {
        markers.push((name.to_string(), d.len()));
        d.extend_from_slice(format!("# configuration file /etc/nginx/{name}:\n").as_bytes());
        d.extend_from_slice(text);
        d.push(b'\n');
    }
    (d, markers)
}

fn run_dump(bytes: &[u8]) -> HopscopeRun {
    hopscope_run(
        &args(&["hops", "-", "--json"]),
        Some(bytes.to_vec()),
        Duration::from_secs(10),
    )
}

#[test]
fn nginx_t_output_cut_short() {
    let (dump, markers) = demo_dump();
    let full = run_dump(&dump);
    expect(full.code == Some(0), "the whole dump loads", &full);
    let all = hop_ids(&json(&full));
    assert!(all.len() > 5, "the demo has hops: {all:?}");

    // Cut at the start of the third file's marker: the first two files
    // arrived whole and are analysed; no error is invented.
    let (third, at) = &markers[2];
    let before = run_dump(&dump[..*at]);
    expect(
        before.code == Some(0),
        "cut at a file boundary: exit 0",
        &before,
    );
    let kept = hop_ids(&json(&before));
    expect(
        !kept.is_empty() && kept.len() < all.len() && kept.iter().all(|h| all.contains(h)),
        "cut at a file boundary: the hops of the whole files",
        &before,
    );
    expect(
        kept.iter().all(|h| !h.contains(third.as_str())),
        "no hop of the missing file",
        &before,
    );

    // Cut inside that marker line: the same as before it (the piece is a
    // comment line of the file before).
    for cut in [at + 5, at + 25] {
        let r = run_dump(&dump[..cut]);
        expect(r.code == Some(0), "cut inside a marker: exit 0", &r);
        expect(
            hop_ids(&json(&r)) == kept,
            "cut inside a marker: the same hops as before it",
            &r,
        );
    }

    // Cut right after the marker line: the file is there, empty.
    let marker_end = at + format!("# configuration file /etc/nginx/{third}:\n").len();
    let r = run_dump(&dump[..marker_end]);
    expect(r.code == Some(0), "cut after a marker: exit 0", &r);
    expect(
        hop_ids(&json(&r)) == kept,
        "cut after a marker: the same hops",
        &r,
    );

    // Cut inside the third file, at the end of the line that opens its
    // first block: its error, at the end, and the hops complete before.
    let body = &dump[marker_end..markers[3].1];
    let open = body
        .iter()
        .position(|&b| b == b'{')
        .expect("the file has a block");
    let eol = body[open..]
        .iter()
        .position(|&b| b == b'\n')
        .expect("a line break after the brace");
    let cut = marker_end + open + eol + 1;
    let r = run_dump(&dump[..cut]);
    expect(r.code == Some(2), "cut inside a block: exit 2", &r);
    let errs = error_lines(&r);
    // The cut ends with a line break, which is taken for the one nginx
    // writes after each file: the file ends on the line before.
    let last_line = dump[marker_end..cut]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    expect(
        errs.len() == 1
            && errs[0].starts_with(&format!(
                "hopscope: error: /etc/nginx/{third}:{last_line}: unexpected end of file"
            )),
        "cut inside a block: one error at the cut",
        &r,
    );
    let got = hop_ids(&json(&r));
    expect(
        got.iter().all(|h| all.contains(h)) && kept.iter().all(|h| got.contains(h)),
        "cut inside a block: the hops of the whole files, and of the part before the cut",
        &r,
    );

    // Cut inside the very first marker: no longer a dump; a comment.
    let first = markers[0].1;
    let r = run_dump(&dump[..first + 10]);
    expect(
        !r.timed_out && r.code.is_some(),
        "cut in the first marker: ends",
        &r,
    );
    expect(!r.stderr.contains("panicked"), "no panic", &r);
}
