//! What a server, its other users or an inventory must never be able to
//! make hopscope do over SSH: write through a planted symlink when fixing
//! (`fix --apply`), run a command on this machine from an inventory
//! variable, reach the person's ssh agent, or leave the server's
//! configuration behind in a temporary file.
//!
//! The tests that need root, sshd, setpriv or tmux print `skipping`
//! locally when they cannot run and fail under CI (env `CI` set). Every
//! process they start is killed (by its id) when they end; every run is
//! bounded.

mod common;
mod sshd;
mod tui_tmux;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{nginx_or_skip, required};
use sshd::{hs, skip, sudo_available, which, Sshd, Tree};

/// The uid and gid the other user of the directory runs as (nobody).
const OTHER: u32 = 65534;

/// A process group started by a test, killed (by its id) and reaped on drop.
struct Group(Child);

impl Group {
    fn spawn(cmd: &mut Command) -> Group {
        Group(
            cmd.process_group(0)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn"),
        )
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let pgid = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &pgid])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.wait();
    }
}

/// A file only root may read or write, outside the directory attacked.
struct Victim {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

const VICTIM_TEXT: &[u8] = b"root only: never written by hopscope\n";

impl Victim {
    fn new() -> Victim {
        let dir = tempfile::Builder::new()
            .prefix("hopscope-victim-")
            .tempdir()
            .expect("temp dir");
        let path = dir.path().join("secret");
        fs::write(&path, VICTIM_TEXT).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        Victim { _dir: dir, path }
    }

    fn assert_intact(&self, what: &str) {
        let meta = fs::symlink_metadata(&self.path).unwrap();
        assert!(meta.file_type().is_file(), "{what}: the victim is a file");
        assert_eq!(
            String::from_utf8_lossy(&fs::read(&self.path).unwrap()),
            String::from_utf8_lossy(VICTIM_TEXT),
            "{what}: the root-only file was overwritten through a planted symlink"
        );
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o7777),
            (0, 0, 0o600),
            "{what}: the root-only file was given away through a planted symlink"
        );
    }
}

/// A symlink made by the other user (owned by them).
fn plant(link: &Path, to: &Path) {
    let _ = fs::remove_file(link);
    std::os::unix::fs::symlink(to, link).unwrap();
    std::os::unix::fs::lchown(link, Some(OTHER), Some(OTHER)).unwrap();
}

fn pid_max() -> u32 {
    fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(32768)
}

fn last_pid() -> u32 {
    fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(300)
}

/// `conf.d` of a fresh tree made writable by the other user (who also
/// owns `api.conf`, mode 0640), with symlinks to the victim planted at
/// every name a fix could have used as predictable: the temporary file
/// `.api.conf.hopscope-new-PID` for the next 30000 process ids (every
/// one when pid_max is small) and the first backup names.
fn attacked_tree(label: &str, victim: &Victim) -> Tree {
    let tree = Tree::new(label);
    fs::set_permissions(tree.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let confd = tree.path().join("conf.d");
    std::os::unix::fs::chown(&confd, Some(OTHER), Some(OTHER)).unwrap();
    fs::set_permissions(&confd, fs::Permissions::from_mode(0o755)).unwrap();
    let api = confd.join("api.conf");
    std::os::unix::fs::chown(&api, Some(OTHER), Some(OTHER)).unwrap();
    fs::set_permissions(&api, fs::Permissions::from_mode(0o640)).unwrap();
    let max = pid_max();
    let from = last_pid();
    for i in 0..max.min(30000) {
        let pid = (from + i) % max;
        plant(
            &confd.join(format!(".api.conf.hopscope-new-{pid}")),
            &victim.path,
        );
    }
    plant(&confd.join("api.conf.hopscope.bak"), &victim.path);
    for k in 1..=3 {
        plant(
            &confd.join(format!("api.conf.hopscope.bak.{k}")),
            &victim.path,
        );
    }
    tree
}

/// The other user at work in `dir` while a fix runs: it plants symlinks
/// to the victim at the predictable names again and again, and with
/// `swap_dirs` also moves every hopscope directory it sees away and puts
/// a symlink to the victim's directory in its place.
fn attacker(dir: &Path, victim: &Victim, swap_dirs: bool) -> Option<Group> {
    let setpriv = which("setpriv", &["/usr/bin/setpriv"])
        .or_else(|| skip("setpriv is not installed (Debian package util-linux)"))?;
    let v = victim.path.display().to_string();
    let vdir = victim.path.parent().unwrap().display().to_string();
    let swap = if swap_dirs {
        r#"for s in .hopscope-????????; do
    [ -d "$s" ] && [ ! -L "$s" ] && mv "$s" "$s.moved" 2>/dev/null && ln -s "$VDIR" "$s" 2>/dev/null
  done"#
    } else {
        ":"
    };
    let script = format!(
        r#"V='{v}'; VDIR='{vdir}'
while :; do
  l=$(cat /proc/sys/kernel/ns_last_pid)
  for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    ln -s "$V" ".api.conf.hopscope-new-$((l + i))" 2>/dev/null
  done
  for b in api.conf.hopscope.bak api.conf.hopscope.bak.1 api.conf.hopscope.bak.2 api.conf.hopscope.bak.3; do
    [ -L "$b" ] || ln -s "$V" "$b" 2>/dev/null
  done
  {swap}
done"#
    );
    let mut cmd = Command::new(setpriv);
    cmd.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "timeout",
        "120",
        "sh",
        "-c",
        &script,
    ])
    .current_dir(dir);
    Some(Group::spawn(&mut cmd))
}

/// The `.hopscope-` directories left in `dir` (none may be).
fn stage_dirs(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".hopscope-") && !n.ends_with(".moved"))
        .filter(|n| !fs::symlink_metadata(dir.join(n)).unwrap().is_symlink())
        .collect()
}

/// `fix --ssh … --apply` into a directory another user writes to, while
/// that user plants symlinks to a root-only file at every name a fix
/// could predict: the file is fixed and the root-only file is untouched.
fn apply_among_planted_symlinks(sudo: bool) {
    let Some(sshd) = Sshd::start(1) else { return };
    if nginx_or_skip().is_none() {
        return;
    }
    let mode = if sudo { "with --sudo" } else { "as root" };
    let victim = Victim::new();
    let tree = attacked_tree("sec-apply", &victim);
    let confd = tree.path().join("conf.d");
    let api = confd.join("api.conf");
    let original = fs::read(&api).unwrap();
    let conf = tree.conf();
    let sets = tree.remote_sets("sni-name=backend.test");
    let mut args = vec![
        "fix",
        "--nginx-conf",
        &conf,
        "--rule",
        "sni-off",
        "--set",
        &sets[0],
        "--set",
        &sets[1],
        "--apply",
    ];
    if sudo {
        args.push("--sudo");
    }
    let Some(loop_) = attacker(&confd, &victim, false) else {
        return;
    };
    std::thread::sleep(Duration::from_millis(200));
    let run = hs(&sshd.args("web1", &args));
    drop(loop_);
    victim.assert_intact(mode);
    assert_eq!(run.code, Some(0), "{mode}: {}\n{}", run.stderr, sshd.log());
    let meta = fs::symlink_metadata(&api).unwrap();
    assert!(meta.file_type().is_file(), "{mode}: api.conf is a file");
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (OTHER, OTHER, 0o640),
        "{mode}: api.conf keeps its owner and mode"
    );
    let text = fs::read_to_string(&api).unwrap();
    assert!(text.contains("proxy_ssl_server_name on;"), "{mode}: {text}");
    // The backup: the first free name, a file holding what was there.
    let shown = format!("wrote {} (backup: ", api.display());
    let backup = run
        .stderr
        .split(&shown)
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("{mode}: no backup reported: {}", run.stderr));
    let bmeta = fs::symlink_metadata(backup).unwrap();
    assert!(bmeta.file_type().is_file(), "{mode}: {backup} is a file");
    assert_eq!(fs::read(backup).unwrap(), original, "{mode}: {backup}");
    assert!(
        stage_dirs(&confd).is_empty(),
        "{mode}: no private directory is left: {:?}",
        stage_dirs(&confd)
    );
}

#[test]
fn apply_never_writes_through_symlinks_planted_by_another_user() {
    apply_among_planted_symlinks(false);
}

#[test]
fn apply_with_sudo_never_writes_through_symlinks_planted_by_another_user() {
    if !is_root_or_skip() || !sudo_available() {
        return;
    }
    apply_among_planted_symlinks(true);
}

fn is_root_or_skip() -> bool {
    common::is_root() || skip::<()>("these tests run as root").is_some()
}

/// The other user also moves the private directory a fix makes next to
/// the file and puts a symlink to the victim's directory in its place,
/// as fast as it can: whatever the timing, the root-only file is never
/// touched, and the fix is either done or refused with a message.
#[test]
fn apply_survives_its_private_directory_being_swapped() {
    let Some(sshd) = Sshd::start(1) else { return };
    if nginx_or_skip().is_none() {
        return;
    }
    let started = Instant::now();
    for round in 0..2 {
        let victim = Victim::new();
        let tree = attacked_tree("sec-swap", &victim);
        let confd = tree.path().join("conf.d");
        let api = confd.join("api.conf");
        let original = fs::read(&api).unwrap();
        let conf = tree.conf();
        let sets = tree.remote_sets("sni-name=backend.test");
        let Some(loop_) = attacker(&confd, &victim, true) else {
            return;
        };
        std::thread::sleep(Duration::from_millis(100));
        let run = hs(&sshd.args(
            "web1",
            &[
                "fix",
                "--nginx-conf",
                &conf,
                "--rule",
                "sni-off",
                "--set",
                &sets[0],
                "--set",
                &sets[1],
                "--apply",
            ],
        ));
        drop(loop_);
        let what = format!("round {round}");
        eprintln!("{what}: exit {:?}: {}", run.code, run.stderr.trim());
        victim.assert_intact(&what);
        let meta = fs::symlink_metadata(&api).unwrap();
        assert!(meta.file_type().is_file(), "{what}: api.conf is a file");
        assert_eq!((meta.uid(), meta.mode() & 0o7777), (OTHER, 0o640), "{what}");
        match run.code {
            Some(0) => assert!(
                fs::read_to_string(&api)
                    .unwrap()
                    .contains("proxy_ssl_server_name on;"),
                "{what}"
            ),
            Some(2) => {
                assert!(
                    run.stderr.contains("nothing was changed"),
                    "{what}: {}",
                    run.stderr
                );
                assert_eq!(fs::read(&api).unwrap(), original, "{what}");
            }
            other => panic!("{what}: exit {other:?}: {}", run.stderr),
        }
    }
    eprintln!("two rounds: {:?}", started.elapsed());
}

/// An inventory's `ansible_host` (or `ansible_user`, or a host name) is
/// refused, with the file and line, unless it is a host name, IP address or
/// user name: the person's ssh configuration may hand it to a shell on
/// this machine (`ProxyCommand … %h`), where `$(…)` would run.
#[test]
fn inventory_values_never_reach_a_local_shell_through_proxycommand() {
    if which("ssh", &["/usr/bin/ssh"]).is_none() {
        skip::<()>("the ssh client is not installed (Debian package openssh-client)");
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("hopscope-inventory-")
        .tempdir()
        .expect("temp dir");
    let d = dir.path();
    let pwned = d.join("pwned");
    let config = d.join("ssh_config");
    // What many operators have: a jump through a command given the host.
    fs::write(
        &config,
        "Host *\n  ProxyCommand true %r %h %p\n  StrictHostKeyChecking no\n  \
         UserKnownHostsFile /dev/null\n  LogLevel ERROR\n",
    )
    .unwrap();
    // Relative, in the directory hopscope runs in: ssh lowers the case of
    // a host name, and the temporary directory's name has capitals.
    let touch = "$(touch pwned)".to_string();
    let cases = [
        (
            format!("web1 ansible_host='{touch}'\n"),
            1,
            "is not a host name",
        ),
        (
            format!("[web]\nweb1\n\n[web:vars]\nansible_ssh_host=\"{touch}\"\n"),
            5,
            "is not a host name",
        ),
        (
            format!("# fleet\nweb1 ansible_host=127.0.0.1 ansible_user='{touch}'\n"),
            2,
            "is not a user name",
        ),
        (
            format!("web1\n{}\n", touch.replace(' ', "${IFS}")),
            2,
            "is not a host name",
        ),
    ];
    for (i, (text, line, why)) in cases.iter().enumerate() {
        let inventory = d.join(format!("inventory{i}.ini"));
        fs::write(&inventory, text).unwrap();
        let inv = inventory.display().to_string();
        let cfg = config.display().to_string();
        let run = common::run_bounded(
            Command::new(tui_tmux::hopscope())
                .args([
                    "check",
                    "--ssh-hosts",
                    &inv,
                    "--ssh-config",
                    &cfg,
                    "--ssh-timeout",
                    "5",
                ])
                .current_dir(d),
            None,
            sshd::RUN,
        );
        assert!(
            !pwned.exists(),
            "case {i}: the inventory ran a command on this machine:\n{text}"
        );
        assert_eq!(run.code, Some(2), "case {i}: {}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("hopscope: error: {inv}: line {line}: ")),
            "case {i}: the file and line: {}",
            run.stderr
        );
        assert!(run.stderr.contains(why), "case {i}: {}", run.stderr);
    }
}

/// The person's ssh agent never reaches the audited server, even when
/// their ssh configuration forwards it to every host.
#[test]
fn the_agent_is_never_forwarded_to_the_server() {
    let Some(sshd) = Sshd::start(1) else { return };
    if nginx_or_skip().is_none() {
        return;
    }
    let Some(agent_bin) = which("ssh-agent", &["/usr/bin/ssh-agent"])
        .or_else(|| skip("ssh-agent is not installed (Debian package openssh-client)"))
    else {
        return;
    };
    let tree = Tree::new("sec-agent");
    let dir = tempfile::Builder::new()
        .prefix("hopscope-agent-")
        .tempdir()
        .expect("temp dir");
    let d = dir.path();
    let sock = d.join("agent.sock");
    let _agent = Group::spawn(Command::new(agent_bin).arg("-D").arg("-a").arg(&sock));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "ssh-agent did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The person's configuration forwards their agent everywhere (the
    // harness's says `IdentityAgent none`: the first value wins).
    let config = d.join("ssh_config");
    let theirs = fs::read_to_string(&sshd.config).unwrap();
    fs::write(
        &config,
        format!(
            "ForwardAgent yes\nIdentityAgent {}\n{theirs}",
            sock.display()
        ),
    )
    .unwrap();
    // The "nginx" on the server notes the session's environment.
    let seen = d.join("env");
    let nginx = d.join("nginx");
    fs::write(
        &nginx,
        format!("#!/bin/sh\nenv > '{}'\nexec nginx \"$@\"\n", seen.display()),
    )
    .unwrap();
    fs::set_permissions(&nginx, fs::Permissions::from_mode(0o755)).unwrap();
    let conf = tree.conf();
    let run = common::run_bounded(
        Command::new(tui_tmux::hopscope())
            .args(["hops", "--ssh", "web1", "--ssh-config"])
            .arg(&config)
            .arg("--nginx")
            .arg(&nginx)
            .args(["--nginx-conf", &conf])
            .env("SSH_AUTH_SOCK", &sock),
        None,
        sshd::RUN,
    );
    assert_eq!(run.code, Some(0), "{}\n{}", run.stderr, sshd.log());
    let env = fs::read_to_string(&seen).expect("the server ran nginx");
    assert!(env.contains("SSH_CONNECTION="), "a session over ssh: {env}");
    assert!(
        !env.contains("SSH_AUTH_SOCK="),
        "the agent was forwarded to the server: {env}"
    );
}

/// The terminal UI over SSH hung up (its tmux session killed, as when the
/// person's own SSH connection drops): the server's configuration is not
/// left behind in a temporary file (`hopscope-ssh-*.nginx-T`), nor ever
/// written to one.
#[test]
fn the_server_configuration_is_not_left_in_a_temporary_file() {
    if !tui_tmux::tmux_or_skip() {
        return;
    }
    let Some(sshd) = Sshd::start(1) else { return };
    let tree = Tree::new("sec-tui");
    let tmp = tempfile::Builder::new()
        .prefix("hopscope-tmpdir-")
        .tempdir()
        .expect("temp dir");
    let pidfile = tree.path().join("ui.pid");
    let conf = tree.conf();
    let mut cmd = format!(
        "echo $$ > {}; TMPDIR={} exec {}",
        tui_tmux::sh_quote(&pidfile.display().to_string()),
        tui_tmux::sh_quote(&tmp.path().display().to_string()),
        tui_tmux::sh_quote(tui_tmux::hopscope())
    );
    for a in sshd.args("web1", &["--nginx-conf", &conf]) {
        cmd.push(' ');
        cmd.push_str(&tui_tmux::sh_quote(&a));
    }
    let left = || -> Vec<String> {
        fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    let t = tui_tmux::Tmux::start(160, 40, &cmd);
    let screen = t.wait_text("Hops (2)");
    assert!(screen.contains("ssh web1 (nginx -T)"), "{screen}");
    let pid: u32 = fs::read_to_string(&pidfile)
        .expect("the pid of the UI")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(left(), Vec::<String>::new(), "while the UI runs");
    // Hang up: tmux sends SIGHUP to the program of a pane it kills.
    let out = t.run(&["kill-session"]);
    assert!(out.status.success(), "tmux kill-session");
    let deadline = Instant::now() + Duration::from_secs(10);
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let running = || {
        fs::read_to_string(proc_dir.join("stat")).is_ok_and(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    };
    while running() {
        assert!(Instant::now() < deadline, "the UI did not end on SIGHUP");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(left(), Vec::<String>::new(), "after a hang-up");
}

/// What a server says (nginx's messages, over ssh) reaches the person's
/// terminal with its control characters escaped: an `ESC ] 52` there
/// would write their clipboard, an `ESC [ 2 J` hide what came before.
#[test]
fn what_the_server_says_is_shown_escaped() {
    let Some(sshd) = Sshd::start(1) else { return };
    if nginx_or_skip().is_none() {
        return;
    }
    let tree = Tree::new("sec-escape");
    let conf = tree.conf();
    let sets = tree.remote_sets("sni-name=backend.test");
    let evil = r"nginx: [emerg] unknown directive \033]52;c;cHduZWQ=\007\033[2J in /x.conf:1";
    // `nginx -T` works (or not, with `broken`); `nginx -t` says `evil`.
    let script = |broken: bool| {
        let path = tree
            .path()
            .join(if broken { "nginx-broken" } else { "nginx-evil" });
        let t = if broken { "*" } else { "*-t*" };
        fs::write(
            &path,
            format!(
                "#!/bin/sh\ncase \"$*\" in {t}) printf '{evil}\\n'; exit 1;; esac\nexec nginx \"$@\"\n"
            ),
        )
        .unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path.display().to_string()
    };
    let (broken, evil_t) = (script(true), script(false));
    let load = hs(&sshd.args(
        "web1",
        &["check", "--nginx", &broken, "--nginx-conf", &conf],
    ));
    let apply = hs(&sshd.args(
        "web1",
        &[
            "fix",
            "--nginx",
            &evil_t,
            "--nginx-conf",
            &conf,
            "--rule",
            "sni-off",
            "--set",
            &sets[0],
            "--set",
            &sets[1],
            "--apply",
        ],
    ));
    for (what, run) in [("load", &load), ("apply", &apply)] {
        assert_eq!(run.code, Some(2), "{what}: {}", run.stderr);
        assert!(
            run.stderr.contains("unknown directive"),
            "{what}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains('\u{1b}') && !run.stderr.contains('\u{7}'),
            "{what}: a control character reached the terminal: {:?}",
            run.stderr
        );
        assert!(
            run.stderr.contains(r"\x1b]52;c;cHduZWQ="),
            "{what}: {}",
            run.stderr
        );
    }
    assert!(apply.stderr.contains("rolled back"), "{}", apply.stderr);
}
