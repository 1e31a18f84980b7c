//! The TUI in a REAL terminal (tmux), driven like a person: keys in, the
//! screen read back. A copy of the demo tree is fixed through the UI
//! (a fix that needs no typing, then one that needs a host name typed in
//! the text field), saved twice, and then checked from the outside: the
//! bytes on disk are exactly the diffs the app showed, the backups hold
//! what was there before, `nginx -t` accepts the result, and the shell
//! gets a usable terminal back. A second test pipes `nginx -T` output
//! into `hopscope -` and drives it from the keyboard (/dev/tty).
//!
//! Every wait polls the screen with a bound; nothing sleeps blindly.

mod tui_tmux;

#[path = "common/required.rs"]
mod required;
use required::required;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tui_tmux::{
    added_lines, apply_diff, assert_terminal_usable, copy_diff, copy_tree, files_under, hopscope,
    open_hop, sh_quote, tmux_or_skip, wrapped, Tmux,
};

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo");

/// The certificate and key files the demo names under /etc/nginx/certs.
const CERT_FILES: &[&str] = &[
    "example.com.crt",
    "internal-ca.pem",
    "payments-ca.pem",
    "gateway-client.crt",
];
const KEY_FILES: &[&str] = &["example.com.key", "gateway-client.key"];

/// A copy of the demo whose certificate paths point at real files (one
/// self-signed EC certificate and its key, made with the openssl CLI).
struct DemoCopy {
    _dir: tempfile::TempDir,
    root: PathBuf,
    conf: PathBuf,
    certs: PathBuf,
}

impl DemoCopy {
    fn new() -> DemoCopy {
        let dir = tempfile::Builder::new()
            .prefix("hopscope-e2e-")
            .tempdir()
            .unwrap();
        let root = dir.path().to_path_buf();
        let conf = root.join("conf");
        let certs = root.join("certs");
        copy_tree(Path::new(DEMO), &conf);
        fs::create_dir_all(&certs).unwrap();
        let out = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "2"])
            .args(["-subj", "/CN=hopscope-test", "-keyout"])
            .arg(certs.join("key.pem"))
            .arg("-out")
            .arg(certs.join("cert.pem"))
            .stdin(Stdio::null())
            .output()
            .expect("the openssl CLI is needed");
        assert!(
            out.status.success(),
            "openssl: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for name in CERT_FILES {
            fs::copy(certs.join("cert.pem"), certs.join(name)).unwrap();
        }
        for name in KEY_FILES {
            fs::copy(certs.join("key.pem"), certs.join(name)).unwrap();
        }
        let certs_dir = format!("{}/", certs.display());
        rewrite_tree(&conf, |t| t.replace("/etc/nginx/certs/", &certs_dir));
        DemoCopy {
            _dir: dir,
            root,
            conf,
            certs,
        }
    }

    fn main(&self) -> PathBuf {
        self.conf.join("nginx.conf")
    }
}

fn rewrite_tree(dir: &Path, f: impl Fn(&str) -> String) {
    for rel in files_under(dir) {
        let p = dir.join(rel);
        let text = fs::read_to_string(&p).unwrap();
        fs::write(&p, f(&text)).unwrap();
    }
}

/// Every file of a tree with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    files_under(dir)
        .into_iter()
        .map(|rel| {
            let bytes = fs::read(dir.join(&rel)).unwrap();
            (rel, bytes)
        })
        .collect()
}

// ---------------------------------------------------------------------------
// nginx -t on the result
// ---------------------------------------------------------------------------

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

/// `load_module …;` when the stream module is dynamic, "" when built in,
/// None when absent.
fn stream_module(bin: &Path) -> Option<String> {
    let out = Command::new(bin).arg("-V").output().ok()?;
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    if text.split_whitespace().any(|w| w == "--with-stream") {
        return Some(String::new());
    }
    [
        "/usr/lib/nginx/modules",
        "/usr/lib64/nginx/modules",
        "/usr/share/nginx/modules",
    ]
    .iter()
    .map(|d| Path::new(d).join("ngx_stream_module.so"))
    .find(|p| p.is_file())
    .map(|p| format!("load_module {};\n", p.display()))
}

/// Host names nginx would resolve at startup become 127.0.0.1 (nothing
/// here reaches a network); the rest of each line is kept.
fn loopback_hosts(text: &str) -> String {
    const SUFFIX: &str = ".internal.example.com";
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(SUFFIX) {
        let head = &rest[..at];
        let start = head
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
            .map_or(0, |i| i + 1);
        out.push_str(&head[..start]);
        out.push_str("127.0.0.1");
        rest = &rest[at + SUFFIX.len()..];
    }
    out.push_str(rest);
    out
}

/// Runs `nginx -t` on a copy of `conf` with loopback hosts, the stream
/// module loaded (or the stream block dropped) and every path nginx writes
/// inside the copy.
fn nginx_accepts(bin: &Path, conf: &Path, scratch: &Path) {
    let prefix = scratch.join("nginx-t");
    copy_tree(conf, &prefix);
    for sub in ["logs", "tmp"] {
        fs::create_dir_all(prefix.join(sub)).unwrap();
    }
    rewrite_tree(&prefix, loopback_hosts);
    let main = prefix.join("nginx.conf");
    let mut text = fs::read_to_string(&main).unwrap();
    let p = prefix.display().to_string();
    text = text.replace("/run/nginx.pid", &format!("{p}/logs/nginx.pid"));
    text = text.replacen(
        "http {",
        &format!(
            "http {{\n    access_log {p}/logs/access.log;\n    client_body_temp_path {p}/tmp/body;\n    proxy_temp_path {p}/tmp/proxy;\n    fastcgi_temp_path {p}/tmp/fastcgi;\n    uwsgi_temp_path {p}/tmp/uwsgi;\n    scgi_temp_path {p}/tmp/scgi;"
        ),
        1,
    );
    match stream_module(bin) {
        Some(line) => text.insert_str(0, &line),
        None => {
            let at = text
                .find("\nstream {")
                .expect("the demo has a stream block");
            text.truncate(at + 1);
        }
    }
    fs::write(&main, text).unwrap();
    let out = Command::new(bin)
        .arg("-t")
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&main)
        .arg("-e")
        .arg(prefix.join("logs/error.log"))
        .stdin(Stdio::null())
        .output()
        .expect("run nginx -t");
    assert!(
        out.status.success(),
        "nginx -t rejects the saved configuration:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

#[test]
fn fix_save_and_quit_in_a_real_terminal() {
    if !tmux_or_skip() {
        return;
    }
    let demo = DemoCopy::new();
    let before = snapshot(&demo.conf);
    let gateway = demo.conf.join("conf.d/api-gateway.conf");
    let original = fs::read_to_string(&gateway).unwrap();
    let cmd = format!(
        "{} {}",
        sh_quote(hopscope()),
        sh_quote(&demo.main().display().to_string())
    );
    let t = Tmux::start(100, 30, &wrapped(&cmd));
    let screen = t.wait_text("Hops (17)");
    // The file and line, cut from the left at a slash if the column is short.
    assert!(screen.contains("/api-gateway.conf:26"), "{screen}");

    // 1. The hop whose proxy_ssl_name is ignored: every fix needs no typing.
    open_hop(&t, "conf.d/api-gateway.conf:26");
    let screen = t.key_then("f", "Fixes (1 selected of 3)");
    for rule in ["sni-off", "sni-name-ignored", "verify-off"] {
        assert!(screen.contains(rule), "{rule} offered\n{screen}");
    }
    t.keys(&["j", "Space"]);
    t.wait_text("Fixes (2 selected of 3)");
    t.keys(&["j", "Space"]);
    t.wait_text("Fixes (3 selected of 3)");
    let screen = t.key_then("d", "Diff · 1 file(s)");
    let diff1 = copy_diff(&t, &screen);
    let added = added_lines(&diff1);
    assert!(
        added.contains(&"proxy_ssl_server_name on;".to_string()),
        "{diff1}"
    );
    assert!(
        added.contains(&"proxy_ssl_verify on;".to_string()),
        "{diff1}"
    );
    assert!(
        !diff1
            .lines()
            .any(|l| l.starts_with('-') && !l.starts_with("---")),
        "{diff1}"
    );
    let screen = t.key_then("w", "Write 1 file(s)?");
    assert!(
        screen.contains("y write · any other key cancel"),
        "{screen}"
    );
    t.keys(&["y"]);
    let screen = t.wait_text("findings:");
    assert!(
        screen.contains("saved conf.d/api-gateway.conf (backup .hopscope.bak)"),
        "{screen}"
    );
    let after1 = apply_diff(&original, &diff1);
    assert_eq!(fs::read_to_string(&gateway).unwrap(), after1);

    // 2. The incident hop: its fix needs a host name, typed in the field.
    t.key_then("Escape", "Hops (17)");
    // Its findings are medium and low (an internal pool): none start
    // selected; pick sni-off and sni-upstream-name.
    open_hop(&t, "conf.d/api-gateway.conf:18");
    t.key_then("f", "Fixes (0 selected of 3)");
    t.keys(&["Space"]);
    t.wait_text("Fixes (1 selected of 3)");
    t.keys(&["j", "j", "Space"]);
    t.wait_text("Fixes (2 selected of 3)");
    t.key_then("d", "press e to type it");
    let screen = t.key_then("e", "Type the value");
    assert!(screen.contains("Enter set · Esc cancel"), "{screen}");
    t.type_text("api.example.com");
    t.wait_text("│api.example.com");
    t.key_then("Enter", "value set");
    let screen = t.key_then("d", "Diff · 1 file(s)");
    let diff2 = copy_diff(&t, &screen);
    let added = added_lines(&diff2);
    assert!(
        added.contains(&"proxy_ssl_name api.example.com;".to_string()),
        "{diff2}"
    );
    assert!(
        added.contains(&"proxy_ssl_server_name on;".to_string()),
        "{diff2}"
    );
    t.key_then("w", "Write 1 file(s)?");
    t.keys(&["y"]);
    let screen = t.wait_text("findings:");
    assert!(
        screen.contains("saved conf.d/api-gateway.conf (backup .hopscope.bak.1)"),
        "{screen}"
    );

    // 3. Quit: the shell is back, with a sane terminal.
    t.keys(&["q"]);
    t.wait_text("AFTER-0");
    assert_terminal_usable(&t);

    // 4. On disk: exactly the two diffs, two backups, nothing else.
    let after2 = apply_diff(&after1, &diff2);
    assert_eq!(fs::read_to_string(&gateway).unwrap(), after2);
    let bak = demo.conf.join("conf.d/api-gateway.conf.hopscope.bak");
    assert_eq!(fs::read_to_string(&bak).unwrap(), original, "first backup");
    let bak1 = demo.conf.join("conf.d/api-gateway.conf.hopscope.bak.1");
    assert_eq!(fs::read_to_string(&bak1).unwrap(), after1, "second backup");
    let now = snapshot(&demo.conf);
    let mut expected: Vec<PathBuf> = before.iter().map(|(p, _)| p.clone()).collect();
    expected.push("conf.d/api-gateway.conf.hopscope.bak".into());
    expected.push("conf.d/api-gateway.conf.hopscope.bak.1".into());
    expected.sort();
    let names: Vec<PathBuf> = now.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(names, expected, "no temporary file is left behind");
    for (rel, bytes) in &before {
        if rel != Path::new("conf.d/api-gateway.conf") {
            let now_bytes = &now.iter().find(|(p, _)| p == rel).unwrap().1;
            assert_eq!(now_bytes, bytes, "{} changed", rel.display());
        }
    }

    // 5. nginx accepts the fixed configuration.
    if let Some(bin) = nginx_bin() {
        nginx_accepts(&bin, &demo.conf, &demo.root);
    }
    let _ = &demo.certs;
}

/// What `nginx -T` prints for the demo: each file behind its marker.
fn dump_of(dir: &Path) -> String {
    let mut files = files_under(dir);
    files.sort_by_key(|p| (p != Path::new("nginx.conf"), p.clone()));
    let mut out = String::from(
        "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\nnginx: configuration file /etc/nginx/nginx.conf test is successful\n",
    );
    for rel in files {
        let text = fs::read_to_string(dir.join(&rel)).unwrap();
        out.push_str(&format!(
            "# configuration file /etc/nginx/{}:\n{text}\n",
            rel.display()
        ));
    }
    out
}

#[test]
fn keys_work_while_standard_input_is_a_pipe() {
    if !tmux_or_skip() {
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("hopscope-e2e-pipe-")
        .tempdir()
        .unwrap();
    let dump = dir.path().join("nginx-T.txt");
    fs::write(&dump, dump_of(Path::new(DEMO))).unwrap();
    let cmd = format!(
        "cat {} | {} -",
        sh_quote(&dump.display().to_string()),
        sh_quote(hopscope())
    );
    let t = Tmux::start(120, 30, &wrapped(&cmd));
    let screen = t.wait_text("Hops (17)");
    assert!(screen.contains("standard input"), "{screen}");
    // Keys reach the app although standard input is the pipe.
    t.key_then("/", "Enter keep");
    t.type_text("payments");
    t.wait_text("Hops (3/17)");
    t.keys(&["Enter"]);
    t.wait_gone("Enter keep");
    t.keys(&["j"]);
    // A dump's files are named from its main file's directory.
    let screen = t.key_then("Enter", "Hop conf.d/payments.conf:30");
    assert!(screen.contains("proxy_ssl_verify"), "{screen}");
    // Only verify-off (written off) is high and starts selected.
    t.key_then("f", "Fixes (1 selected of 3)");
    t.key_then("d", "press e to type what");
    t.key_then("e", "Type the value");
    t.type_text("payments.internal.example.com");
    t.key_then("Enter", "value set");
    t.key_then("d", "Diff · 1 file(s)");
    // Nothing on disk to write: the app says what to do instead.
    t.key_then("w", "not on disk");
    t.key_then("Escape", "Fixes (");
    t.key_then("Escape", "Hop conf.d/payments.conf:30");
    t.key_then("Escape", "Hops (3/17)");
    t.key_then("r", "cannot be read again");
    t.keys(&["q"]);
    t.wait_text("AFTER-0");
    assert_terminal_usable(&t);
}
