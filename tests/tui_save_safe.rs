//! The TUI's save is what its preview showed, and never a configuration
//! `nginx -t` rejects, driven in a REAL terminal (tmux) with real keys,
//! real files and the real nginx.
//!
//! The tree: `proxy_ssl_verify off;` at server level, three locations
//! passing to `https://…`, no CA anywhere. On the first hop, the
//! verify-off fix with the defining placement (`p`) would turn
//! verification on, with its CA, in the server block for all three hops,
//! whose own fixes are not selected: the preview refuses it and says why,
//! and offers the hop's own block. With that placement the diff carries the CA and the depth; the
//! save question shows what `nginx -t` said about the fixed copy; the
//! bytes written are the diff the app showed and copied, applied to the
//! file as loaded; and `nginx -t` accepts the saved tree.
//!
//! Then a CA file that is not a certificate: the rules cannot tell, so the
//! diff is shown, but `w` runs `nginx -t` on a copy, which rejects it, and
//! the save is refused with nginx's reason on screen. Nothing is written.
//!
//! Every wait polls the screen with a bound; nothing sleeps blindly.

mod tui_tmux;

mod common;
use common::required;
use common::{nginx_t, TestCa};

use std::fs;
use std::path::{Path, PathBuf};

use tui_tmux::{apply_diff, copy_diff, hopscope, sh_quote, tmux_or_skip, wrapped, Tmux};

fn nginx_bin() -> Option<PathBuf> {
    let found = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    let missing = found
        .is_none()
        .then(|| "nginx is not installed".to_string());
    required("the nginx -t check", missing).then_some(found?)
}

/// The tree of the report: verification off at server level, three
/// locations passing to TLS upstreams on this machine, no CA anywhere.
/// Every path nginx -t opens is inside `dir`.
fn tree(dir: &Path) -> PathBuf {
    fs::create_dir_all(dir.join("logs")).unwrap();
    let d = dir.display();
    let text = format!(
        "pid {d}/logs/nginx.pid;\n\
         error_log {d}/logs/error.log;\n\
         events {{}}\n\
         http {{\n\
         \x20   access_log off;\n\
         \x20   client_body_temp_path {d}/logs/body;\n\
         \x20   proxy_temp_path {d}/logs/proxy;\n\
         \x20   fastcgi_temp_path {d}/logs/fastcgi;\n\
         \x20   uwsgi_temp_path {d}/logs/uwsgi;\n\
         \x20   scgi_temp_path {d}/logs/scgi;\n\
         \x20   server {{\n\
         \x20       listen 127.0.0.1:18080;\n\
         \x20       proxy_ssl_verify off;\n\
         \x20       location /a {{\n\
         \x20           proxy_pass https://localhost:9441;\n\
         \x20       }}\n\
         \x20       location /b {{\n\
         \x20           proxy_pass https://localhost:9442;\n\
         \x20       }}\n\
         \x20       location /c {{\n\
         \x20           proxy_pass https://localhost:9443;\n\
         \x20       }}\n\
         \x20   }}\n\
         }}\n"
    );
    let main = dir.join("nginx.conf");
    fs::write(&main, text).unwrap();
    main
}

/// Starts the TUI on `main` and opens the fix screen of the first hop with
/// the verify-off fix selected.
fn fix_screen(main: &Path) -> Tmux {
    // Pinned: the defaults this test is about are not the version's.
    let cmd = format!(
        "{} --nginx-version 1.30.4 {}",
        hopscope(),
        sh_quote(&main.display().to_string())
    );
    let t = Tmux::start(160, 45, &wrapped(&cmd));
    t.wait_text("nginx.conf:13");
    t.key_then("f", "Fixes (");
    let screen = t.wait_text("verify-off");
    assert!(screen.contains("sni-off"), "{screen}");
    // The verify-off fix is the second row.
    t.keys(&["j"]);
    t.wait_text("turn proxy_ssl_verify on");
    t.key_then("Space", "Fixes (1 selected");
    t
}

#[test]
fn the_saved_fix_is_the_previewed_one_and_nginx_accepts_it() {
    if !tmux_or_skip() {
        return;
    }
    let Some(nginx) = nginx_bin() else { return };
    let dir = tempfile::Builder::new()
        .prefix("hopscope-savesafe-")
        .tempdir()
        .unwrap();
    let main = tree(dir.path());
    let ca = TestCa::new(dir.path()).cert;
    nginx_t(&nginx, &main).expect("the tree as written passes nginx -t");
    let loaded = fs::read_to_string(&main).unwrap();

    let t = fix_screen(&main);
    // The placement choice exists here and says where each line goes.
    let screen = t.wait_text("goes into: the location block at nginx.conf:14");
    assert!(screen.contains("(p: the other placement)"), "{screen}");
    // The defining block of proxy_ssl_verify is the server; the CA and
    // the depth, set nowhere, go with it: one fix, one block.
    let screen = t.key_then("p", "now goes into the server block at nginx.conf:11");
    assert!(
        screen.contains("goes into: the server block at nginx.conf:11 (p: the other placement)"),
        "{screen}"
    );
    // Give the CA: a real PEM file.
    t.key_then("e", "Type the value");
    t.type_text(&ca.display().to_string());
    t.keys(&["Enter"]);
    t.wait_gone("Type the value");
    // The defining block would turn verification on for /b and /c, with
    // no CA there: refused with the reason, and the placement that works.
    let screen = t.key_then("d", "cannot be applied as placed");
    assert!(
        screen.contains("cannot be applied as placed: would also change proxy_ssl_verify")
            && screen.contains("of nginx.conf:18, which reads the same"),
        "{screen}"
    );
    assert!(
        screen.contains("Press p to write it in the location block at nginx.conf:14"),
        "{screen}"
    );
    assert!(!screen.contains("Diff ·"), "no diff is shown: {screen}");
    t.key_then("p", "now goes into the location block at nginx.conf:14");
    let screen = t.key_then("d", "Diff ·");
    let copied = copy_diff(&t, &screen);
    for line in [
        "+            proxy_ssl_verify on;",
        &format!(
            "+            proxy_ssl_trusted_certificate {};",
            ca.display()
        ),
        "+            proxy_ssl_verify_depth 3;",
    ] {
        assert!(copied.contains(line), "{line} missing from\n{copied}");
    }
    // The save question shows what nginx -t said about the fixed copy.
    let screen = t.key_then("w", "Write 1 file(s)?");
    assert!(
        screen.contains("nginx -t accepts the fixed configuration"),
        "{screen}"
    );
    t.key_then("y", "saved nginx.conf");
    let saved = fs::read_to_string(&main).unwrap();
    assert_eq!(saved, apply_diff(&loaded, &copied), "saved != preview");
    if let Err(e) = nginx_t(&nginx, &main) {
        panic!("nginx -t rejects the saved tree: {e}\n{saved}");
    }
    t.keys(&["q"]);
    t.wait_text("AFTER-0");
}

#[test]
fn a_save_nginx_would_reject_is_refused_with_its_reason() {
    if !tmux_or_skip() {
        return;
    }
    let Some(nginx) = nginx_bin() else { return };
    let dir = tempfile::Builder::new()
        .prefix("hopscope-savesafe-")
        .tempdir()
        .unwrap();
    let main = tree(dir.path());
    // A file that exists (the rules see nothing wrong) but holds no
    // certificate: nginx cannot load it.
    let not_a_ca = dir.path().join("not-a-ca.pem");
    fs::write(&not_a_ca, "not a certificate\n").unwrap();
    nginx_t(&nginx, &main).expect("the tree as written passes nginx -t");
    let loaded = fs::read(&main).unwrap();

    let t = fix_screen(&main);
    t.key_then("e", "Type the value");
    t.type_text(&not_a_ca.display().to_string());
    t.keys(&["Enter"]);
    t.wait_gone("Type the value");
    let screen = t.key_then("d", "Diff ·");
    assert!(screen.contains("not-a-ca.pem"), "{screen}");
    let screen = t.key_then("w", "not saved: broken by this fix");
    assert!(!screen.contains("Write 1 file(s)?"), "{screen}");
    assert!(screen.contains("(the unchanged one passes)"), "{screen}");
    assert_eq!(fs::read(&main).unwrap(), loaded, "nothing is written");
    assert!(
        !dir.path().join("nginx.conf.hopscope.bak").exists(),
        "no backup either"
    );
    nginx_t(&nginx, &main).expect("the tree still passes nginx -t");
    t.keys(&["q"]);
    t.wait_text("AFTER-0");
}
