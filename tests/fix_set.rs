//! `fix --set`, end to end with the real binary: `KEY=VALUE` reaches only
//! the one hop that needs the key, else it is refused (exit 2, nothing
//! written) with the `--set HOP:KEY=VALUE` of every hop that needs it; a
//! value nginx would not read as meant (a URL for a host name, an IP
//! address, a file that does not exist) is refused before anything is
//! written; an accepted value is saved and `nginx -t` accepts the tree.

mod common;

use common::*;
use std::fs;
use std::time::Duration;

const RUN_TIMEOUT: Duration = Duration::from_secs(30);

fn hopscope(args: &[&str], stdin: Option<Vec<u8>>) -> HopscopeRun {
    let run = hopscope_run(args, stdin, RUN_TIMEOUT);
    assert!(!run.timed_out, "hopscope timed out: {}", run.stderr);
    run
}

/// The hops of the tree, by id.
struct Tree {
    prefix: Prefix,
    /// Two pools of two servers each, an IP target, one file
    /// included by two locations (two include paths), a stream server.
    a: String,
    b: String,
    ip: String,
    c1: String,
    c2: String,
    stream: String,
}

impl Tree {
    fn new(label: &str, with_stream: Option<&str>) -> Tree {
        let prefix = Prefix::new(label);
        let mut f = ConfFile::new("nginx.conf");
        if let Some(load) = with_stream.filter(|l| !l.is_empty()) {
            f.line(load);
        }
        write_main_preamble(&mut f);
        f.open("http");
        write_http_preamble(&mut f);
        // Addresses, so that nginx -t needs no DNS; the fixes still need a
        // name (a group label is not one).
        for (pool, net) in [("pool_a", 1), ("pool_b", 2)] {
            f.open(format!("upstream {pool}"));
            f.line(format!("server 127.0.{net}.1:1443;"));
            f.line(format!("server 127.0.{net}.2:1443;"));
            f.close();
        }
        f.open("server");
        f.line(format!("listen 127.0.0.1:{};", free_port()));
        f.open("location /a/");
        let a = f.line("proxy_pass https://pool_a;");
        f.close();
        f.open("location /b/");
        let b = f.line("proxy_pass https://pool_b;");
        f.close();
        f.open("location /ip/");
        let ip = f.line("proxy_pass https://10.0.0.5;");
        f.close();
        f.open("location /c1/");
        let c1 = f.line("include common.conf;");
        f.close();
        f.open("location /c2/");
        let c2 = f.line("include common.conf;");
        f.close();
        f.close();
        f.close();
        let mut stream = 0;
        if with_stream.is_some() {
            f.open("stream");
            f.open("upstream s_pool");
            f.line("server 127.0.3.1:1443;");
            f.line("server 127.0.3.2:1443;");
            f.close();
            f.open("server");
            f.line(format!("listen 127.0.0.1:{};", free_port()));
            stream = f.line("proxy_pass s_pool;");
            f.line("proxy_ssl on;");
            f.close();
            f.close();
        }
        prefix.write_conf(&f);
        prefix.write("common.conf", "proxy_pass https://pool_a;\n");
        Tree {
            prefix,
            a: format!("nginx.conf:{a}"),
            b: format!("nginx.conf:{b}"),
            ip: format!("nginx.conf:{ip}"),
            c1: format!("common.conf:1@nginx.conf:{c1}"),
            c2: format!("common.conf:1@nginx.conf:{c2}"),
            stream: format!("nginx.conf:{stream}"),
        }
    }

    fn conf(&self) -> String {
        self.prefix.conf_path().display().to_string()
    }

    fn fix(&self, extra: &[&str]) -> HopscopeRun {
        let conf = self.conf();
        let mut args = vec!["fix", conf.as_str()];
        args.extend(extra);
        hopscope(&args, None)
    }

    fn main_text(&self) -> String {
        self.prefix.read("nginx.conf")
    }

    /// The text of the location block around a hop's line.
    fn location_of(&self, text: &str, path: &str) -> String {
        let start = text
            .find(&format!("location {path} {{"))
            .unwrap_or_else(|| panic!("location {path}:\n{text}"));
        let end = start + text[start..].find('}').unwrap();
        text[start..end].to_string()
    }
}

fn assert_unchanged(tree: &Tree, before: &str, run: &HopscopeRun) {
    assert_eq!(tree.main_text(), before, "{}", run.stderr);
    let backups = fs::read_dir(tree.prefix.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".hopscope.bak"))
        .count();
    assert_eq!(backups, 0, "nothing is written");
}

#[test]
fn key_value_for_several_hops_is_refused_with_each_hop_listed() {
    // No nginx runs here: the stream block needs no load_module line.
    let tree = Tree::new("set-refused", Some(""));
    let before = tree.main_text();
    let run = tree.fix(&["--set", "sni-name=api.example.com", "--write"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("hops need sni-name, and KEY=VALUE applies only where exactly one does"),
        "{}",
        run.stderr
    );
    // The pools, the IP target, both include paths and the stream server.
    for id in [&tree.a, &tree.b, &tree.ip, &tree.c1, &tree.c2, &tree.stream] {
        assert!(
            run.stderr
                .contains(&format!("\n  --set {id}:sni-name=api.example.com")),
            "{id}: {}",
            run.stderr
        );
    }
    assert!(!run.stderr.contains("fixed:"), "{}", run.stderr);
    assert_unchanged(&tree, &before, &run);
}

#[test]
fn key_value_with_one_hop_chosen_and_hop_key_value_reach_only_that_hop() {
    let tree = Tree::new("set-one", None);
    // --hop narrows the fixes to one hop: KEY=VALUE is that hop's.
    let run = tree.fix(&[
        "--hop",
        &tree.b,
        "--set",
        "sni-name=b.example.com",
        "--write",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let text = tree.main_text();
    let b = tree.location_of(&text, "/b/");
    assert!(b.contains("proxy_ssl_name b.example.com;"), "{b}");
    assert_eq!(
        text.matches("b.example.com").count(),
        b.matches("b.example.com").count(),
        "{text}"
    );
    assert!(!run
        .stderr
        .lines()
        .any(|l| l.starts_with("fixed:") && !l.contains(&tree.b)));

    // HOP:KEY=VALUE with an include-path id: that path's location only
    // (a fresh tree: the save above moved the lines).
    let tree = Tree::new("set-one-path", None);
    let run = tree.fix(&[
        "--rule",
        "sni-off",
        "--set",
        &format!("{}:sni-name=c.example.com", tree.c2),
        "--write",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let text = tree.main_text();
    assert!(
        tree.location_of(&text, "/c2/")
            .contains("proxy_ssl_name c.example.com;"),
        "{text}"
    );
    assert_eq!(text.matches("c.example.com").count(), 1, "{text}");
    assert!(!tree.prefix.read("common.conf").contains("c.example.com"));
    assert!(
        run.stderr
            .contains(&format!("fixed: {} [sni-off]", tree.c2)),
        "{}",
        run.stderr
    );
    // The other hops are listed as not fixed, each with its own --set.
    assert!(
        run.stderr
            .contains(&format!("not fixed: {} [sni-off] needs a value", tree.a))
            && run
                .stderr
                .contains(&format!("--set {}:sni-name=VALUE", tree.a)),
        "{}",
        run.stderr
    );
}

#[test]
fn a_value_nginx_would_misread_is_refused_before_anything_is_written() {
    let tree = Tree::new("set-checked", None);
    let before = tree.main_text();
    let url = format!("{}:sni-name=https://api.example.com/", tree.a);
    let run = tree.fix(&["--set", &url, "--write"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("is a URL, not a host name")
            && run.stderr.contains("give api.example.com"),
        "{}",
        run.stderr
    );
    assert_unchanged(&tree, &before, &run);

    let run = tree.fix(&["--set", &format!("{}:sni-name=10.0.0.9", tree.a), "--write"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("nginx sends no SNI for an address"),
        "{}",
        run.stderr
    );
    assert_unchanged(&tree, &before, &run);

    // A control character is refused and shown escaped.
    let run = tree.fix(&["--set", &format!("{}:sni-name=a\u{1b}[2Jb", tree.a)]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("a\\x1b[2Jb"), "{}", run.stderr);
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);

    // A CA file that is not in the tree (loaded from its own place, so its
    // relative paths are this machine's).
    let run = tree.fix(&[
        "--rule",
        "verify-off",
        "--set",
        &format!("{}:ca-file=certs/none.pem", tree.a),
        "--write",
    ]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("does not exist here"), "{}", run.stderr);
    assert_unchanged(&tree, &before, &run);

    // An unknown key, a hop that does not exist.
    let run = tree.fix(&["--set", &format!("{}:sni=x.example.com", tree.a)]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the key is none of sni-name, ca-file, client-key"),
        "{}",
        run.stderr
    );
    let run = tree.fix(&["--set", "nginx.conf:999:sni-name=x.example.com"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("no hop \"nginx.conf:999\""),
        "{}",
        run.stderr
    );
}

#[test]
fn an_accepted_value_is_saved_and_nginx_accepts_the_tree() {
    let Some(nginx) = nginx_or_skip() else { return };
    let tree = Tree::new("set-saved", None);
    let ca = TestCa::new(&tree.prefix.path().join("certs"));
    let rel = ca
        .cert
        .strip_prefix(tree.prefix.path())
        .unwrap()
        .display()
        .to_string();
    let run = tree.fix(&[
        "--rule",
        "verify-off",
        "--hop",
        &tree.a,
        "--set",
        &format!("{}:ca-file={rel}", tree.a),
        "--set",
        "sni-name=a1.example.com:8443",
        "--write",
        "--validate",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    // The notes: relative to the prefix, and the port nginx cuts.
    assert!(
        run.stderr
            .contains("relative: nginx reads it from its prefix"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("the port is cut: nginx sends and verifies a1.example.com"),
        "{}",
        run.stderr
    );
    let text = tree.main_text();
    let a = tree.location_of(&text, "/a/");
    assert!(
        a.contains(&format!("proxy_ssl_trusted_certificate {rel};")),
        "{a}"
    );
    assert!(a.contains("proxy_ssl_name a1.example.com:8443;"), "{a}");
    assert_eq!(
        text.matches("proxy_ssl_trusted_certificate").count(),
        1,
        "{text}"
    );
    let (ok, err) = nginx_test(&nginx, tree.prefix.path());
    assert!(ok, "{err}");
}

#[test]
fn a_file_path_in_a_configuration_from_standard_input_is_noted_not_looked_up() {
    let text = "events {}
http {
    server {
        listen 80;
        location / {
            proxy_pass https://api.example.com;
        }
    }
}
";
    let run = hopscope(
        &[
            "fix",
            "-",
            "--rule",
            "verify-off",
            "--set",
            "ca-file=/nonexistent/hopscope/ca.pem",
        ],
        Some(text.as_bytes().to_vec()),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("not looked up:"), "{}", run.stderr);
    assert!(
        run.stdout
            .contains("proxy_ssl_trusted_certificate /nonexistent/hopscope/ca.pem;"),
        "{}",
        run.stdout
    );
}
