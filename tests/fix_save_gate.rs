//! `hopscope fix --write` on the tree of the TUI report (verification off
//! at server level, three TLS locations, no CA): the checks before a write
//! are the TUI's.
//!
//! - One hop with the defining placement is held back with the reason.
//! - Every hop with the defining placement: one server block gets
//!   `proxy_ssl_verify on`, the CA and the depth together; nginx -t runs by
//!   default before the write and the saved tree passes the real nginx -t.
//! - A CA file nginx cannot load: refused as broken by this fix, nothing
//!   written; `--no-validate` skips the check (and writes).
//! - A tree that already fails nginx -t the same way is written, with a
//!   note saying so.

mod common;
use common::required;
use common::{nginx_t, TestCa};

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn nginx_bin() -> Option<PathBuf> {
    let found = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    let missing = found
        .is_none()
        .then(|| "nginx is not installed".to_string());
    required::required("the nginx -t checks", missing).then_some(found?)
}

fn tree(dir: &Path, extra: &str) -> PathBuf {
    fs::create_dir_all(dir.join("logs")).unwrap();
    let d = dir.display();
    let text = format!(
        "pid {d}/logs/nginx.pid;\nerror_log {d}/logs/error.log;\nevents {{}}\nhttp {{\n    access_log off;\n    proxy_temp_path {d}/logs/proxy;\n    client_body_temp_path {d}/logs/body;\n    fastcgi_temp_path {d}/logs/fastcgi;\n    uwsgi_temp_path {d}/logs/uwsgi;\n    scgi_temp_path {d}/logs/scgi;\n{extra}    server {{\n        listen 127.0.0.1:18080;\n        proxy_ssl_verify off;\n        location /a {{\n            proxy_pass https://localhost:9441;\n        }}\n        location /b {{\n            proxy_pass https://localhost:9442;\n        }}\n        location /c {{\n            proxy_pass https://localhost:9443;\n        }}\n    }}\n}}\n"
    );
    let main = dir.join("nginx.conf");
    fs::write(&main, text).unwrap();
    main
}

fn fix(main: &Path, args: &[&str], nginx: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .arg("fix")
        .arg(main)
        .args(args)
        .env("HOPSCOPE_NGINX", nginx)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `--set HOP:KEY=VALUE` for every hop of the tree (a bare KEY=VALUE
/// applies only where exactly one hop needs the key).
fn per_hop(main: &Path, key: &str, value: &Path) -> Vec<String> {
    let text = fs::read_to_string(main).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("proxy_pass https://"))
        .flat_map(|(i, _)| {
            [
                "--set".to_string(),
                format!("nginx.conf:{}:{key}={}", i + 1, value.display()),
            ]
        })
        .collect()
}

/// `fix` with some fixed arguments and the per-hop values after them.
fn fix_with(main: &Path, args: &[&str], sets: &[String], nginx: &Path) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(sets.iter().map(String::as_str));
    fix(main, &all, nginx)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn write_checks_what_the_tui_checks() {
    let Some(nginx) = nginx_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let main = tree(dir.path(), "");
    let ca = TestCa::new(dir.path()).cert;
    let ca_set = format!("ca-file={}", ca.display());
    nginx_t(&nginx, &main).expect("the tree as written passes");
    let loaded = fs::read(&main).unwrap();

    // One hop, defining placement: the server block reaches two hops that
    // are not being fixed.
    let one = fix(
        &main,
        &[
            "--hop",
            "nginx.conf:15",
            "--placement",
            "defining",
            "--rule",
            "verify-off",
            "--set",
            &ca_set,
            "--write",
        ],
        &nginx,
    );
    assert_eq!(one.status.code(), Some(1), "{}", stderr(&one));
    assert!(
        stderr(&one)
            .contains("not fixed: nginx.conf:15 [verify-off] would also change proxy_ssl_verify"),
        "{}",
        stderr(&one)
    );
    assert_eq!(fs::read(&main).unwrap(), loaded);

    // A CA file that does not exist: the value is refused before any
    // fix is planned, naming the file, and nothing is written.
    let missing = dir.path().join("missing.pem");
    let out = fix_with(
        &main,
        &["--rule", "verify-off", "--write"],
        &per_hop(&main, "ca-file", &missing),
        &nginx,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("\"{}\" does not exist here", missing.display()))
            && err.contains("nginx -t would fail to load it"),
        "{err}"
    );
    assert_eq!(fs::read(&main).unwrap(), loaded);

    // A CA nginx cannot load: broken by this fix, nothing written.
    let bad = dir.path().join("bad.pem");
    fs::write(&bad, "not a certificate\n").unwrap();
    let refused = fix_with(
        &main,
        &["--placement", "defining", "--rule", "verify-off", "--write"],
        &per_hop(&main, "ca-file", &bad),
        &nginx,
    );
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let err = stderr(&refused);
    assert!(
        err.contains("broken by this fix: nginx -t rejects the fixed configuration (the unchanged one passes)")
            && err.contains("nothing was written"),
        "{err}"
    );
    assert_eq!(fs::read(&main).unwrap(), loaded);
    assert!(!dir.path().join("nginx.conf.hopscope.bak").exists());

    // Every hop, defining placement: one block, the CA and depth with it,
    // checked by nginx -t by default, and the saved tree passes.
    let all = fix_with(
        &main,
        &["--placement", "defining", "--rule", "verify-off", "--write"],
        &per_hop(&main, "ca-file", &ca),
        &nginx,
    );
    assert_eq!(all.status.code(), Some(0), "{}", stderr(&all));
    assert!(
        stderr(&all).contains("nginx -t accepts the fixed configuration"),
        "{}",
        stderr(&all)
    );
    let saved = fs::read_to_string(&main).unwrap();
    let server_block = format!(
        "        proxy_ssl_verify on;\n        proxy_ssl_trusted_certificate {};\n        proxy_ssl_verify_depth 3;\n        location /a {{",
        ca.display()
    );
    assert!(saved.contains(&server_block), "{saved}");
    nginx_t(&nginx, &main).expect("nginx -t accepts the saved tree");
}

#[test]
fn no_validate_skips_and_an_already_failing_tree_is_told_apart() {
    let Some(nginx) = nginx_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    // A tree nginx -t already rejects, for a reason the fix does not touch.
    let main = tree(dir.path(), "    proxy_buffers 0 0;\n");
    let before = nginx_t(&nginx, &main).expect_err("the tree already fails");
    let ca = TestCa::new(dir.path()).cert;
    let out = fix_with(
        &main,
        &["--placement", "defining", "--rule", "verify-off", "--write"],
        &per_hop(&main, "ca-file", &ca),
        &nginx,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("note: nginx -t already rejects the unchanged configuration, and the fix does not change what it says"),
        "{}\nnginx said before: {before}",
        stderr(&out)
    );

    // --no-validate: no nginx -t at all (an nginx that cannot run would
    // otherwise refuse the write).
    let dir = tempfile::tempdir().unwrap();
    let main = tree(dir.path(), "");
    let out = fix_with(
        &main,
        &[
            "--placement",
            "defining",
            "--rule",
            "verify-off",
            "--write",
            "--no-validate",
        ],
        &per_hop(&main, "ca-file", &ca),
        Path::new("/nonexistent/nginx"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("nginx -t"), "{}", stderr(&out));
    let out = fix(
        &main,
        &["--rule", "sni-off", "--write"],
        Path::new("/nonexistent/nginx"),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--no-validate writes without nginx -t"),
        "{}",
        stderr(&out)
    );
}
