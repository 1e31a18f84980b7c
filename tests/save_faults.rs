//! The safe save under faults: `fix::save::save_all` directly and through
//! `hopscope fix --write`.
//!
//! The promise: a configuration file is always either exactly what it was
//! or exactly the fixed bytes, never a mix; a backup is never overwritten;
//! on any error nothing is left behind but the original (and, after a
//! SIGKILL, possibly a stale `.NAME.hopscope-*` temporary file, which never
//! replaces anything).
//!
//! Tests run as root here, where permission bits do not stop writes, so
//! read-only is made with what root cannot bypass: `chattr +i` and
//! read-only mounts (a bind mount remounted `ro`, a tmpfs remounted `ro`);
//! a full disk is a small tmpfs. Each of those skips, printing why, when
//! the tool or the permission is missing (e.g. in an unprivileged
//! container), and runs when it can.

mod common;

use common::{hopscope_run, is_root, required, run_bounded, HopscopeRun};
use hopscope::changed::ChangedFile;
use hopscope::fix::save::{save_all, SaveError};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// A configuration with one hop whose `sni-off` fix is safe.
const CONF: &str = "\
events {}
http {
    server {
        listen 80;
        location / {
            proxy_pass https://api.example.com;
        }
    }
}
";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn sys(cmd: &str, args: &[&str]) -> Result<(), String> {
    let out = run_bounded(Command::new(cmd).args(args), None, Duration::from_secs(10));
    match out.code {
        Some(0) => Ok(()),
        _ => Err(format!(
            "{cmd} {}: {}{}",
            args.join(" "),
            out.stderr.trim(),
            if out.timed_out { " (timed out)" } else { "" }
        )),
    }
}

/// A fault this machine cannot stage: skipped here, a failure under CI.
fn skip(what: &str, why: &str) {
    required(what, Some(why.to_string()));
}

/// A mount made by a test, unmounted (lazily if busy) on drop.
struct Mount(PathBuf);

impl Mount {
    /// A tmpfs at `dir` with mount options `opts` (e.g. `size=256k`).
    fn tmpfs(dir: &Path, opts: &str) -> Result<Mount, String> {
        if !is_root() {
            return Err("not root".into());
        }
        fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let d = dir.to_string_lossy();
        sys("mount", &["-t", "tmpfs", "-o", opts, "tmpfs", &d])?;
        Ok(Mount(dir.to_path_buf()))
    }
    /// `path` (a file or directory) bind-mounted over itself, read-only.
    fn bind_ro(path: &Path) -> Result<Mount, String> {
        if !is_root() {
            return Err("not root".into());
        }
        let p = path.to_string_lossy();
        sys("mount", &["--bind", &p, &p])?;
        let m = Mount(path.to_path_buf());
        sys("mount", &["-o", "remount,ro,bind", &p])?;
        Ok(m)
    }
    fn remount(&self, opts: &str) -> Result<(), String> {
        let p = self.0.to_string_lossy();
        sys("mount", &["-o", &format!("remount,{opts}"), &p])
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let p = self.0.to_string_lossy().into_owned();
        if sys("umount", &[&p]).is_err() {
            let _ = sys("umount", &["-l", &p]);
        }
    }
}

/// `chattr +i` on a file, undone on drop (so the temp dir can go).
struct Immutable(PathBuf);

impl Immutable {
    fn set(path: &Path) -> Result<Immutable, String> {
        let p = path.to_string_lossy();
        sys("chattr", &["+i", &p])?;
        let g = Immutable(path.to_path_buf());
        // Root cannot write it now: prove the attribute is really there.
        if fs::OpenOptions::new().append(true).open(path).is_ok() {
            return Err("chattr +i did not make the file immutable".into());
        }
        Ok(g)
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = sys("chattr", &["-i", &self.0.to_string_lossy()]);
    }
}

/// Names in a directory besides the ones given.
fn extra_files(dir: &Path, known: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !known.contains(&n.as_str()) && n != "lost+found")
        .collect();
    v.sort();
    v
}

/// Everything about a file a failed save must not change.
#[derive(Debug, PartialEq)]
struct Snapshot {
    bytes: Vec<u8>,
    mtime: SystemTime,
    ino: u64,
    mode: u32,
}

fn snapshot(p: &Path) -> Snapshot {
    let m = fs::metadata(p).unwrap();
    Snapshot {
        bytes: fs::read(p).unwrap(),
        mtime: m.modified().unwrap(),
        ino: m.ino(),
        mode: m.mode(),
    }
}

fn fixed(conf: &str) -> String {
    conf.replace(
        "            proxy_pass https://api.example.com;\n",
        "            proxy_pass https://api.example.com;\n            proxy_ssl_server_name on;\n",
    )
}

fn fix_write(path: &Path) -> HopscopeRun {
    let p = path.display().to_string();
    let run = hopscope_run(
        &["fix", p.as_str(), "--write", "--rule", "sni-off"],
        None,
        RUN_TIMEOUT,
    );
    assert!(!run.timed_out, "{}", run.stderr);
    run
}

fn pending(path: &Path, loaded: &[u8], new: &[u8]) -> ChangedFile<PathBuf> {
    ChangedFile {
        name: path.display().to_string(),
        path: path.to_path_buf(),
        loaded: loaded.to_vec(),
        new: new.to_vec(),
    }
}

// ---------------------------------------------------------------------------
// Refusals that need no privilege
// ---------------------------------------------------------------------------

#[test]
fn a_file_changed_since_loading_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.conf");
    let b = dir.path().join("b.conf");
    fs::write(&a, "a\n").unwrap();
    fs::write(&b, "b, edited by someone else\n").unwrap();
    let (sa, sb) = (snapshot(&a), snapshot(&b));
    // a is as loaded; b changed after loading: neither is written.
    let err = save_all(&[pending(&a, b"a\n", b"A\n"), pending(&b, b"b\n", b"B\n")]).unwrap_err();
    assert!(matches!(err, SaveError::Changed(ref p) if p == &b), "{err}");
    assert!(err.to_string().contains("nothing was written"), "{err}");
    assert_eq!(snapshot(&a), sa);
    assert_eq!(snapshot(&b), sb);
    assert_eq!(
        extra_files(dir.path(), &["a.conf", "b.conf"]),
        Vec::<String>::new()
    );
}

#[test]
fn backups_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    fs::write(&conf, CONF).unwrap();
    // Somebody's own file with the backup's name is not ours to replace.
    let theirs = dir.path().join("nginx.conf.hopscope.bak");
    fs::write(&theirs, "not a hopscope backup\n").unwrap();

    let v1 = fixed(CONF);
    let s1 = save_all(&[pending(&conf, CONF.as_bytes(), v1.as_bytes())]).unwrap();
    assert_eq!(s1[0].backup, dir.path().join("nginx.conf.hopscope.bak.1"));
    assert_eq!(fs::read(&s1[0].backup).unwrap(), CONF.as_bytes());
    let v2 = v1.replace("listen 80;", "listen 8080;");
    let s2 = save_all(&[pending(&conf, v1.as_bytes(), v2.as_bytes())]).unwrap();
    assert_eq!(s2[0].backup, dir.path().join("nginx.conf.hopscope.bak.2"));
    assert_eq!(fs::read(&s2[0].backup).unwrap(), v1.as_bytes());
    assert_eq!(fs::read(&s1[0].backup).unwrap(), CONF.as_bytes());
    assert_eq!(
        fs::read_to_string(&theirs).unwrap(),
        "not a hopscope backup\n"
    );
    assert_eq!(fs::read_to_string(&conf).unwrap(), v2);

    // The CLI the same way: a third backup, the others untouched.
    fs::write(&conf, CONF).unwrap();
    let run = fix_write(&conf);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let third = dir.path().join("nginx.conf.hopscope.bak.3");
    assert_eq!(fs::read(&third).unwrap(), CONF.as_bytes());
    assert!(
        run.stderr.contains("nginx.conf.hopscope.bak.3"),
        "{}",
        run.stderr
    );
    assert_eq!(fs::read(&s2[0].backup).unwrap(), v1.as_bytes());
    assert_eq!(fs::read_to_string(&conf).unwrap(), fixed(CONF));
}

#[test]
fn a_symlinked_config_is_written_through_and_the_link_kept() {
    let dir = tempfile::tempdir().unwrap();
    let real_dir = dir.path().join("real");
    let site = dir.path().join("site");
    fs::create_dir_all(&real_dir).unwrap();
    fs::create_dir_all(&site).unwrap();
    let real = real_dir.join("nginx.conf");
    fs::write(&real, CONF).unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
    let link = site.join("nginx.conf");
    std::os::unix::fs::symlink(&real, &link).unwrap();

    let run = fix_write(&link);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let meta = fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_symlink(), "the link stays a link");
    assert_eq!(fs::read_link(&link).unwrap(), real);
    assert_eq!(fs::read_to_string(&real).unwrap(), fixed(CONF));
    assert_eq!(fs::metadata(&real).unwrap().mode() & 0o7777, 0o640);
    // The backup lives next to the file it saves, not next to the link.
    assert_eq!(
        fs::read_to_string(real_dir.join("nginx.conf.hopscope.bak")).unwrap(),
        CONF
    );
    assert_eq!(extra_files(&site, &["nginx.conf"]), Vec::<String>::new());
    assert_eq!(
        extra_files(&real_dir, &["nginx.conf", "nginx.conf.hopscope.bak"]),
        Vec::<String>::new()
    );

    // A dangling link is an error, and nothing is created anywhere.
    fs::remove_file(&real).unwrap();
    let err = save_all(&[pending(&link, b"x", b"y")]).unwrap_err();
    assert!(matches!(err, SaveError::Io { .. }), "{err}");
    assert!(!real.exists());
}

// ---------------------------------------------------------------------------
// Read-only files and directories
// ---------------------------------------------------------------------------

/// Checks a refused save: the error, the file unchanged in every respect,
/// and no backup or temporary file left in its directory.
fn assert_refused(err: &SaveError, file: &Path, before: &Snapshot) {
    assert!(err.to_string().contains("nothing was written"), "{err}");
    assert_eq!(&snapshot(file), before, "the original is untouched");
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let dir = file.parent().unwrap();
    assert_eq!(extra_files(dir, &[&name]), Vec::<String>::new());
}

#[test]
fn an_immutable_file_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    fs::write(&conf, CONF).unwrap();
    let _guard = match Immutable::set(&conf) {
        Ok(g) => g,
        Err(e) => return skip("the immutable-file test", &e),
    };
    let before = snapshot(&conf);
    let new = fixed(CONF);
    let err = save_all(&[pending(&conf, CONF.as_bytes(), new.as_bytes())]).unwrap_err();
    assert!(matches!(err, SaveError::Io { .. }), "{err}");
    assert_refused(&err, &conf, &before);

    let run = fix_write(&conf);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    assert_eq!(snapshot(&conf), before);
    assert_eq!(
        extra_files(dir.path(), &["nginx.conf"]),
        Vec::<String>::new()
    );
}

#[test]
fn a_read_only_bind_mounted_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    fs::write(&conf, CONF).unwrap();
    let _m = match Mount::bind_ro(&conf) {
        Ok(m) => m,
        Err(e) => return skip("the read-only bind mount test", &e),
    };
    let before = snapshot(&conf);
    let new = fixed(CONF);
    let err = save_all(&[pending(&conf, CONF.as_bytes(), new.as_bytes())]).unwrap_err();
    assert_refused(&err, &conf, &before);
}

#[test]
fn a_read_only_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let confd = dir.path().join("conf.d");
    fs::create_dir_all(&confd).unwrap();
    let conf = confd.join("app.conf");
    fs::write(&conf, CONF).unwrap();
    let before = snapshot(&conf);
    let m = match Mount::bind_ro(&confd) {
        Ok(m) => m,
        Err(e) => return skip("the read-only directory test", &e),
    };
    let new = fixed(CONF);
    let err = save_all(&[pending(&conf, CONF.as_bytes(), new.as_bytes())]).unwrap_err();
    assert!(err.to_string().contains("Read-only file system"), "{err}");
    assert_refused(&err, &conf, &before);

    // Through the CLI, with the main file writable and the include not:
    // nothing is written anywhere, the main file neither.
    fs::write(
        dir.path().join("nginx.conf"),
        "events {}\nhttp {\n    include conf.d/*.conf;\n}\n",
    )
    .unwrap();
    let app = "server {\n    listen 80;\n    location / {\n        proxy_pass https://api.example.com;\n    }\n}\n";
    drop(m);
    fs::write(&conf, app).unwrap();
    let before = snapshot(&conf);
    let main_before = snapshot(&dir.path().join("nginx.conf"));
    let _m = Mount::bind_ro(&confd).expect("mounted once already");
    let run = fix_write(&dir.path().join("nginx.conf"));
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("Read-only file system"),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(&conf), before);
    assert_eq!(snapshot(&dir.path().join("nginx.conf")), main_before);
    assert_eq!(
        extra_files(dir.path(), &["nginx.conf", "conf.d"]),
        Vec::<String>::new()
    );
}

#[test]
fn a_read_only_tmpfs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    let m = match Mount::tmpfs(&mnt, "size=1m") {
        Ok(m) => m,
        Err(e) => return skip("the read-only tmpfs test", &e),
    };
    let conf = mnt.join("nginx.conf");
    fs::write(&conf, CONF).unwrap();
    if let Err(e) = m.remount("ro") {
        return skip("the read-only tmpfs test", &e);
    }
    let before = snapshot(&conf);
    let run = fix_write(&conf);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("Read-only file system"),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(&conf), before);
    assert_eq!(extra_files(&mnt, &["nginx.conf"]), Vec::<String>::new());
}

/// Two files; the second cannot be replaced (immutable). The first was
/// already renamed into place when that shows: it must be put back.
#[test]
fn a_failure_on_the_second_file_puts_the_first_back() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.conf");
    let b = dir.path().join("b.conf");
    fs::write(&a, "a\n").unwrap();
    fs::write(&b, "b\n").unwrap();
    let _g = match Immutable::set(&b) {
        Ok(g) => g,
        Err(e) => return skip("the two-file rollback test", &e),
    };
    let err = save_all(&[pending(&a, b"a\n", b"A\n"), pending(&b, b"b\n", b"B\n")]).unwrap_err();
    assert!(err.to_string().contains("nothing was written"), "{err}");
    assert_eq!(fs::read(&a).unwrap(), b"a\n");
    assert_eq!(fs::read(&b).unwrap(), b"b\n");
    assert_eq!(
        extra_files(dir.path(), &["a.conf", "b.conf"]),
        Vec::<String>::new()
    );
}

/// The double fault: the second file cannot be replaced and the first
/// cannot be put back either (every temporary name the restore could use
/// is taken). The first file then holds the complete fixed bytes, its
/// backup is kept, and the error says so instead of "nothing was written".
#[test]
fn when_putting_back_fails_too_the_backup_is_kept_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.conf");
    let b = dir.path().join("b.conf");
    fs::write(&a, "a\n").unwrap();
    fs::write(&b, "b\n").unwrap();
    let _g = match Immutable::set(&b) {
        Ok(g) => g,
        Err(e) => return skip("the double-fault test", &e),
    };
    let pid = std::process::id();
    let mut blockers = vec![format!(".a.conf.hopscope-restore-{pid}")];
    blockers.extend((1..=100).map(|n| format!(".a.conf.hopscope-restore-{pid}-{n}")));
    for name in &blockers {
        fs::create_dir(dir.path().join(name)).unwrap();
    }
    let err = save_all(&[pending(&a, b"a\n", b"A\n"), pending(&b, b"b\n", b"B\n")]).unwrap_err();
    let msg = err.to_string();
    let SaveError::Partial { replaced, .. } = &err else {
        panic!("expected a partial save: {msg}");
    };
    assert!(!msg.contains("nothing was written"), "{msg}");
    assert_eq!(replaced.len(), 1, "{msg}");
    assert_eq!(
        fs::canonicalize(&replaced[0].path).unwrap(),
        fs::canonicalize(&a).unwrap()
    );
    assert!(
        msg.contains(&replaced[0].backup.display().to_string()),
        "{msg}"
    );
    assert_eq!(
        fs::read(&a).unwrap(),
        b"A\n",
        "complete new bytes, not a mix"
    );
    assert_eq!(fs::read(&replaced[0].backup).unwrap(), b"a\n");
    assert_eq!(fs::read(&b).unwrap(), b"b\n");
    for name in &blockers {
        fs::remove_dir(dir.path().join(name)).unwrap();
    }
    let backup = replaced[0]
        .backup
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        extra_files(dir.path(), &["a.conf", "b.conf", &backup]),
        Vec::<String>::new()
    );
}

/// A killed run may leave `.NAME.hopscope-new-PID`; a later run that gets
/// the same process id steps past it instead of failing, and never touches it.
#[test]
fn a_stale_temporary_file_with_our_pid_does_not_block_the_save() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    fs::write(&conf, CONF).unwrap();
    let pid = std::process::id();
    let stale: Vec<String> = ["new", "bak"]
        .iter()
        .map(|t| format!(".nginx.conf.hopscope-{t}-{pid}"))
        .collect();
    for name in &stale {
        fs::write(dir.path().join(name), "half of a killed save").unwrap();
    }
    let new = fixed(CONF);
    let saved = save_all(&[pending(&conf, CONF.as_bytes(), new.as_bytes())]).unwrap();
    assert_eq!(fs::read_to_string(&conf).unwrap(), new);
    assert_eq!(fs::read_to_string(&saved[0].backup).unwrap(), CONF);
    for name in &stale {
        assert_eq!(
            fs::read_to_string(dir.path().join(name)).unwrap(),
            "half of a killed save"
        );
    }
    let mut known: Vec<&str> = stale.iter().map(String::as_str).collect();
    known.extend(["nginx.conf", "nginx.conf.hopscope.bak"]);
    assert_eq!(extra_files(dir.path(), &known), Vec::<String>::new());
}

// ---------------------------------------------------------------------------
// Disk full
// ---------------------------------------------------------------------------

#[test]
fn a_full_disk_is_an_error_and_the_original_stays() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    // 256 KiB: the original (100 KiB) and its backup fit, the new file not.
    let m = match Mount::tmpfs(&mnt, "size=256k") {
        Ok(m) => m,
        Err(e) => return skip("the disk-full test", &e),
    };
    let conf = mnt.join("nginx.conf");
    let mut big = CONF.to_string();
    while big.len() < 100 * 1024 {
        big.push_str("# padding padding padding padding padding padding padding\n");
    }
    fs::write(&conf, &big).unwrap();
    let before = snapshot(&conf);
    let run = fix_write(&conf);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("No space left on device"),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(&conf), before);
    assert_eq!(extra_files(&mnt, &["nginx.conf"]), Vec::<String>::new());

    // Filled first: not even the backup fits.
    let filler = mnt.join("filler");
    let free = 256 * 1024 - 100 * 1024 - 60 * 1024;
    fs::write(&filler, vec![b'x'; free]).unwrap();
    let new = fixed(&big);
    let err = save_all(&[pending(&conf, big.as_bytes(), new.as_bytes())]).unwrap_err();
    assert!(err.to_string().contains("No space left"), "{err}");
    assert_eq!(snapshot(&conf), before);
    assert_eq!(
        extra_files(&mnt, &["nginx.conf", "filler"]),
        Vec::<String>::new()
    );

    // Room again (the backup and the new file both fit): the save goes through.
    fs::remove_file(&filler).unwrap();
    m.remount("size=1m").expect("grow the tmpfs");
    let run = fix_write(&conf);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(fs::read_to_string(&conf).unwrap(), fixed(&big));
}

// ---------------------------------------------------------------------------
// SIGKILL at random moments
// ---------------------------------------------------------------------------

/// A small deterministic generator (xorshift), so a failure is repeatable.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn temps(dir: &Path) -> Vec<String> {
    extra_files(dir, &[])
        .into_iter()
        .filter(|n| n.contains(".hopscope-"))
        .collect()
}

/// `hopscope fix --write` on a large file (so the save takes a while) is
/// killed with SIGKILL at random moments, most of them after the save has
/// started (a backup or temporary file appeared). After every kill the file
/// is exactly the old or exactly the new bytes, a backup is complete, and
/// the temporary files left behind are only `.hopscope-*` ones; the next
/// run still saves.
#[test]
fn sigkill_during_save_never_leaves_a_mix() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    let mut old = CONF.replace("}\n}\n", "}\n");
    let pad = format!("    # {}\n", "x".repeat(100));
    while old.len() < 6 << 20 {
        old.push_str(&pad);
    }
    old.push_str("}\n");
    let new = fixed(&old);
    assert_ne!(old, new);
    // A full run, to know how long one takes.
    fs::write(&conf, &old).unwrap();
    let t = Instant::now();
    let run = fix_write(&conf);
    let full = t.elapsed();
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(fs::read(&conf).unwrap(), new.as_bytes());

    let budget = Instant::now() + Duration::from_secs(25);
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let (mut rounds, mut in_save, mut got_new) = (0, 0, 0);
    while Instant::now() < budget && rounds < 40 {
        rounds += 1;
        for e in extra_files(dir.path(), &["nginx.conf"]) {
            fs::remove_file(dir.path().join(e)).unwrap();
        }
        fs::write(&conf, &old).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_hopscope"))
            .args([
                "fix",
                &conf.display().to_string(),
                "--write",
                "--rule",
                "sni-off",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        // One kill in four at any moment of the run; the others once the
        // save has begun, a random 0–40 ms later.
        let anywhere = rng.below(4) == 0;
        let delay = Duration::from_micros(if anywhere {
            rng.below(full.as_micros() as u64)
        } else {
            rng.below(40_000)
        });
        let mut save_seen: Option<Instant> = None;
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            let now = Instant::now();
            if save_seen.is_none()
                && !anywhere
                && !extra_files(dir.path(), &["nginx.conf"]).is_empty()
            {
                save_seen = Some(now);
            }
            let due = match (anywhere, save_seen) {
                (true, _) => now >= started + delay,
                (false, Some(s)) => now >= s + delay,
                (false, None) => false,
            };
            if due || now > started + RUN_TIMEOUT {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let _ = child.wait();
        if save_seen.is_some() {
            in_save += 1;
        }
        let now = fs::read(&conf).unwrap();
        assert!(
            now == old.as_bytes() || now == new.as_bytes(),
            "round {rounds}: the file is neither old nor new ({} bytes)",
            now.len()
        );
        if now == new.as_bytes() {
            got_new += 1;
        }
        for e in extra_files(dir.path(), &["nginx.conf"]) {
            let p = dir.path().join(&e);
            if e.starts_with("nginx.conf.hopscope.bak") {
                assert_eq!(
                    fs::read(&p).unwrap(),
                    old.as_bytes(),
                    "round {rounds}: {e} is complete"
                );
            } else {
                assert!(
                    e.starts_with(".nginx.conf.hopscope-"),
                    "round {rounds}: unexpected {e}"
                );
            }
        }
        // Stale temporary files never get in the way of the next save.
        if rounds % 8 == 0 {
            let leftover = temps(dir.path());
            let expected = fs::read(&conf).unwrap();
            let again = fix_write(&conf);
            if expected == old.as_bytes() {
                assert_eq!(again.code, Some(0), "{}", again.stderr);
                assert_eq!(fs::read(&conf).unwrap(), new.as_bytes());
            } else {
                assert_eq!(again.code, Some(1), "already fixed: {}", again.stderr);
            }
            for t in leftover {
                assert!(
                    dir.path().join(t).exists(),
                    "stale temps are not ours to delete"
                );
            }
        }
    }
    eprintln!(
        "{rounds} kills ({in_save} during the save), {got_new} left the new file; one full run took {full:?}"
    );
    assert!(in_save > 0, "no kill landed in the save");
}
