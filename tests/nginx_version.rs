//! Which nginx version's defaults apply, and where that came from: a fake
//! `nginx` on the PATH of the hopscope process (a script in a temporary
//! directory printing a version on standard error, or garbage, or
//! nothing while it hangs), dumps with and without a version line, the
//! demo, and `--nginx-version` winning over all of them. Every fake also
//! leaves a mark when it runs, so the tests see that hopscope never runs
//! the local nginx for a dump, the demo or a named version.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{run_bounded, HopscopeRun};
use serde_json::Value;

const RUN: Duration = Duration::from_secs(30);

/// A tree with one hop that sets no protocols: nginx before 1.27.3 offers
/// TLSv1 and TLSv1.1 there by default, newer nginx does not.
const CONF: &str = "events {}
http {
    server {
        listen 127.0.0.1:8080;
        server_name app.example.com;
        location / {
            proxy_pass https://api.example.com;
        }
    }
}
";

struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    /// A directory holding an executable `nginx` that runs `body` (sh),
    /// after touching `ran` in the same directory.
    fn new(body: &str) -> Fake {
        let dir = tempfile::tempdir().expect("temp dir");
        let script = dir.path().join("nginx");
        let ran = dir.path().join("ran");
        std::fs::write(
            &script,
            format!("#!/bin/sh\n: > '{}'\n{body}\n", ran.display()),
        )
        .expect("write fake nginx");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Fake { dir }
    }

    fn prints(stderr: &str) -> Fake {
        Fake::new(&format!("printf '%s\\n' '{stderr}' >&2"))
    }

    fn ran(&self) -> bool {
        self.dir.path().join("ran").exists()
    }

    /// PATH with this directory first.
    fn path_var(&self) -> String {
        format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }
}

fn tree() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, CONF).unwrap();
    (dir, conf)
}

/// hopscope ARGS with PATH set for that process only.
fn hs(path: &str, args: &[&str], stdin: Option<&[u8]>) -> HopscopeRun {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hopscope"));
    cmd.args(args).env("PATH", path);
    let run = run_bounded(&mut cmd, stdin.map(<[u8]>::to_vec), RUN);
    assert!(
        !run.timed_out,
        "hopscope {args:?} timed out: {}",
        run.stderr
    );
    run
}

fn json(run: &HopscopeRun) -> Value {
    run.json().unwrap_or_else(|e| panic!("{e}"))
}

fn rules_of(doc: &Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().unwrap_or("").to_string())
        .collect()
}

fn check_json(path: &str, target: &str) -> Value {
    let run = hs(
        path,
        &[
            "check",
            target,
            "--format",
            "json",
            "--min-severity",
            "info",
        ],
        None,
    );
    assert!(matches!(run.code, Some(0 | 1)), "{}", run.stderr);
    json(&run)
}

#[test]
fn the_local_nginx_v_decides_the_defaults_of_a_tree_here() {
    let (_d, conf) = tree();
    let conf = conf.to_str().unwrap();
    let old = Fake::prints("nginx version: nginx/1.22.1");
    let doc = check_json(&old.path_var(), conf);
    assert!(old.ran(), "nginx -v ran for a tree on this machine");
    assert_eq!(doc["nginx_version"], "1.22.1");
    assert_eq!(doc["nginx_version_source"], "local");
    assert!(
        rules_of(&doc).contains(&"weak-protocols".to_string()),
        "1.22's default protocols include TLSv1 and TLSv1.1: {doc:#}"
    );

    let hops = hs(&old.path_var(), &["hops", conf, "--json"], None);
    let h = json(&hops);
    assert_eq!(
        (&h["nginx_version"], &h["nginx_version_source"]),
        (&Value::from("1.22.1"), &Value::from("local"))
    );
    assert_eq!(
        h["hops"][0]["settings"]["proxy_ssl_protocols"]["value"],
        "TLSv1 TLSv1.1 TLSv1.2"
    );
    let text = hs(&old.path_var(), &["hops", conf], None);
    assert!(
        text.stdout
            .contains("defaults: nginx 1.22.1, from `nginx -v` on this machine\n"),
        "{}",
        text.stdout
    );
    let check = hs(&old.path_var(), &["check", conf], None);
    assert!(
        check
            .stdout
            .contains("\ndefaults: nginx 1.22.1, from `nginx -v` on this machine\n"),
        "{}",
        check.stdout
    );

    // A newer nginx here: no weak protocols by default.
    let new = Fake::prints("nginx version: nginx/1.28.0");
    let doc = check_json(&new.path_var(), conf);
    assert_eq!(doc["nginx_version"], "1.28.0");
    assert!(!rules_of(&doc).contains(&"weak-protocols".to_string()));

    // No nginx on PATH: hopscope's default, said as such.
    let empty = tempfile::tempdir().unwrap();
    let none = empty.path().display().to_string();
    let doc = check_json(&none, conf);
    assert_eq!(doc["nginx_version_source"], "default");
    assert_eq!(doc["nginx_version"], "1.30.4");
    let text = hs(&none, &["check", conf], None);
    assert!(
        text.stdout.contains(
            "defaults: nginx 1.30.4, hopscope's default: the newest stable release it knows; pass --nginx-version\n"
        ),
        "{}",
        text.stdout
    );
}

#[test]
fn garbage_an_unknown_release_and_a_hang_fall_back_with_a_note() {
    let (_d, conf) = tree();
    let conf = conf.to_str().unwrap();
    // Garbage with a terminal escape: the default, and the escape shown.
    let garbage = Fake::new("printf 'nginx: \\033]52;c;AAAA\\007 oops\\n' >&2; exit 1");
    let run = hs(&garbage.path_var(), &["check", conf], None);
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("defaults: "))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(
        line.starts_with("defaults: nginx 1.30.4, hopscope's default"),
        "{line}"
    );
    assert!(line.contains("printed no version"), "{line}");
    assert!(line.contains("\\x1b]52"), "the escape is shown: {line}");
    assert!(
        !run.stdout.contains('\u{1b}'),
        "no raw escape reaches the terminal"
    );

    // A release newer than hopscope knows: the newest it knows, noted.
    let future = Fake::prints("nginx version: nginx/1.99.0");
    let doc = check_json(&future.path_var(), conf);
    assert_eq!(doc["nginx_version"], "1.31.4");
    assert_eq!(doc["nginx_version_source"], "local");
    let run = hs(&future.path_var(), &["hops", conf], None);
    assert!(
        run.stdout
            .contains("nginx 1.99.0 is newer than any release hopscope knows"),
        "{}",
        run.stdout
    );

    // A hang: bounded, then the default with why.
    let hang = Fake::new("exec sleep 60");
    let run = hs(&hang.path_var(), &["check", conf], None);
    assert!(hang.ran());
    assert!(
        run.elapsed < Duration::from_secs(15),
        "nginx -v is bounded: {:?}",
        run.elapsed
    );
    assert!(
        run.stdout.contains("`nginx -v` gave no answer within 3 s"),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains("defaults: nginx 1.30.4, hopscope's default"));
}

/// The tree as `nginx -T` prints it, after `preamble`.
fn dump(preamble: &str) -> String {
    format!(
        "{preamble}nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n\
         nginx: configuration file /etc/nginx/nginx.conf test is successful\n\
         # configuration file /etc/nginx/nginx.conf:\n{CONF}\n"
    )
}

#[test]
fn a_dump_tells_its_version_and_nothing_runs_here() {
    let fake = Fake::prints("nginx version: nginx/1.28.0");
    let path = fake.path_var();
    // `nginx -v -T 2>&1`, and `nginx -V 2>&1; nginx -T 2>&1`.
    let v_t = dump("nginx version: nginx/1.22.1\n");
    let big_v = dump(
        "nginx version: nginx/1.24.0\nbuilt with OpenSSL 3.0.2 15 Mar 2022\n\
         TLS SNI support enabled\nconfigure arguments: --with-http_ssl_module\n",
    );
    for (text, version) in [(&v_t, "1.22.1"), (&big_v, "1.24.0")] {
        let run = hs(&path, &["hops", "-", "--json"], Some(text.as_bytes()));
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let doc = json(&run);
        assert_eq!(doc["nginx_version"], version);
        assert_eq!(doc["nginx_version_source"], "dump");
        assert_eq!(doc["hops"].as_array().map(Vec::len), Some(1));
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &v_t).unwrap();
    let run = hs(&path, &["check", file.path().to_str().unwrap()], None);
    assert!(
        run.stdout
            .contains("defaults: nginx 1.22.1, from the dump's `nginx version:` line\n"),
        "{}",
        run.stdout
    );
    // Without a version line: the default, and how to get one.
    let bare = dump("");
    let run = hs(&path, &["check", "-"], Some(bare.as_bytes()));
    assert!(
        run.stdout.contains("the dump has no `nginx version:` line"),
        "{}",
        run.stdout
    );
    // The demo: the default.
    let demo = json(&hs(&path, &["hops", "--json"], None));
    assert_eq!(demo["nginx_version_source"], "default");
    assert!(!fake.ran(), "nothing runs here for a dump or the demo");
}

#[test]
fn nginx_version_wins_over_detection() {
    let (_d, conf) = tree();
    let conf = conf.to_str().unwrap();
    let fake = Fake::prints("nginx version: nginx/1.22.1");
    let args = [
        "check",
        conf,
        "--format",
        "json",
        "--nginx-version",
        "1.26.3",
    ];
    let doc = json(&hs(&fake.path_var(), &args, None));
    assert_eq!(doc["nginx_version"], "1.26.3");
    assert_eq!(doc["nginx_version_source"], "option");
    assert!(!fake.ran(), "a named version runs no nginx");
    let dumped = dump("nginx version: nginx/1.22.1\n");
    let run = hs(
        &fake.path_var(),
        &["check", "-", "--nginx-version", "1.28.0"],
        Some(dumped.as_bytes()),
    );
    assert!(
        run.stdout
            .contains("defaults: nginx 1.28.0, from --nginx-version\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn only_an_absolute_path_entry_is_searched() {
    // An empty PATH entry is the current directory, which may be the
    // audited tree: a `nginx` there is never run.
    let (d, conf) = tree();
    let planted = Fake::prints("nginx version: nginx/1.22.1");
    std::fs::copy(planted.dir.path().join("nginx"), d.path().join("nginx")).unwrap();
    std::fs::set_permissions(
        d.path().join("nginx"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let empty = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hopscope"));
    cmd.args(["check", conf.to_str().unwrap(), "--format", "json"])
        .env("PATH", format!(":.:{}", empty.path().display()))
        .current_dir(d.path());
    let run = run_bounded(&mut cmd, None, RUN);
    let doc = json(&run);
    assert_eq!(doc["nginx_version_source"], "default");
    assert!(
        !planted.ran(),
        "a nginx in the current directory never runs"
    );
}
