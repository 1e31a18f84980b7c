//! The apply script run locally by `sh` (what `ssh host sh -s` runs on
//! the server), against a fake nginx that accepts or rejects, and the
//! report read back.

use super::*;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

#[test]
fn the_script_and_the_rust_side_name_the_same_exit_codes() {
    let mut used = std::collections::BTreeSet::new();
    for line in APPLY_SH
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
    {
        let words: Vec<&str> = line
            .split(|c: char| c.is_whitespace() || ";{}".contains(c))
            .collect();
        for pair in words.windows(2) {
            if pair[0] == "exit" || pair[0] == "failx" {
                if let Ok(code) = pair[1].parse::<i32>() {
                    used.insert(code);
                }
            }
        }
    }
    let table: std::collections::BTreeSet<i32> = APPLY_SH
        .lines()
        .skip_while(|l| !l.starts_with("# Exit codes"))
        .skip(1)
        .take_while(|l| l.starts_with('#'))
        .filter_map(|l| {
            l.trim_start_matches('#')
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    let known: std::collections::BTreeSet<i32> = ScriptExit::ALL.iter().map(|e| e.code()).collect();
    assert_eq!(used, known, "the codes apply.sh exits with");
    assert_eq!(table, known, "the table at the top of apply.sh");
    for e in ScriptExit::ALL {
        assert_eq!(ScriptExit::from_code(e.code()), Some(e));
    }
    assert_eq!(ScriptExit::from_code(255), None);
    assert!(APPLY_SH.contains(&format!(
        "say() {{ printf '{REPORT_PREFIX} %s\\n' \"$*\"; }}"
    )));
    assert!(APPLY_SH.contains(HEREDOC_END));
}

struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new(nginx_ok: bool) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let nginx = dir.path().join("fake nginx");
        let body = if nginx_ok {
            "#!/bin/sh\necho \"nginx: args $*\"\nexit 0\n"
        } else {
            "#!/bin/sh\necho 'nginx: [emerg] unknown directive \"bad\"' >&2\nexit 1\n"
        };
        std::fs::write(&nginx, body).unwrap();
        std::fs::set_permissions(&nginx, std::fs::Permissions::from_mode(0o755)).unwrap();
        Site { dir }
    }
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }
    fn remote(&self) -> Remote {
        let mut r = Remote::new("local");
        r.nginx = self.path("fake nginx");
        r.nginx_conf = Some(self.path("it's nginx.conf"));
        r
    }
    fn run(&self, files: &[ChangedFile<String>], reload: bool) -> Result<Applied, RemoteError> {
        self.run_with(Command::new("sh"), files, reload)
    }
    /// The script run by `sh` as `shell` starts it (another user).
    fn run_with(
        &self,
        shell: Command,
        files: &[ChangedFile<String>],
        reload: bool,
    ) -> Result<Applied, RemoteError> {
        self.run_for(&self.remote(), shell, files, reload)
    }
    /// The script for `remote` run by `sh` as `shell` starts it.
    fn run_for(
        &self,
        remote: &Remote,
        mut shell: Command,
        files: &[ChangedFile<String>],
        reload: bool,
    ) -> Result<Applied, RemoteError> {
        let script = apply_script(remote, files, reload);
        let mut child = shell
            .arg("-s")
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        read_report(remote, files, out.status.code(), &out.stdout, &out.stderr)
    }
    fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

#[test]
fn apply_writes_with_backups_and_keeps_mode() {
    let site = Site::new(true);
    // Names a shell would choke on travel base64-encoded.
    let a = site.path("a $(touch pwned) 'q'.conf");
    let b = site.path("b.conf");
    std::fs::write(&a, b"old a\n").unwrap();
    std::fs::write(&b, b"old b").unwrap();
    std::fs::write(format!("{b}.hopscope.bak"), b"older backup").unwrap();
    std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = site.path("link.conf");
    std::os::unix::fs::symlink(&b, &link).unwrap();
    let files = [
        changed(&a, b"old a\n", b"new a\n\x00\xff"),
        changed(&link, b"old b", b"new b\n"),
    ];
    let done = site.run(&files, true).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), b"new a\n\x00\xff");
    assert_eq!(std::fs::read(&b).unwrap(), b"new b\n");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&a).unwrap().mode() & 0o777, 0o640);
    assert_eq!(done.written[0].path, a);
    assert_eq!(done.written[0].backup, format!("{a}.hopscope.bak"));
    assert_eq!(done.written[1].path, b);
    assert_eq!(done.written[1].backup, format!("{b}.hopscope.bak.1"));
    assert_eq!(std::fs::read(&done.written[0].backup).unwrap(), b"old a\n");
    assert_eq!(
        std::fs::read(format!("{b}.hopscope.bak")).unwrap(),
        b"older backup"
    );
    assert!(done.test_output.contains("-c"), "{}", done.test_output);
    assert!(
        done.test_output.contains("it's nginx.conf -t"),
        "{}",
        done.test_output
    );
    assert!(
        matches!(&done.reload, Some(Ok(o)) if o.contains("-s reload")),
        "{:?}",
        done.reload
    );
    assert!(
        !site.entries().contains(&"pwned".to_string()),
        "no injection"
    );
    assert!(!site.entries().iter().any(|e| e.contains("hopscope-new")));
    assert!(
        !site.entries().iter().any(|e| e.starts_with(".hopscope-")),
        "the private directories are gone: {:?}",
        site.entries()
    );
}

/// Without `--nginx-conf`, nginx runs without `-c`, whatever the
/// server's environment holds.
#[test]
fn apply_without_nginx_conf_runs_nginx_without_c() {
    let site = Site::new(true);
    let a = site.path("a.conf");
    std::fs::write(&a, b"A").unwrap();
    let mut remote = site.remote();
    remote.nginx_conf = None;
    let mut shell = Command::new("sh");
    shell
        .env("HAS_CONF", "1")
        .env("CONF", "/elsewhere.conf")
        .env("CONF_B64", "L2Vsc2V3aGVyZS5jb25m");
    let files = [changed(&a, b"A", b"A2")];
    let done = site.run_for(&remote, shell, &files, true).unwrap();
    assert_eq!(done.test_output, "nginx: args -t");
    assert_eq!(done.reload, Some(Ok("nginx: args -s reload".to_string())));
    assert_eq!(std::fs::read(&a).unwrap(), b"A2");
}

/// Without root, in a directory of one's own, a file of another user
/// (which protected_hardlinks forbids linking) is backed up by a copy
/// and replaced by a file of one's own with its mode, as an editor
/// would. Needs root and setpriv (fails under CI without them).
#[test]
fn apply_without_root_backs_up_another_users_file_by_a_copy() {
    use std::os::unix::fs::MetadataExt;
    let setpriv = std::path::Path::new("/usr/bin/setpriv");
    let root = std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    if !root || !setpriv.exists() {
        assert!(
            !std::env::var_os("CI").is_some_and(|v| !v.is_empty()),
            "this test needs root and setpriv (util-linux), but CI is set"
        );
        eprintln!("skipping: needs root and setpriv");
        return;
    }
    let site = Site::new(true);
    std::os::unix::fs::chown(site.dir.path(), Some(65534), Some(65534)).unwrap();
    let a = site.path("a.conf");
    std::fs::write(&a, b"old a\n").unwrap();
    std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut nobody = Command::new(setpriv);
    nobody.args(["--reuid=65534", "--regid=65534", "--clear-groups", "sh"]);
    let files = [changed(&a, b"old a\n", b"new a\n")];
    let done = site.run_with(nobody, &files, false).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), b"new a\n");
    let meta = std::fs::metadata(&a).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (65534, 0o644));
    assert_eq!(done.written[0].backup, format!("{a}.hopscope.bak"));
    assert_eq!(std::fs::read(&done.written[0].backup).unwrap(), b"old a\n");
    assert!(
        !site.entries().iter().any(|e| e.starts_with(".hopscope-")),
        "{:?}",
        site.entries()
    );
}

#[test]
fn apply_refuses_changed_files_and_rolls_back_rejected_ones() {
    let site = Site::new(true);
    let a = site.path("a.conf");
    let b = site.path("b.conf");
    std::fs::write(&a, b"A").unwrap();
    std::fs::write(&b, b"B now").unwrap();
    let before = site.entries();
    let files = [changed(&a, b"A", b"A2"), changed(&b, b"B then", b"B2")];
    let e = site.run(&files, false).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Changed);
    assert!(
        e.to_string().contains("b.conf changed since it was loaded"),
        "{e}"
    );
    assert_eq!(site.entries(), before);
    assert_eq!(std::fs::read(&a).unwrap(), b"A");

    let bad = Site::new(false);
    let a = bad.path("a.conf");
    let b = bad.path("b.conf");
    std::fs::write(&a, b"A").unwrap();
    std::fs::write(&b, b"B").unwrap();
    let before = bad.entries();
    let files = [changed(&a, b"A", b"A2"), changed(&b, b"B", b"B2")];
    let e = bad.run(&files, true).unwrap_err();
    assert_eq!(e.kind, ErrorKind::RolledBack, "{e}");
    assert!(e.message.contains("[emerg] unknown directive"), "{e}");
    assert!(e.message.contains("rolled back"), "{e}");
    assert_eq!(std::fs::read(&a).unwrap(), b"A");
    assert_eq!(std::fs::read(&b).unwrap(), b"B");
    assert_eq!(
        bad.entries(),
        before,
        "backups and temporary files are gone"
    );

    let missing = site.path("gone.conf");
    let e = site
        .run(&[changed(&missing, b"", b"x")], false)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Write);
    assert!(e.to_string().contains("not a regular file"), "{e}");
}

fn changed(path: &str, loaded: &[u8], new: &[u8]) -> ChangedFile<String> {
    ChangedFile {
        name: path.to_string(),
        path: path.to_string(),
        loaded: loaded.to_vec(),
        new: new.to_vec(),
    }
}
