//! Security of what hopscope does on this machine with files others wrote:
//! the local save, `nginx -T` input, standard input, diff headers and
//! `fix --validate`.
//!
//! The save tests race another user (uid 65534, through `setpriv`) against
//! saves made as root; they need root. Without root they are skipped with
//! a message, except in CI (env `CI` set), where that is a failure.

mod common;

use common::{hopscope_run, is_root, nginx_or_skip, HopscopeRun, Prefix};
use hopscope::changed::ChangedFile;
use hopscope::fix::save::save_all;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NOBODY: u32 = 65534;
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// True when the test can run as root; otherwise says why it is skipped,
/// or fails in CI.
fn root_or_skip(what: &str) -> bool {
    if is_root() {
        return true;
    }
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{what} needs root, and CI is set: run the security tests as root in CI");
    }
    eprintln!("skipping {what}: not root");
    false
}

/// A shell loop run as uid/gid 65534 with no supplementary groups, killed
/// and reaped on drop.
struct AsNobody(Child);

impl AsNobody {
    fn spawn(script: &str, out: Stdio) -> AsNobody {
        let child = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "sh",
                "-c",
                script,
            ])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .expect("run setpriv (util-linux)");
        // Let the loop start before the race begins.
        std::thread::sleep(Duration::from_millis(200));
        AsNobody(child)
    }
}

impl Drop for AsNobody {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// The names in a directory.
fn entries(dir: impl AsRef<Path>) -> Vec<std::ffi::OsString> {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect()
}

fn remove_backups(dir: &Path) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        if e.file_name().to_string_lossy().contains(".hopscope.bak") {
            let _ = fs::remove_file(e.path());
        }
    }
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> HopscopeRun {
    hopscope_run(args, stdin.map(<[u8]>::to_vec), RUN_TIMEOUT)
}

// ---------------------------------------------------------------------------
// 1. The local save
// ---------------------------------------------------------------------------

/// A 0600 file being saved is never readable by another user: not its
/// temporary file while it is written, nor its backup. Another user reads
/// every hopscope file in the directory in a loop while root saves.
#[test]
fn saving_a_private_file_never_exposes_it_to_other_users() {
    if !root_or_skip("saving_a_private_file_never_exposes_it_to_other_users") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o755);
    let logs = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.conf");
    let secret = vec![b's'; 4 << 20];
    let fixed = vec![b'f'; 4 << 20];
    fs::write(&target, &secret).unwrap();
    chmod(&target, 0o600);
    let seen = logs.path().join("seen");
    let script = format!(
        "while :; do for f in '{d}'/.t.conf.hopscope-* '{d}'/t.conf.hopscope.bak*; do \
         head -c 1 \"$f\" >/dev/null 2>&1 && echo \"$f\"; done; done",
        d = dir.path().display()
    );
    let reader = AsNobody::spawn(&script, Stdio::from(fs::File::create(&seen).unwrap()));
    let started = Instant::now();
    let mut rounds = 0;
    while rounds < 40 && started.elapsed() < Duration::from_secs(20) {
        let (old, new) = if rounds % 2 == 0 {
            (&secret, &fixed)
        } else {
            (&fixed, &secret)
        };
        save_all(&[changed(&target, old, new)]).unwrap();
        assert_eq!(fs::metadata(&target).unwrap().mode() & 0o777, 0o600);
        remove_backups(dir.path());
        rounds += 1;
    }
    drop(reader);
    let leaked = fs::read_to_string(&seen).unwrap();
    assert!(
        leaked.is_empty(),
        "another user read files of a 0600 configuration during {rounds} saves:\n{}",
        leaked.lines().take(5).collect::<Vec<_>>().join("\n")
    );
}

/// Another user who can write to the directory replaces hopscope's
/// temporary names with symlinks to a root-owned file, over and over,
/// while root saves a file they own: the root file's owner, mode and
/// content never change.
#[test]
fn a_swapped_temporary_never_changes_another_file() {
    if !root_or_skip("a_swapped_temporary_never_changes_another_file") {
        return;
    }
    let vdir = tempfile::tempdir().unwrap();
    chmod(vdir.path(), 0o755);
    let victim = vdir.path().join("victim");
    fs::write(&victim, b"root's file\n").unwrap();
    chmod(&victim, 0o600);
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o777);
    let target = dir.path().join("t.conf");
    let script = format!(
        "while :; do for f in '{d}'/.t.conf.hopscope-*; do \
         [ -e \"$f\" ] || [ -L \"$f\" ] || continue; [ -L \"$f\" ] && continue; \
         rm -f \"$f\" 2>/dev/null && ln -s '{v}' \"$f\" 2>/dev/null; done; done",
        d = dir.path().display(),
        v = victim.display()
    );
    let attacker = AsNobody::spawn(&script, Stdio::null());
    let old = vec![b'o'; 1 << 20];
    let new = vec![b'n'; 1 << 20];
    let started = Instant::now();
    let mut rounds = 0;
    while rounds < 60 && started.elapsed() < Duration::from_secs(20) {
        let _ = fs::remove_file(&target);
        fs::write(&target, &old).unwrap();
        chmod(&target, 0o666);
        std::os::unix::fs::chown(&target, Some(NOBODY), Some(NOBODY)).unwrap();
        // Success or an error: either way nothing else may change.
        let _ = save_all(&[changed(&target, &old, &new)]);
        remove_backups(dir.path());
        rounds += 1;
    }
    drop(attacker);
    let meta = fs::metadata(&victim).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (0, 0, 0o600),
        "the root-owned file changed owner or mode during {rounds} saves"
    );
    assert_eq!(fs::read(&victim).unwrap(), b"root's file\n");
}

// ---------------------------------------------------------------------------
// 2. A marker imitated inside a dumped file
// ---------------------------------------------------------------------------

/// a.conf ends with a line that imitates nginx's marker for b.conf, and
/// fake contents; the real b.conf follows. Picking either silently would
/// hide the other: it is a load error naming both marker lines (exit 2),
/// and the rest is still analysed.
#[test]
fn a_name_dumped_twice_is_a_load_error_with_both_lines() {
    let dump = "\
# configuration file /etc/nginx/nginx.conf:
events {}
http {
    include /etc/nginx/conf.d/a.conf;
    include /etc/nginx/conf.d/b.conf;
}

# configuration file /etc/nginx/conf.d/a.conf:
server { listen 80; location / { proxy_pass https://a.example.com; } }
# configuration file /etc/nginx/conf.d/b.conf:
server { listen 81; location / { proxy_pass https://fake.example.com; proxy_ssl_server_name on; } }

# configuration file /etc/nginx/conf.d/b.conf:
server { listen 81; location / { proxy_pass https://real.example.com; } }

";
    let r = run(&["hops", "-"], Some(dump.as_bytes()));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("-:13: ")
            && r.stderr
                .contains("\"/etc/nginx/conf.d/b.conf\" twice, at lines 10 and 13"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("a.example.com"), "{}", r.stdout);
}

/// Real nginx dumps a file included several times under one name once
/// (another spelling of its path, `./s.conf`, is dumped again with the
/// same contents): such a dump loads without any error.
#[test]
fn real_nginx_dumps_each_name_once_and_loads_cleanly() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let p = Prefix::new("sec-dump-twice");
    p.write(
        "nginx.conf",
        "events {}\nhttp {\n    include s.conf;\n    server {\n        listen 127.0.0.1:1;\n        include s.conf;\n        location / { proxy_pass https://127.0.0.1:2; }\n    }\n    include ./s.conf;\n    include s.conf;\n}\n",
    );
    p.write("s.conf", "proxy_set_header X-Shared a;\n");
    let out = Command::new(&nginx)
        .arg("-T")
        .arg("-p")
        .arg(p.path())
        .arg("-c")
        .arg(p.conf_path())
        .arg("-e")
        .arg("/dev/null")
        .stdin(Stdio::null())
        .output()
        .expect("run nginx -T");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let markers: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("# configuration file "))
        .collect();
    let mut unique = markers.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(markers.len(), unique.len(), "{markers:?}");
    assert_eq!(markers.len(), 3, "{markers:?}");
    let r = run(&["hops", "-"], Some(&out.stdout));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(!r.stderr.contains("error"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------
// 3. Standard input that is not a dump
// ---------------------------------------------------------------------------

/// Text piped in without `nginx -T` markers is read as a configuration in
/// the current directory, and its includes from this machine's disk. It
/// owns none of those files: `fix - --write` refuses (exit 2, nothing
/// written) and says to print the diff; without --write the diff is shown.
#[test]
fn standard_input_that_is_not_a_dump_is_never_written_to_disk() {
    let dir = tempfile::tempdir().unwrap();
    let inc = dir.path().join("conf.d/a.conf");
    fs::create_dir_all(inc.parent().unwrap()).unwrap();
    let before = "server { listen 80; location / { proxy_pass https://api.example.com; } }\n";
    fs::write(&inc, before).unwrap();
    let stdin = format!(
        "events {{}}\nhttp {{\n    include {}/conf.d/*.conf;\n}}\n",
        dir.path().display()
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hopscope"));
    cmd.args(["fix", "-", "--rule", "sni-off", "--write"])
        .current_dir(dir.path());
    let r = common::run_bounded(&mut cmd, Some(stdin.clone().into_bytes()), RUN_TIMEOUT);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("standard input is not nginx -T output")
            && r.stderr.contains("without --write to print the diff"),
        "{}",
        r.stderr
    );
    assert_eq!(fs::read_to_string(&inc).unwrap(), before);
    let leftovers: Vec<_> = entries(inc.parent().unwrap())
        .into_iter()
        .filter(|n| n != "a.conf")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hopscope"));
    cmd.args(["fix", "-", "--rule", "sni-off"])
        .current_dir(dir.path());
    let r = common::run_bounded(&mut cmd, Some(stdin.into_bytes()), RUN_TIMEOUT);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("+++ b/"), "{}", r.stdout);
}

/// The TUI's save (`w`) refuses the same way: its files came from a pipe.
#[test]
fn the_tui_never_saves_files_named_by_standard_input() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use hopscope::tui::action::Screen;
    use hopscope::tui::app::App;
    let dir = tempfile::tempdir().unwrap();
    let inc = dir.path().join("a.conf");
    fs::write(&inc, HOP).unwrap();
    let text = format!("events {{}}\nhttp {{ include {}; }}\n", inc.display());
    let cfg = hopscope::conf::from_bytes(text.into_bytes(), None).unwrap();
    let model = hopscope::model::Model::build(cfg, hopscope::model::Version::NEWEST_STABLE);
    let mut app = App::new(model, "standard input".into());
    app.cursor = app
        .rows
        .iter()
        .position(|&h| app.model.hops[h].id.ends_with("a.conf:1"))
        .expect("the hop of a.conf");
    for c in ['f', 'd', 'w'] {
        let ev = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        if let Some(a) = hopscope::tui::keymap::action_for(app.screen(), ev) {
            app.update(a);
        }
    }
    assert_eq!(app.screen(), Screen::Diff);
    assert!(!app.confirm_save);
    let status = app
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    assert!(
        status.contains("standard input is not nginx -T output"),
        "{status}"
    );
    assert_eq!(fs::read_to_string(&inc).unwrap(), HOP);
}

/// nginx's own messages before the dump (what `ssh HOST nginx -T 2>&1`
/// prints first) still make it a dump, and a dump is never written either.
#[test]
fn nginx_messages_before_a_dump_still_make_it_a_dump() {
    let dump = "\
nginx: the configuration file /etc/nginx/nginx.conf syntax is ok
nginx: configuration file /etc/nginx/nginx.conf test is successful
# configuration file /etc/nginx/nginx.conf:
events {}
http { server { listen 80; location / { proxy_pass https://api.example.com; } } }

";
    let r = run(
        &["fix", "-", "--rule", "sni-off", "--write"],
        Some(dump.as_bytes()),
    );
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("is not a file on this machine (demo or nginx -T input)"),
        "{}",
        r.stderr
    );
}

// ---------------------------------------------------------------------------
// 4. Diff headers from dump names
// ---------------------------------------------------------------------------

/// The paths of a diff's `diff --git`, `---` and `+++` lines.
fn header_paths(diff: &str) -> Vec<String> {
    let mut out = Vec::new();
    for l in diff.lines() {
        if let Some(rest) = l.strip_prefix("diff --git ") {
            out.extend(rest.split(' ').map(str::to_string));
        } else if let Some(rest) = l.strip_prefix("--- ").or_else(|| l.strip_prefix("+++ ")) {
            out.push(rest.to_string());
        }
    }
    out
}

const HOP: &str = "server { listen 80; location / { proxy_pass https://api.example.com; } }\n";

/// Dump names with `..` above the root and control characters: every diff
/// header stays below the tree (`a/` or `b/` and no `..`), shows control
/// characters escaped, and `patch -p1 --dry-run` finds nothing to write
/// outside the directory it runs in.
#[test]
fn diff_headers_from_dump_names_never_leave_the_tree() {
    let dump = format!(
        "# configuration file /etc/nginx/nginx.conf:\n\
         events {{}}\nhttp {{\n    include /../tmp/hs-outside/x.conf;\n    include /etc/nginx/conf.d/\x1bcesc.conf;\n}}\n\n\
         # configuration file /../tmp/hs-outside/x.conf:\n{HOP}\n\
         # configuration file /etc/nginx/conf.d/\x1bcesc.conf:\n{HOP}\n"
    );
    let r = run(&["fix", "-", "--rule", "sni-off"], Some(dump.as_bytes()));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let paths = header_paths(&r.stdout);
    assert_eq!(paths.len(), 8, "{}", r.stdout);
    for p in &paths {
        let rel = p
            .strip_prefix("a/")
            .or_else(|| p.strip_prefix("b/"))
            .unwrap_or_else(|| panic!("header path {p:?} is not below a/ or b/"));
        assert!(
            !rel.starts_with('/') && !rel.split('/').any(|c| c == ".." || c.is_empty()),
            "header path {p:?} leaves the tree:\n{}",
            r.stdout
        );
        assert!(!p.contains('\x1b'), "raw escape in header {p:?}");
    }
    assert!(
        paths.contains(&"a/tmp/hs-outside/x.conf".to_string()),
        "{paths:?}"
    );
    assert!(
        paths.contains(&"a/conf.d/\\x1bcesc.conf".to_string()),
        "{paths:?}"
    );
    // GNU patch as the reader of the diff: it names only files below `.`.
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("patch");
    cmd.args(["-p1", "--dry-run", "--force"])
        .current_dir(dir.path());
    let out = common::run_bounded(&mut cmd, Some(r.stdout.into_bytes()), RUN_TIMEOUT);
    assert!(
        !out.stdout.contains("..") && !out.stderr.contains("dangerous"),
        "{}{}",
        out.stdout,
        out.stderr
    );
}

/// A relative dump name that climbs out of the tree gets no diff at all:
/// refused with the name, exit 2.
#[test]
fn a_dump_name_leading_out_of_the_tree_gets_no_diff() {
    let dump = format!(
        "# configuration file nginx.conf:\n\
         events {{}}\nhttp {{\n    include ../etc/hs-passwd;\n}}\n\n\
         # configuration file ../etc/hs-passwd:\n{HOP}\n"
    );
    let r = run(&["fix", "-", "--rule", "sni-off"], Some(dump.as_bytes()));
    assert_eq!(r.code, Some(2), "{}\n{}", r.stderr, r.stdout);
    assert!(
        r.stderr
            .contains("cannot make a diff of \"../etc/hs-passwd\""),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains("../"), "{}", r.stdout);
}

// ---------------------------------------------------------------------------
// 5. fix --validate on a tree others wrote
// ---------------------------------------------------------------------------

const FRONT: &str = "
events {}
http {
    server {
        listen 127.0.0.1:PORT;
        location / { proxy_pass https://localhost:1; }
    }
}
";

fn front(p: &Prefix, head: &str, http: &str) {
    let port = common::free_port().to_string();
    let text = FRONT
        .replace("PORT", &port)
        .replace("events {}", &format!("{head}\nevents {{}}"))
        .replace("http {", &format!("http {{\n{http}"));
    p.write("nginx.conf", &text);
}

fn validate(p: &Prefix, nginx: &Path) -> HopscopeRun {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hopscope"));
    cmd.args(["fix", "--rule", "sni-off", "--validate"])
        .arg(p.path())
        .env("HOPSCOPE_NGINX", nginx);
    common::run_bounded(&mut cmd, None, RUN_TIMEOUT)
}

/// A module outside nginx's module directory is never loaded by the test
/// (a path that does not exist: nginx would fail on dlopen if it tried);
/// a note says so. A module in nginx's own directory still loads, and the
/// directives it brings pass.
#[test]
fn validate_loads_no_module_from_outside_nginxs_module_directory() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let evil = tempfile::tempdir().unwrap();
    let so = evil.path().join("evil.so");
    let p = Prefix::new("sec-validate-module");
    front(&p, &format!("load_module {};", so.display()), "");
    let r = validate(&p, &nginx);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        !r.stderr.contains("dlopen")
            && r.stderr.contains(&format!(
                "note: nginx.conf:2: the module \"{}\" was not loaded",
                so.display()
            ))
            && r.stderr.contains("nginx -t accepts"),
        "{}",
        r.stderr
    );

    if let Some(load) = common::stream_load_module(&nginx).filter(|l| !l.is_empty()) {
        let p = Prefix::new("sec-validate-own-module");
        let port = common::free_port();
        front(
            &p,
            &format!("{load}\nstream {{ server {{ listen 127.0.0.1:{port}; return ok; }} }}"),
            "",
        );
        let r = validate(&p, &nginx);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert!(!r.stderr.contains("note:"), "{}", r.stderr);
    }
    // Debian's form: relative to nginx's prefix (/usr/share/nginx), whose
    // `modules` leads to nginx's module directory.
    if Path::new("/usr/share/nginx/modules/ngx_stream_module.so").exists() {
        let p = Prefix::new("sec-validate-relative-module");
        let port = common::free_port();
        front(
            &p,
            &format!(
                "load_module modules/ngx_stream_module.so;\nstream {{ server {{ listen 127.0.0.1:{port}; return ok; }} }}"
            ),
            "",
        );
        let r = validate(&p, &nginx);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert!(!r.stderr.contains("note:"), "{}", r.stderr);
    }
}

/// Paths nginx -t creates or opens for writing, absolute and relative to
/// the prefix: after `fix --validate` none of them exists, and the tree's
/// own directories hold nothing new.
#[test]
fn validate_creates_no_file_outside_its_test_copy() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let o = out.path().display().to_string();
    let p = Prefix::new("sec-validate-paths");
    front(
        &p,
        &format!("error_log {o}/error.log;\npid {o}/nginx.pid;\nlock_file {o}/lock;"),
        &format!(
            "    access_log {o}/access.log;\n    error_log logs/relative.log;\n    \
             client_body_temp_path {o}/body;\n    proxy_temp_path tmp/proxy;\n    \
             proxy_cache_path {o}/cache keys_zone=z:1m;\n    \
             server {{ listen unix:{o}/sock; access_log {o}/server-access.log; }}\n"
        ),
    );
    let r = validate(&p, &nginx);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("nginx -t accepts"), "{}", r.stderr);
    let made = entries(out.path());
    assert!(made.is_empty(), "nginx -t created {made:?} in {o}");
    for sub in ["logs", "tmp"] {
        let made = entries(p.path().join(sub));
        assert!(
            made.is_empty(),
            "nginx -t created {made:?} in the tree's {sub}/"
        );
    }
}

/// An OpenSSL engine (a library nginx -t would load) is left out with a
/// note; a file outside the prefix, included by its absolute path, is
/// tested as a neutralised copy too (its error log is not created); and a
/// configuration that runs Perl code while nginx reads it is not validated.
#[test]
fn validate_leaves_out_engines_and_neutralises_files_outside_the_prefix() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let o = out.path().display().to_string();
    let elsewhere = tempfile::tempdir().unwrap();
    let site = elsewhere.path().join("site.conf");
    fs::write(&site, format!("error_log {o}/from-outside.log;\n")).unwrap();
    let p = Prefix::new("sec-validate-engine");
    front(
        &p,
        &format!("ssl_engine {o}/engine;"),
        &format!("    include {};\n", site.display()),
    );
    let r = validate(&p, &nginx);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("note: nginx.conf:2: ssl_engine was left out of the test")
            && !r.stderr.contains("ENGINE_by_id"),
        "{}",
        r.stderr
    );
    let made = entries(out.path());
    assert!(made.is_empty(), "nginx -t created {made:?} in {o}");

    let p = Prefix::new("sec-validate-perl");
    front(&p, "", &format!("    perl_require {o}/evil.pm;\n"));
    let r = validate(&p, &nginx);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("cannot validate: nginx.conf:5 runs code from the configuration"),
        "{}",
        r.stderr
    );

    // njs runs a module's top-level code when it loads it.
    let p = Prefix::new("sec-validate-njs");
    front(&p, "", &format!("    js_import {o}/evil.js;\n"));
    let r = validate(&p, &nginx);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "cannot validate: nginx.conf:5 runs code from the configuration while nginx -t reads it (js_import)"
        ),
        "{}",
        r.stderr
    );
}

/// The temporary paths and pid file the test copy sets where the
/// configuration does not: one set in an included file counts as set (a
/// second would be a duplicate nginx rejects), and is pointed into the
/// test copy like any other.
#[test]
fn validate_sees_paths_set_in_included_files() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let o = out.path().display().to_string();
    let p = Prefix::new("sec-validate-included-paths");
    p.write("main.inc", &format!("pid {o}/nginx.pid;\n"));
    p.write(
        "http.inc",
        &format!("proxy_temp_path {o}/proxy;\nclient_body_temp_path {o}/body;\n"),
    );
    front(&p, "include main.inc;", "    include http.inc;\n");
    let r = validate(&p, &nginx);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let made = entries(out.path());
    assert!(made.is_empty(), "nginx -t created {made:?} in {o}");
}

/// Opens a FIFO for reading and writing on drop: whatever still waits to
/// open it (an nginx -t) gets it and then reads its end.
struct FifoRelease(PathBuf);

impl Drop for FifoRelease {
    fn drop(&mut self) {
        let _ = fs::OpenOptions::new().read(true).write(true).open(&self.0);
    }
}

/// A CA file that is a FIFO never opens for nginx -t: the test copy's
/// nginx is killed after the time limit and validation fails (exit 2)
/// instead of hanging.
#[test]
fn validate_is_bounded_in_time() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let p = Prefix::new("sec-validate-fifo");
    let fifo = p.path().join("ca.pem");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let _release = FifoRelease(fifo.clone());
    p.write(
        "nginx.conf",
        &format!(
            "events {{}}\nhttp {{\n    server {{\n        listen 127.0.0.1:{};\n        location / {{\n            proxy_pass https://localhost:1;\n            proxy_ssl_verify on;\n            proxy_ssl_trusted_certificate {};\n        }}\n    }}\n}}\n",
            common::free_port(),
            fifo.display()
        ),
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hopscope"));
    cmd.args(["fix", "--rule", "sni-off", "--validate"])
        .arg(p.path())
        .env("HOPSCOPE_NGINX", &nginx)
        .env("HOPSCOPE_VALIDATE_SECONDS", "2");
    let r = common::run_bounded(&mut cmd, None, Duration::from_secs(15));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("nginx -t did not finish within 2 s"),
        "{}",
        r.stderr
    );
}

fn changed(path: &Path, loaded: &[u8], new: &[u8]) -> ChangedFile<std::path::PathBuf> {
    ChangedFile {
        name: path.display().to_string(),
        path: path.to_path_buf(),
        loaded: loaded.to_vec(),
        new: new.to_vec(),
    }
}
