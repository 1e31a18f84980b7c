//! `nginx -T` input: what hopscope reads from a REAL `nginx -T` dump must be
//! what it reads from the same tree on disk.
//!
//! A multi-file configuration is generated (globs at main, http, server,
//! location and upstream level, nested includes, files included twice (one
//! of them holding a pass directive: one hop per include path),
//! an empty glob, http/grpc/uwsgi/stream hops). Then:
//! - `nginx -T -p PREFIX -c PREFIX/nginx.conf` is run for real and its
//!   stdout fed to `hopscope hops - --json` (stdin), saved to a file outside
//!   the prefix and passed as PATH, and its combined `2>&1` output fed too;
//!   all three must agree, and equal `hopscope hops PREFIX/nginx.conf --json`
//!   once names are mapped (disk: relative to the prefix; dump: as named in
//!   the dump, i.e. absolute). Ids, SNI, verify names, every setting value
//!   and origin, upstreams: everything must match.
//! - a dump cut in the middle of a file gives exit 2, one error line naming
//!   that file and the line of the cut, and still lists the hops of the part
//!   that arrived;
//! - the `nginx -T` output of configurations nginx rejects gives exit 2 with
//!   nginx's own error in the message.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const HOPSCOPE_TIMEOUT: Duration = Duration::from_secs(20);
const NGINX_TIMEOUT: Duration = Duration::from_secs(20);
const STREAM_MODULE: &str = "/usr/lib/nginx/modules/ngx_stream_module.so";
const MARKER: &str = "# configuration file ";

/// The generated tree: the hop ids (disk names) and where to cut the dump.
struct Tree {
    prefix: Prefix,
    hops: Vec<String>,
    /// The file to cut, and the line (1-based) whose middle is the cut.
    cut_file: String,
    cut_line: usize,
    /// Hops expected after the cut: ids of the part that arrives.
    hops_before_cut: Vec<String>,
}

fn rec(hops: &mut Vec<String>, f: &ConfFile, line: usize) {
    hops.push(format!("{}:{line}", f.rel));
}

fn build(with_stream: bool) -> Tree {
    let prefix = Prefix::new("dump");
    let ca = TestCa::new(&prefix.path().join("pki"));
    let _ = ca.leaf("client", &["client.test"]);
    let mut hops = Vec::new();

    // ---- main file -------------------------------------------------------
    let mut m = ConfFile::new("nginx.conf");
    if with_stream {
        m.line(format!("load_module {STREAM_MODULE};"));
    }
    write_main_preamble(&mut m);
    m.line("include main.d/*.conf;");
    m.open("http");
    write_http_preamble(&mut m);
    m.line("include http.d/*.conf;");
    m.line("include empty.d/*.conf;");
    m.open("upstream backend");
    m.line("include upstreams.d/backend-*.conf;");
    m.line("keepalive 8;");
    m.close();
    m.open("upstream api.example.com");
    m.line("server 127.0.0.1:9444;");
    m.close();
    m.open("upstream grpc.internal");
    m.line("server 127.0.0.1:9445;");
    m.close();
    m.line("include servers.d/*.conf;");
    // written after the includes: still applies to every server
    m.line("proxy_ssl_session_reuse off;");
    m.close();
    if with_stream {
        m.open("stream");
        m.line("include stream.d/*.conf;");
        m.close();
    }
    prefix.write_conf(&m);

    // ---- main.d, http.d, upstreams.d --------------------------------------
    let mut f = ConfFile::new("main.d/10-env.conf");
    f.line("env HOPSCOPE_DUMP_TEST;");
    prefix.write_conf(&f);
    let mut f = ConfFile::new("main.d/20-timer.conf");
    f.line("timer_resolution 100ms;");
    prefix.write_conf(&f);
    let mut f = ConfFile::new("http.d/10-tls.conf");
    f.line("proxy_ssl_server_name on;");
    f.line("proxy_ssl_protocols TLSv1.2 TLSv1.3;");
    f.line("grpc_ssl_server_name on;");
    prefix.write_conf(&f);
    let mut f = ConfFile::new("http.d/20-verify.conf");
    f.line("# the CA for every verify in http");
    f.line("proxy_ssl_trusted_certificate pki/ca.crt;");
    f.line("proxy_ssl_verify_depth 2;");
    prefix.write_conf(&f);
    let mut f = ConfFile::new("upstreams.d/backend-1.conf");
    f.line("server 127.0.0.1:9443;");
    prefix.write_conf(&f);
    let mut f = ConfFile::new("upstreams.d/backend-2.conf");
    f.line("server 127.0.0.1:9446 backup;");
    prefix.write_conf(&f);

    // ---- snippets and location files --------------------------------------
    let mut f = ConfFile::new("snippets/common.conf");
    f.line("proxy_set_header X-Hop yes;");
    f.line("proxy_ssl_ciphers HIGH:!aNULL;");
    prefix.write_conf(&f);
    let mut f = ConfFile::new("snippets/tls-1.conf");
    f.line("proxy_ssl_certificate pki/client.crt;");
    f.line("include snippets/inner.conf;");
    prefix.write_conf(&f);
    let mut f = ConfFile::new("snippets/tls-2.conf");
    f.line("proxy_ssl_certificate_key pki/client.key;");
    prefix.write_conf(&f);
    let mut f = ConfFile::new("snippets/inner.conf");
    f.line("proxy_ssl_conf_command Options PrioritizeChaCha;");
    f.line("proxy_ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;");
    prefix.write_conf(&f);
    let mut f = ConfFile::new("locations.d/root-1.conf");
    f.line("proxy_ssl_name \"root.example.com\";");
    prefix.write_conf(&f);
    let mut f = ConfFile::new("locations.d/root-2.conf");
    f.line("proxy_ssl_verify off;");
    prefix.write_conf(&f);
    let mut f = ConfFile::new("locations.d/deep.conf");
    f.line("proxy_ssl_name $host;");
    prefix.write_conf(&f);

    // ---- servers ------------------------------------------------------------
    let mut a = ConfFile::new("servers.d/a.conf");
    a.open("server");
    a.line("listen 127.0.0.1:18080;");
    a.line("server_name a.example www.a.example;");
    a.line("include snippets/common.conf;");
    a.open("location /");
    a.line("include locations.d/root-*.conf;");
    let l = a.line("proxy_pass https://backend;");
    rec(&mut hops, &a, l);
    a.close();
    a.open("location /api/");
    a.line("proxy_ssl_name api.internal.example:8443;");
    let l = a.line("proxy_pass https://api.example.com/v1/;");
    rec(&mut hops, &a, l);
    a.open("location /api/deep/");
    a.line("include locations.d/deep.conf;");
    a.open("if ($http_x_alt)");
    let l = a.line("proxy_pass https://backend;");
    rec(&mut hops, &a, l);
    a.close();
    let l = a.line("proxy_pass https://backend;");
    rec(&mut hops, &a, l);
    a.close();
    a.close();
    a.open("location /grpc/");
    let l = a.line("grpc_pass grpcs://grpc.internal;");
    rec(&mut hops, &a, l);
    a.close();
    a.open("location /plain/");
    a.line("proxy_pass http://backend;");
    a.close();
    // A pass directive in a file included twice: one hop per include
    // path, ids suffixed with the include (see `snippets/pass.conf`).
    a.open("location /twice-a/");
    a.line("proxy_ssl_name twice-a.example;");
    let twice_a = a.line("include snippets/pass.conf;");
    a.close();
    a.close();
    prefix.write_conf(&a);

    let mut b = ConfFile::new("servers.d/b.conf");
    b.open("server");
    b.line("listen 127.0.0.1:18081;");
    b.line("server_name b.example;");
    b.line("include snippets/common.conf;");
    b.line("include snippets/tls-*.conf;");
    b.open("location /");
    let l = b.line("proxy_pass https://127.0.0.1:9443;");
    rec(&mut hops, &b, l);
    b.close();
    b.open("location /u/");
    let l = b.line("uwsgi_pass suwsgi://127.0.0.1:9447;");
    rec(&mut hops, &b, l);
    b.close();
    b.open("location /twice-b/");
    let twice_b = b.line("include snippets/pass.conf;");
    b.close();
    let mut p = ConfFile::new("snippets/pass.conf");
    p.line("# included by servers.d/a.conf and servers.d/b.conf");
    let l = p.line("proxy_pass https://backend;");
    prefix.write_conf(&p);
    for (inc, at) in [(&a, twice_a), (&b, twice_b)] {
        hops.push(format!("{}:{l}@{}:{at}", p.rel, inc.rel));
    }
    let hops_before_cut = hops.clone();
    b.open("location /v/");
    let cut_line = b.line("proxy_ssl_verify on;");
    let l = b.line("proxy_pass https://backend;");
    rec(&mut hops, &b, l);
    b.close();
    b.close();
    prefix.write_conf(&b);

    if with_stream {
        let mut s = ConfFile::new("stream.d/s.conf");
        s.line("proxy_ssl on;");
        s.open("server");
        s.line("listen 127.0.0.1:18443;");
        s.line("proxy_ssl_server_name on;");
        s.line("proxy_ssl_name stream.example;");
        let l = s.line("proxy_pass 127.0.0.1:9448;");
        rec(&mut hops, &s, l);
        s.close();
        s.open("server");
        s.line("listen 127.0.0.1:18444;");
        s.line("proxy_ssl off;");
        s.line("proxy_pass 127.0.0.1:9449;");
        s.close();
        prefix.write_conf(&s);
    }
    Tree {
        prefix,
        hops,
        cut_file: b.rel.clone(),
        cut_line,
        hops_before_cut,
    }
}

/// `nginx -T -p PREFIX -c PREFIX/nginx.conf`, optionally `2>&1`.
fn nginx_dump(nginx: &Path, prefix: &Path, combined: bool) -> HopscopeRun {
    let conf = prefix.join("nginx.conf");
    let log = prefix.join("logs/error.log");
    if combined {
        let script = format!(
            "exec '{}' -T -p '{}/' -c '{}' -e '{}' 2>&1",
            nginx.display(),
            prefix.display(),
            conf.display(),
            log.display()
        );
        run_bounded(
            Command::new("/bin/sh").arg("-c").arg(script),
            None,
            NGINX_TIMEOUT,
        )
    } else {
        let mut p = prefix.as_os_str().to_owned();
        p.push("/");
        run_bounded(
            Command::new(nginx)
                .arg("-T")
                .arg("-p")
                .arg(p)
                .arg("-c")
                .arg(&conf)
                .arg("-e")
                .arg(&log),
            None,
            NGINX_TIMEOUT,
        )
    }
}

/// The file names in a dump, in order.
fn markers(dump: &str) -> Vec<String> {
    dump.lines()
        .filter_map(|l| l.strip_prefix(MARKER)?.strip_suffix(':'))
        .map(str::to_string)
        .collect()
}

/// Every string in a JSON value, rewritten.
fn map_strings(v: &Value, f: &dyn Fn(&str) -> String) -> Value {
    match v {
        Value::String(s) => Value::String(f(s)),
        Value::Array(a) => Value::Array(a.iter().map(|x| map_strings(x, f)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), map_strings(x, f)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The first difference between two JSON values, as a path.
fn first_diff(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                first_diff(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &format!("{path}.{k}"),
                )
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_diff(p, q, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}

/// Every file name a hops document uses (files, ids, settings, upstreams, errors).
fn names_used(doc: &Value) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for f in doc["files"].as_array().into_iter().flatten() {
        out.insert(f.as_str().unwrap_or("").to_string());
    }
    for e in doc["errors"].as_array().into_iter().flatten() {
        out.insert(e["file"].as_str().unwrap_or("").to_string());
    }
    for h in doc["hops"].as_array().into_iter().flatten() {
        out.insert(h["file"].as_str().unwrap_or("").to_string());
        for v in h["via"].as_array().into_iter().flatten() {
            out.insert(v["file"].as_str().unwrap_or("").to_string());
        }
        if let Some(f) = h["upstream"]["file"].as_str() {
            out.insert(f.to_string());
        }
        for s in h["settings"].as_object().into_iter().flatten() {
            if let Some(f) = s.1["file"].as_str() {
                out.insert(f.to_string());
            }
        }
    }
    out
}

fn run_json(
    label: &str,
    args: &[&std::ffi::OsStr],
    stdin: Option<Vec<u8>>,
    problems: &mut Vec<String>,
) -> Option<Value> {
    let r = hopscope_run(args, stdin, HOPSCOPE_TIMEOUT);
    eprintln!("{label}: exit {:?} in {:?}", r.code, r.elapsed);
    if r.code != Some(0) || r.stderr.contains("panicked") {
        problems.push(format!(
            "{label}: exit {:?} (timed out: {}), stderr:\n{}",
            r.code, r.timed_out, r.stderr
        ));
    }
    match r.json() {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(format!("{label}: {e}"));
            None
        }
    }
}

#[test]
fn dump_input_equals_disk_input() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let started = Instant::now();
    let with_stream = Path::new(STREAM_MODULE).is_file();
    let tree = build(with_stream);
    let pfx = tree.prefix.path().to_path_buf();
    let pfx_slash = format!("{}/", pfx.display());
    let (ok, err) = nginx_test(&nginx, &pfx);
    assert!(
        ok,
        "harness bug: nginx -t rejects the generated tree:\n{err}"
    );

    let dump = nginx_dump(&nginx, &pfx, false);
    assert_eq!(
        dump.code,
        Some(0),
        "harness: nginx -T failed:\n{}",
        dump.stderr
    );
    let names = markers(&dump.stdout);
    assert!(
        names.len() >= 15,
        "harness: only {} files in the dump: {names:?}",
        names.len()
    );
    assert!(
        names.iter().all(|n| n.starts_with(&pfx_slash)),
        "harness: nginx named files outside the prefix: {names:?}"
    );
    let combined = nginx_dump(&nginx, &pfx, true);
    assert_eq!(combined.code, Some(0), "harness: nginx -T 2>&1 failed");
    assert!(
        combined.stdout.starts_with("nginx: "),
        "harness: 2>&1 order"
    );

    let outside = tempfile::tempdir().expect("tempdir");
    let dump_file = outside.path().join("nginx-T.txt");
    std::fs::write(&dump_file, &dump.stdout).expect("write dump file");

    let mut problems: Vec<String> = Vec::new();
    let mut naming: Vec<String> = Vec::new();
    let conf = pfx.join("nginx.conf");
    let v = "--nginx-version".as_ref();
    let ver = "1.22.1".as_ref();
    let disk = run_json(
        "disk",
        &["hops".as_ref(), conf.as_os_str(), "--json".as_ref(), v, ver],
        None,
        &mut problems,
    );
    let stdin = run_json(
        "dump on stdin",
        &["hops".as_ref(), "-".as_ref(), "--json".as_ref(), v, ver],
        Some(dump.stdout.clone().into_bytes()),
        &mut problems,
    );
    let file = run_json(
        "dump as PATH",
        &[
            "hops".as_ref(),
            dump_file.as_os_str(),
            "--json".as_ref(),
            v,
            ver,
        ],
        None,
        &mut problems,
    );
    let comb = run_json(
        "dump 2>&1 on stdin",
        &["hops".as_ref(), "-".as_ref(), "--json".as_ref(), v, ver],
        Some(combined.stdout.clone().into_bytes()),
        &mut problems,
    );

    if let (Some(disk), Some(stdin), Some(file), Some(comb)) = (&disk, &stdin, &file, &comb) {
        // the generated hops, from disk
        let ids: BTreeSet<String> = hops_by_id(disk).into_keys().collect();
        let want: BTreeSet<String> = tree.hops.iter().cloned().collect();
        if ids != want {
            problems.push(format!(
                "disk: hop ids {ids:?}, the tree has {want:?} (hopscope lists {} hops)",
                disk["hops"].as_array().map_or(0, Vec::len)
            ));
        }
        // the three dump runs agree exactly
        for (label, other) in [("dump as PATH", file), ("dump 2>&1", comb)] {
            if let Some(d) = first_diff(stdin, other, "") {
                problems.push(format!("{label} differs from dump on stdin: {d}"));
            }
        }
        // names: as written in the dump
        let marker_set: BTreeSet<String> = names.iter().cloned().collect();
        let files: BTreeSet<String> = stdin["files"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(str::to_string))
            .collect();
        if files != marker_set {
            let odd: Vec<&String> = files.difference(&marker_set).take(3).collect();
            naming.push(format!(
                "dump: `files` should be the {} names written in the dump (e.g. {:?}); hopscope lists {} names, {} of them not in the dump, e.g. {odd:?}",
                marker_set.len(),
                names.first(),
                files.len(),
                files.difference(&marker_set).count(),
            ));
        }
        for n in names_used(stdin) {
            if !marker_set.contains(&n) {
                naming.push(format!(
                    "dump: ids, settings and upstreams name {n:?}, the dump names it {:?}",
                    format!("{pfx_slash}{n}")
                ));
                break;
            }
        }
        // same analysis once names are mapped
        let strip = |s: &str| s.replace(&pfx_slash, "");
        let d = map_strings(disk, &strip);
        let s = map_strings(stdin, &strip);
        let (dh, sh) = (hops_by_id(&d), hops_by_id(&s));
        if dh.len() != sh.len() {
            problems.push(format!("dump lists {} hops, disk {}", sh.len(), dh.len()));
        }
        for (id, h) in &dh {
            match sh.get(id) {
                None => problems.push(format!("hop {id}: on disk, missing from the dump")),
                Some(x) => {
                    // Only a tree on disk has files this machine may look
                    // up; a dump says its files were not checked.
                    let dump_note = x["files_not_checked"].as_str().unwrap_or("");
                    if !x["files_not_checked"].is_null() && !dump_note.contains("nginx -T output") {
                        problems.push(format!("hop {id}: dump note {dump_note:?}"));
                    }
                    let (mut h, mut x) = (h.clone(), x.clone());
                    for v in [&mut h, &mut x] {
                        if let Some(o) = v.as_object_mut() {
                            o.remove("files_not_checked");
                        }
                    }
                    let (h, x) = (&h, &x);
                    if let Some(diff) = first_diff(h, x, id) {
                        problems.push(format!("hop {id}: disk vs dump: {diff}"));
                    }
                }
            }
        }
        for key in ["errors", "nginx_version", "schema"] {
            if d[key] != s[key] {
                problems.push(format!("{key}: disk {} vs dump {}", d[key], s[key]));
            }
        }
        eprintln!(
            "compared {} hops from {} dumped files",
            dh.len(),
            names.len()
        );
    }

    // ---- a dump cut in the middle of a file -------------------------------
    let cut_abs = format!("{pfx_slash}{}", tree.cut_file);
    let marker = format!("{MARKER}{cut_abs}:\n");
    let at = dump.stdout.find(&marker).expect("harness: cut file dumped") + marker.len();
    let body = &dump.stdout[at..];
    let line_start: usize = body
        .split_inclusive('\n')
        .take(tree.cut_line - 1)
        .map(str::len)
        .sum();
    let line_text = body[line_start..].lines().next().unwrap_or("");
    let cut = at + line_start + line_text.len() / 2 + 2;
    let truncated = dump.stdout[..cut].to_string();
    let r = hopscope_run(
        &["hops", "-", "--json", "--nginx-version", "1.22.1"],
        Some(truncated.clone().into_bytes()),
        HOPSCOPE_TIMEOUT,
    );
    eprintln!(
        "truncated dump (cut in {}:{}): exit {:?} in {:?}",
        tree.cut_file, tree.cut_line, r.code, r.elapsed
    );
    let lines: Vec<&str> = r.stderr.lines().collect();
    if r.code != Some(2) || r.stderr.contains("panicked") {
        problems.push(format!(
            "truncated dump: exit {:?}, expected 2; stderr:\n{}",
            r.code, r.stderr
        ));
    }
    let rel_err = format!(
        "hopscope: error: {}:{}: unexpected end of file",
        tree.cut_file, tree.cut_line
    );
    let abs_err = format!(
        "hopscope: error: {cut_abs}:{}: unexpected end of file",
        tree.cut_line
    );
    if lines.len() != 1 {
        problems.push(format!(
            "truncated dump: {} error lines, expected exactly one:\n{}",
            lines.len(),
            r.stderr
        ));
    }
    match lines.first() {
        Some(l) if l.starts_with(&abs_err) => {}
        Some(l) if l.starts_with(&rel_err) => naming.push(format!(
            "truncated dump: error names {:?}, the dump names it {cut_abs:?}: {l}",
            tree.cut_file
        )),
        _ => problems.push(format!(
            "truncated dump: expected `{abs_err}…`, got:\n{}",
            r.stderr
        )),
    }
    match r.json() {
        Ok(doc) => {
            let got: BTreeSet<String> = hops_by_id(&doc)
                .into_keys()
                .map(|id| id.replace(&pfx_slash, ""))
                .collect();
            let want: BTreeSet<String> = tree.hops_before_cut.iter().cloned().collect();
            if got != want {
                problems.push(format!(
                    "truncated dump: hops {got:?}, expected the complete part's {want:?}"
                ));
            }
            let errs = doc["errors"].as_array().map_or(0, Vec::len);
            if errs != lines.len() {
                problems.push(format!(
                    "truncated dump: {errs} errors in JSON, {} on stderr",
                    lines.len()
                ));
            }
        }
        Err(e) => problems.push(format!("truncated dump: {e}")),
    }

    eprintln!("total {:?}", started.elapsed());
    report(problems, naming);
}

/// Fail once with everything found.
fn report(problems: Vec<String>, naming: Vec<String>) {
    if problems.is_empty() && naming.is_empty() {
        return;
    }
    let mut msg = String::new();
    if !problems.is_empty() {
        let _ = writeln!(msg, "\n=== {} problem(s) ===", problems.len());
        for p in &problems {
            let _ = writeln!(msg, "- {p}");
        }
    }
    if !naming.is_empty() {
        let _ = writeln!(
            msg,
            "\n=== {} naming problem(s): contract says dump input names files as the dump does ===",
            naming.len()
        );
        for p in &naming {
            let _ = writeln!(msg, "- {p}");
        }
    }
    panic!("{msg}");
}

/// One rejected configuration: `nginx -T` fails; its output fed to hopscope.
fn rejected_case(
    nginx: &Path,
    label: &str,
    extra: &str,
    nginx_says: &str,
    problems: &mut Vec<String>,
) {
    let prefix = Prefix::new(&format!("dump-rejected-{label}"));
    let mut m = ConfFile::new("nginx.conf");
    write_main_preamble(&mut m);
    m.open("http");
    write_http_preamble(&mut m);
    m.line("include servers.d/*.conf;");
    m.close();
    prefix.write_conf(&m);
    let mut s = ConfFile::new("servers.d/bad.conf");
    s.open("server");
    s.line("listen 127.0.0.1:18090;");
    s.open("location /");
    s.line(extra);
    s.line("proxy_pass https://127.0.0.1:9443;");
    s.close();
    s.close();
    prefix.write_conf(&s);

    let alone = nginx_dump(nginx, prefix.path(), false);
    let both = nginx_dump(nginx, prefix.path(), true);
    assert_ne!(alone.code, Some(0), "harness: nginx accepted {label}");
    assert!(
        both.stdout.contains(nginx_says),
        "harness: nginx -T 2>&1 for {label} does not say {nginx_says:?}:\n{}",
        both.stdout
    );
    let outside = tempfile::tempdir().expect("tempdir");
    let file = outside.path().join("nginx-T.txt");
    std::fs::write(&file, &both.stdout).expect("write");
    for (how, r) in [
        (
            "2>&1 on stdin",
            hopscope_run(
                &["hops", "-", "--json"],
                Some(both.stdout.clone().into_bytes()),
                HOPSCOPE_TIMEOUT,
            ),
        ),
        (
            "2>&1 as PATH",
            hopscope_run(
                &["hops".as_ref(), file.as_os_str(), "--json".as_ref()],
                None,
                HOPSCOPE_TIMEOUT,
            ),
        ),
    ] {
        let lines: Vec<&str> = r.stderr.lines().collect();
        let ok = r.code == Some(2)
            && lines.len() == 1
            && lines[0].starts_with("hopscope: error: ")
            && lines[0].contains(nginx_says)
            && !r.stderr.contains("panicked");
        if !ok {
            problems.push(format!(
                "rejected config ({label}), nginx -T {how}: exit {:?}, expected 2 and one line with nginx's {nginx_says:?}; stderr:\n{}",
                r.code, r.stderr
            ));
        }
    }
    // `nginx -T 2>/dev/null | hopscope hops -` (as in the README): stdout
    // alone is empty when nginx rejects the configuration. Reading nothing
    // must not pass for a configuration without hops.
    assert!(alone.stdout.is_empty(), "harness: nginx -T printed a dump");
    let r = hopscope_run(
        &["hops", "-", "--json"],
        Some(alone.stdout.clone().into_bytes()),
        HOPSCOPE_TIMEOUT,
    );
    if r.code != Some(2) || r.stderr.lines().count() != 1 {
        problems.push(format!(
            "rejected config ({label}), `nginx -T 2>/dev/null | hopscope hops -` (empty input): exit {:?}, {} stderr line(s); expected exit 2 with one error line (an empty input is no configuration)",
            r.code,
            r.stderr.lines().count()
        ));
    }
}

#[test]
fn rejected_config_dumps_are_errors() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let started = Instant::now();
    let mut problems = Vec::new();
    // an error nginx reports with file:line
    rejected_case(
        &nginx,
        "unknown",
        "proxy_ssl_frobnicate on;",
        "unknown directive \"proxy_ssl_frobnicate\" in ",
        &mut problems,
    );
    // an error nginx reports without a position (found while merging)
    rejected_case(
        &nginx,
        "verify",
        "proxy_ssl_verify on;",
        "no proxy_ssl_trusted_certificate for proxy_ssl_verify",
        &mut problems,
    );
    eprintln!("total {:?}", started.elapsed());
    report(problems, Vec::new());
}
