//! Auditing and fixing a server over SSH, with the system `ssh` client.
//!
//! hopscope never speaks SSH itself: it runs `ssh` (so `~/.ssh/config`,
//! agents, jump hosts and known hosts work as they do for the person), in
//! batch mode (no prompt can hang a run), with a timeout.
//!
//! - [`fetch_dump`] runs `[sudo -n] nginx [-c PATH] -T 2>&1` on the server
//!   and returns the dump, which the ordinary `nginx -T` loader reads (files
//!   are named by their absolute paths on the server).
//! - [`apply`] writes fixed files on the server with ONE POSIX `sh -s`
//!   script fed on standard input: for every file it checks that the file
//!   still holds exactly what was loaded (sha256), keeps the original as
//!   its backup (a hard link `FILE.hopscope.bak`, or the next free
//!   `.bak.N`), writes the new file with the original's mode and owner in
//!   a private directory it makes next to it (`mktemp -d`) and renames it
//!   over the original; then it runs `nginx -t`, and when that fails puts
//!   every original back (removing the backups it made). Nothing is ever
//!   written, chmod-ed or chown-ed through a name another user of that
//!   directory could have planted or swapped (a symlink at a predictable
//!   name would otherwise make root write or give away any file). It
//!   reloads nginx only when asked. File names, contents and the nginx
//!   command travel base64-encoded, so nothing in them is ever parsed by a
//!   shell.
//! - [`Inventory`] reads a fleet: one host per line, or an Ansible-style
//!   INI inventory ([`crate::parallel::map_bounded`] audits its hosts a
//!   bounded number at a time).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;

/// Default bound of one ssh run (connect, run, answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Most bytes read from a remote command (the size of the largest dump).
pub const MAX_OUTPUT: u64 = crate::conf::loader::MAX_FILE_BYTES;

/// The ssh options of every ssh run, before any other: no prompt, and
/// nothing of this machine (agent, X display) is handed to the server.
pub const ALWAYS: &[&str] = &["BatchMode=yes", "ForwardAgent=no", "ForwardX11=no"];

/// One server to reach over SSH, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    /// How the server is named in messages and reports: the `--ssh` value
    /// or the inventory name.
    pub host: String,
    /// What is given to `ssh` as the destination (`[user@]host`).
    pub destination: String,
    /// Run nginx (and the apply script) under `sudo -n`.
    pub sudo: bool,
    /// `ssh -F FILE`.
    pub ssh_config: Option<PathBuf>,
    /// `ssh -o OPT` each, in order (ssh keeps the first value of an option).
    pub ssh_options: Vec<String>,
    /// The nginx binary on the server.
    pub nginx: String,
    /// `nginx -c PATH` on the server (default: nginx's own).
    pub nginx_conf: Option<String>,
    /// Bound of one ssh run.
    pub timeout: Duration,
}

impl Remote {
    /// A server reached as `destination` (`[user@]host`), with defaults.
    pub fn new(destination: &str) -> Remote {
        Remote {
            host: destination.to_string(),
            destination: destination.to_string(),
            sudo: false,
            ssh_config: None,
            ssh_options: Vec::new(),
            nginx: "nginx".to_string(),
            nginx_conf: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Refuses destinations that are not `[user@]host` ([`check_destination`]).
    pub fn validate(&self) -> Result<(), String> {
        check_destination(&self.destination)?;
        if self.nginx.is_empty() {
            return Err("--nginx must name the nginx binary on the server".into());
        }
        for o in &self.ssh_options {
            if o.contains('\n') {
                return Err(format!("ssh option {o:?} holds a line break"));
            }
        }
        Ok(())
    }

    /// `nginx [-c PATH] ARGS`, each word quoted for a POSIX shell.
    fn nginx_words(&self, args: &[&str]) -> String {
        let mut words = vec![shell_quote(&self.nginx)];
        if let Some(c) = &self.nginx_conf {
            words.push("-c".into());
            words.push(shell_quote(c));
        }
        words.extend(args.iter().map(|a| shell_quote(a)));
        words.join(" ")
    }

    /// The remote command line of [`fetch_dump`].
    pub fn dump_command(&self) -> String {
        let sudo = if self.sudo { "sudo -n " } else { "" };
        format!("{sudo}{} 2>&1", self.nginx_words(&["-T"]))
    }

    /// The local `ssh` invocation that runs `remote_command` on the server.
    pub fn ssh_command(&self, remote_command: &str) -> Command {
        let mut cmd = Command::new("ssh");
        // First value wins in ssh: batch mode and no agent or X11
        // forwarding cannot be turned off (by an ssh config with
        // `ForwardAgent yes`: the audited server would get the agent), the
        // person's options come before hopscope's defaults.
        cmd.args(ALWAYS.iter().flat_map(|o| ["-o", o]));
        if let Some(f) = &self.ssh_config {
            cmd.arg("-F").arg(f);
        }
        for o in &self.ssh_options {
            cmd.arg("-o").arg(o);
        }
        let secs = self.timeout.as_secs().clamp(1, 10);
        cmd.arg("-o").arg(format!("ConnectTimeout={secs}"));
        cmd.args(["-o", "ClearAllForwardings=yes", "-T", "--"]);
        cmd.arg(&self.destination).arg(remote_command);
        cmd
    }

    fn error(&self, kind: ErrorKind, message: impl Into<String>) -> RemoteError {
        RemoteError {
            host: self.host.clone(),
            kind,
            message: message.into(),
        }
    }
}

/// What went wrong with a remote operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// ssh could not run the command: connection, host key, authentication.
    Ssh,
    /// No answer within the timeout.
    Timeout,
    /// The remote command failed (nginx, sudo, a missing tool).
    Command,
    /// nginx rejected the configuration (`nginx -T` on load).
    Rejected,
    /// A file on the server is not what was loaded: nothing was changed.
    Changed,
    /// A file could not be written: nothing was changed.
    Write,
    /// `nginx -t` rejected the fixed configuration: every file was put back.
    RolledBack,
    /// Putting the files back failed: the server needs a person.
    RollbackFailed,
}

/// A failed remote operation; shows as `ssh HOST: MESSAGE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteError {
    pub host: String,
    pub kind: ErrorKind,
    pub message: String,
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ssh {}: {}", self.host, self.message)
    }
}

impl std::error::Error for RemoteError {}

/// Refuses what is not a host name or an IP address. ssh takes a leading
/// `-` for an option, and a person's ssh configuration may hand the host
/// to a shell (`ProxyCommand … %h`): only the characters of host names
/// (letters, digits, `-`, `.`, `_`) and IP literals pass.
pub fn check_host(host: &str) -> Result<(), String> {
    let ip = |h: &str| h.parse::<std::net::IpAddr>().is_ok();
    // An IPv6 address with its zone: fe80::1%eth0.
    let scoped = |h: &str| {
        h.split_once('%').is_some_and(|(a, zone)| {
            a.parse::<std::net::Ipv6Addr>().is_ok()
                && !zone.is_empty()
                && zone
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        })
    };
    let name = !host.is_empty()
        && host.len() <= 253
        && !host.starts_with(['-', '.'])
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
    if name || ip(host) || scoped(host) {
        Ok(())
    } else {
        Err(format!(
            "\"{}\" is not a host name or an IP address",
            crate::visible::visible(host)
        ))
    }
}

/// Refuses what is not a user name (letters, digits, `-`, `.`, `_`, and
/// `@` for domain accounts; not starting with `-`): ssh's configuration
/// may hand the user to a shell too (`%r`).
pub fn check_user(user: &str) -> Result<(), String> {
    let ok = !user.is_empty()
        && user.len() <= 256
        && !user.starts_with('-')
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{}\" is not a user name",
            crate::visible::visible(user)
        ))
    }
}

/// Refuses what is not an ssh destination: `[user@]host`, or
/// `ssh://[user@]host[:port]`, checked by [`check_user`] and
/// [`check_host`]. The one check for `--ssh`, inventory hosts and their
/// `ansible_host` and `ansible_user`.
pub fn check_destination(destination: &str) -> Result<(), String> {
    let uri = destination.strip_prefix("ssh://");
    let rest = uri.unwrap_or(destination);
    let (user, host) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    let host = match uri {
        None => Some(host),
        // ssh://host:port and ssh://[v6]:port
        Some(_) => {
            let (h, port) = match host.strip_prefix('[') {
                Some(v6) => v6.split_once(']').map_or((None, ""), |(h, p)| (Some(h), p)),
                None => match host.rfind(':') {
                    Some(i) => (Some(&host[..i]), &host[i..]),
                    None => (Some(host), ""),
                },
            };
            let port_ok = port.is_empty()
                || port
                    .strip_prefix(':')
                    .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            h.filter(|_| port_ok)
        }
    };
    let why = match host {
        None => Err("not [user@]host".to_string()),
        Some(h) => user.map_or(Ok(()), check_user).and_then(|()| check_host(h)),
    };
    why.map_err(|e| {
        format!(
            "\"{}\" is not an ssh destination ([user@]host): {e}",
            crate::visible::visible(destination)
        )
    })
}

/// Quotes a word for a POSIX shell (left bare when nothing in it is special).
fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./:=@,+%".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .unwrap_or_default()
}

fn sha256_hex(bytes: &[u8]) -> String {
    openssl::sha::sha256(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---------------------------------------------------------------------------
// Running ssh, bounded
// ---------------------------------------------------------------------------

/// What one ssh run produced.
struct Ran {
    /// The exit code (255: ssh itself failed).
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// A pipe read on a thread into a shared buffer, at most `cap` bytes (the
/// rest is drained). A background ssh (ControlPersist) may keep a pipe open
/// after the command is done: the buffer is taken all the same.
fn reader(
    mut pipe: impl Read + Send + 'static,
    cap: u64,
) -> (Arc<Mutex<Vec<u8>>>, Arc<AtomicBool>) {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(AtomicBool::new(false));
    let (b, d) = (Arc::clone(&buf), Arc::clone(&done));
    std::thread::spawn(move || {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    let mut v = b.lock().unwrap_or_else(|e| e.into_inner());
                    let room = (cap as usize + 1).saturating_sub(v.len());
                    v.extend_from_slice(&chunk[..n.min(room)]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        d.store(true, Ordering::Release);
    });
    (buf, done)
}

fn take(buf: &Arc<Mutex<Vec<u8>>>, done: &AtomicBool, until: Instant) -> Vec<u8> {
    while !done.load(Ordering::Acquire) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::mem::take(&mut *buf.lock().unwrap_or_else(|e| e.into_inner()))
}

fn run_ssh(
    remote: &Remote,
    remote_command: &str,
    stdin: Option<Vec<u8>>,
) -> Result<Ran, RemoteError> {
    remote
        .validate()
        .map_err(|m| remote.error(ErrorKind::Ssh, m))?;
    let mut cmd = remote.ssh_command(remote_command);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            " (install the OpenSSH client: `ssh` must be on PATH)"
        } else {
            ""
        };
        remote.error(ErrorKind::Ssh, format!("cannot run ssh: {e}{hint}"))
    })?;
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        std::thread::spawn(move || {
            // ssh gone (refused, failed) closes the pipe: its exit says why.
            let _ = pipe.write_all(&data);
        });
    }
    let (out, out_done) = reader(child.stdout.take().expect("piped stdout"), MAX_OUTPUT);
    let (err, err_done) = reader(child.stderr.take().expect("piped stderr"), 1 << 20);
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) => {}
            Err(e) => return Err(remote.error(ErrorKind::Ssh, format!("waiting for ssh: {e}"))),
        }
        if started.elapsed() > remote.timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(remote.error(
                ErrorKind::Timeout,
                format!(
                    "no answer within {} s (raise it with --ssh-timeout)",
                    remote.timeout.as_secs_f64()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let grace = Instant::now() + Duration::from_secs(2);
    let stdout = take(&out, &out_done, grace);
    let stderr = take(&err, &err_done, grace);
    if stdout.len() as u64 > MAX_OUTPUT {
        return Err(remote.error(
            ErrorKind::Command,
            format!("the answer is over {} MiB", MAX_OUTPUT >> 20),
        ));
    }
    Ok(Ran {
        code: status.code(),
        stdout,
        stderr,
    })
}

/// ssh's own message, without its `ssh: ` or `user@host: ` prefix.
fn ssh_message(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Warning: Permanently added"))
        .map(|l| {
            let l = l.strip_prefix("ssh: ").unwrap_or(l);
            let l = match l.split_once(": ") {
                Some((who, rest)) if who.contains('@') && !who.contains(' ') => rest,
                _ => l,
            };
            l.trim_end_matches('.').to_string()
        })
        .collect();
    if lines.is_empty() {
        "ssh failed without a message".into()
    } else {
        lines.join("; ")
    }
}

fn ssh_failed(remote: &Remote, ran: &Ran) -> Option<RemoteError> {
    match ran.code {
        Some(255) | None => Some(remote.error(ErrorKind::Ssh, ssh_message(&ran.stderr))),
        _ => None,
    }
}

/// Hints for the usual remote failures.
fn hint(remote: &Remote, output: &str) -> &'static str {
    if output.contains("a password is required") || output.contains("a terminal is required") {
        " (--sudo needs passwordless sudo on the server: a NOPASSWD rule)"
    } else if output.contains("Permission denied") && !remote.sudo {
        " (nginx may need root to read its files: try --sudo)"
    } else if output.contains("[emerg]") {
        ""
    } else if output.lines().any(|l| {
        l.contains(remote.nginx.as_str()) && (l.contains("not found") || l.contains("No such file"))
    }) {
        " (set --nginx to the path of nginx on the server, e.g. /usr/sbin/nginx)"
    } else {
        ""
    }
}

fn one_line(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let joined = lines.join(" / ");
    if joined.chars().count() > 600 {
        let cut: String = joined.chars().take(600).collect();
        format!("{cut}…")
    } else {
        joined
    }
}

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

/// nginx's messages at `levels`, each as `nginx: [level] message`: from
/// the console form (`nginx: [emerg] …`) or the error-log form nginx
/// prints when its log is standard error (`2024/01/02 03:04:05 [emerg]
/// 12#12: …`); and its `configuration file … test failed` line.
fn nginx_lines(text: &str, levels: &[&str]) -> Vec<String> {
    let mut lines = Vec::new();
    for l in text.lines().map(str::trim) {
        if let Some(lv) = levels.iter().find(|lv| l.contains(*lv)) {
            let msg = l.split_once(lv).map_or(l, |(_, m)| m).trim_start();
            // The log form: `PID#TID: ` before the message.
            let msg = match msg.split_once(": ") {
                Some((id, rest)) if id.bytes().all(|b| b.is_ascii_digit() || b == b'#') => rest,
                _ => msg,
            };
            lines.push(format!("nginx: {lv} {msg}"));
        } else if l.starts_with("nginx: configuration file") && l.ends_with("failed") {
            lines.push(l.to_string());
        }
    }
    lines
}

const FATAL: &[&str] = &["[emerg]", "[alert]", "[crit]"];
const ERRORS: &[&str] = &["[emerg]", "[alert]", "[crit]", "[error]"];

/// nginx's own error lines, when it rejected the configuration.
fn nginx_errors(text: &str) -> Option<String> {
    let lines = nginx_lines(text, FATAL);
    lines
        .iter()
        .any(|l| !l.starts_with("nginx: configuration file"))
        .then(|| lines.join(" / "))
}

/// What nginx said, its error lines first-class (the raw output when it
/// printed none).
fn nginx_said(text: &str) -> String {
    let lines = nginx_lines(text, ERRORS);
    if lines.is_empty() {
        text.trim().to_string()
    } else {
        lines.join("\n")
    }
}

/// The dump from its first `# configuration file PATH:` line on: what
/// comes before (nginx's warnings in either form, a chatty login shell) is
/// not configuration.
fn from_first_marker(out: &[u8]) -> Option<&[u8]> {
    const MARKER: &[u8] = b"# configuration file ";
    let mut at = 0;
    while at < out.len() {
        let end = out[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(out.len(), |i| at + i);
        let line = &out[at..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(MARKER) && line.ends_with(b":") {
            let dump = &out[at..];
            return crate::conf::dump::is_dump(dump).then_some(dump);
        }
        at = end + 1;
    }
    None
}

/// Runs `nginx -T` on the server and returns its output, a dump the
/// `nginx -T` loader reads ([`crate::conf::from_bytes`]).
pub fn fetch_dump(remote: &Remote) -> Result<Vec<u8>, RemoteError> {
    let ran = run_ssh(remote, &remote.dump_command(), None)?;
    if let Some(e) = ssh_failed(remote, &ran) {
        return Err(e);
    }
    let mut out = ran.stdout;
    if ran.code == Some(0) {
        if let Some(dump) = from_first_marker(&out) {
            return Ok(dump.to_vec());
        }
    }
    out.extend_from_slice(&ran.stderr);
    let text = String::from_utf8_lossy(&out);
    if let Some(msg) = nginx_errors(&text) {
        return Err(remote.error(
            ErrorKind::Rejected,
            format!(
                "nginx rejects the configuration: {msg}{}",
                hint(remote, &text)
            ),
        ));
    }
    let what = remote.dump_command();
    match ran.code {
        Some(0) => Err(remote.error(
            ErrorKind::Command,
            format!(
                "`{what}` printed no configuration (nginx 1.9.2 or newer is needed for -T): {}",
                one_line(&text)
            ),
        )),
        code => Err(remote.error(
            ErrorKind::Command,
            format!(
                "`{what}` failed (exit {}): {}{}",
                code.map_or("?".to_string(), |c| c.to_string()),
                one_line(&text),
                hint(remote, &text)
            ),
        )),
    }
}

// ---------------------------------------------------------------------------
// Applying fixes
// ---------------------------------------------------------------------------

/// A file to write on the server: its path there (as nginx named it), what
/// it held when loaded, and its new bytes.
pub struct RemoteFile<'a> {
    pub path: &'a str,
    pub loaded: &'a [u8],
    pub new: &'a [u8],
}

/// A file written on the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// The file written (a symlink's target).
    pub path: String,
    pub backup: String,
}

/// What [`apply`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub written: Vec<Written>,
    /// What `nginx -t` said about the fixed configuration.
    pub test_output: String,
    /// With `reload`: Ok(output) when `nginx -s reload` worked, else Err.
    pub reload: Option<Result<String, String>>,
}

const MARK: &str = "@@hopscope";
const DATA_END: &str = "@@HOPSCOPE-DATA@@";

/// The script of [`apply`] (POSIX sh, read by `sh -s`). Everything from
/// the person or the files is base64 in it; no command but the heredocs
/// reads standard input (which is the script itself).
fn apply_script(remote: &Remote, files: &[RemoteFile<'_>], reload: bool) -> String {
    let n = files.len();
    let mut s = String::new();
    s.push_str(&format!(
        r#"# hopscope: write fixed nginx files, check with nginx -t, roll back on failure.
set -u
umask 077
trap '' HUP PIPE
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export PATH
LC_ALL=C
export LC_ALL
N={n}
say() {{ printf '{MARK} %s\n' "$*"; }}
if ! command -v base64 >/dev/null 2>&1; then say missing base64; exit 20; fi
enc() {{ printf '%s' "$1" | base64 | tr -d '\n'; }}
dec() {{ printf '%s' "$1" | base64 -d; }}
if command -v sha256sum >/dev/null 2>&1; then sha() {{ sha256sum < "$1" | cut -d ' ' -f 1; }}
elif command -v shasum >/dev/null 2>&1; then sha() {{ shasum -a 256 < "$1" | cut -d ' ' -f 1; }}
elif command -v openssl >/dev/null 2>&1; then sha() {{ openssl dgst -sha256 < "$1" | sed 's/^.*= *//'; }}
else say missing sha256sum; exit 20; fi
W=$(mktemp -d 2>/dev/null || mktemp -d -t hopscope) || {{ say error x "$(enc 'cannot make a temporary directory')"; exit 11; }}
get() {{ cat "$W/$1.$2" 2>/dev/null; }}
if stat -c %u / >/dev/null 2>&1; then
  meta() {{ stat -c '%u %g %a' "$1"; }}; node() {{ stat -c '%d:%i' "$1"; }}
elif stat -f %u / >/dev/null 2>&1; then
  meta() {{ stat -f '%u %g %Lp' "$1"; }}; node() {{ stat -f '%d:%i' "$1"; }}
else say missing stat; exit 20; fi
ME=$(id -u)
O=$(pwd)
# `mv -T` never moves into a directory planted at the target's name.
: > "$W/mv"
if mv -T "$W/mv" "$W/mvt" 2>/dev/null; then MVT=-T; else MVT=; fi
# Each file is staged in a private directory made next to it (mktemp -d:
# a fresh name, mode 0700, ours), entered once and then reached only
# through the working directory: nobody else can put a name in it or
# swap one, so no write, chmod or chown ever goes through a link someone
# planted. The target is only ever replaced by rename (which replaces a
# link planted at its name, never follows it), and the backup is made by
# link (which never follows or replaces a name that exists).
into() {{
  iS=$(get S "$1")
  [ -n "$iS" ] && cd "$iS" 2>/dev/null && [ "$(node . 2>/dev/null)" = "$(get I "$1")" ]
}}
cleanup() {{
  u=0
  while [ "$u" -lt "$N" ]; do
    if into "$u"; then rm -f new bak; cd /; rmdir "$iS" 2>/dev/null; fi
    u=$((u + 1))
  done
  cd /
  rm -rf "$W"
}}
trap cleanup EXIT
# put back every replaced file, drop every backup made
undo() {{
  u=0
  while [ "$u" -lt "$N" ]; do
    ut=$(get t "$u"); un=${{ut##*/}}; uB=$(get B "$u")
    if into "$u"; then
      if [ -e "$W/c.$u" ]; then
        if mv -f $MVT bak "../$un" 2>>"$W/undo"; then
          [ -n "$uB" ] && [ "../$uB" -ef "../$un" ] && rm -f "../$uB"
        else
          say rollback-failed "$u"
        fi
      elif [ -n "$uB" ] && [ "../$uB" -ef bak ]; then
        rm -f "../$uB"
      fi
    elif [ -e "$W/c.$u" ]; then
      printf 'the private directory next to %s is gone\n' "$ut" >> "$W/undo"
      say rollback-failed "$u"
    fi
    u=$((u + 1))
  done
  cd "$O" 2>/dev/null || cd /
}}
failx() {{ fcode=$1; fwhat=$2; fx=$3; undo; say "$fwhat" "$fx" "$(enc "$(cat "$W/err" 2>/dev/null)")"; exit "$fcode"; }}
why() {{ printf '%s' "$1" > "$W/err"; }}
check() {{
  p=$(dec "$2")
  t=$p
  if [ -L "$p" ]; then
    t=$(readlink -f "$p" 2>"$W/err") || failx 11 resolve "$1"
  fi
  {{ [ -f "$t" ] && [ ! -L "$t" ]; }} || {{ why 'not a regular file'; failx 11 resolve "$1"; }}
  [ -r "$t" ] || {{ why 'not readable'; failx 11 resolve "$1"; }}
  [ "$(sha "$t")" = "$3" ] || {{ : > "$W/err"; failx 10 changed "$1"; }}
  meta "$t" > "$W/o.$1" 2>"$W/err" || failx 11 resolve "$1"
  printf '%s' "$t" > "$W/t.$1"
}}
# in the private directory of file $1 named $2 there: it is still the file
# checked (holding $3): the same inode as its backup, or (a copied backup)
# a regular file with the owner, mode and content it had
same() {{
  if [ -e "$W/L.$1" ]; then
    [ "../$2" -ef bak ] && [ "$(sha bak)" = "$3" ]
  else
    [ -f "../$2" ] && [ ! -L "../$2" ] && [ "$(meta "../$2")" = "$(get o "$1")" ] && [ "$(sha "../$2")" = "$3" ]
  fi
}}
stage() {{
  t=$(get t "$1"); tn=${{t##*/}}
  d=${{t%/*}}; [ -n "$d" ] || d=/
  d=$(cd "$d" 2>"$W/err" && pwd -P) || failx 11 write "$1"
  S=$(mktemp -d "${{d%/}}/.hopscope-XXXXXXXX" 2>"$W/err") || failx 11 write "$1"
  printf '%s' "$S" > "$W/S.$1"
  cd "$S" 2>"$W/err" || failx 11 write "$1"
  case "$(pwd -P) $(meta . 2>/dev/null)" in
    "$S $ME "*" 700") node . > "$W/I.$1" ;;
    *) why "the directory $S was swapped while it was made"; failx 11 write "$1" ;;
  esac
  # the backup: the file itself, linked (same inode, mode and owner); or
  # where that is not allowed (another's file without root, a filesystem
  # without hard links) a copy with its mode (and owner, as root)
  if ln "../$tn" bak 2>/dev/null; then
    : > "$W/L.$1"
    {{ [ -f bak ] && [ ! -L bak ]; }} || {{ why 'not a regular file'; failx 11 backup "$1"; }}
    [ "$(meta bak)" = "$(get o "$1")" ] || {{ why 'its owner or mode changed'; failx 10 changed "$1"; }}
  else
    cp -p "../$tn" bak 2>"$W/err" || failx 11 backup "$1"
    {{ [ -f bak ] && [ ! -L bak ]; }} || {{ why 'not a regular file'; failx 11 backup "$1"; }}
    same "$1" "$tn" "$(get s "$1")" || {{ why 'its owner or mode changed'; failx 10 changed "$1"; }}
  fi
  [ "$(sha bak)" = "$(get s "$1")" ] || {{ : > "$W/err"; failx 10 changed "$1"; }}
  base64 -d > new 2>"$W/err" || failx 11 write "$1"
  set -- "$1" "$2" $(get o "$1")
  # owner first: a chown clears set-id bits a chmod sets
  chown "$3:$4" new 2>/dev/null || chgrp "$4" new 2>/dev/null
  chmod "$5" new 2>"$W/err" || failx 11 write "$1"
  m=$(meta new)
  if [ "$m" != "$3 $4 $5" ]; then
    # not root: the new file may be ours (as any editor leaves it), never another's
    if [ "$ME" = 0 ] || [ "${{m%% *}}" != "$ME" ] || [ "${{m##* }}" != "$5" ]; then
      why "cannot give the new file the owner $3:$4 and mode $5 of the old one (it has $m)"; failx 11 write "$1"
    fi
  fi
  {{ [ -f new ] && [ ! -L new ] && [ "$(sha new)" = "$2" ]; }} || {{ why 'the written file is not what was sent'; failx 11 write "$1"; }}
  sfx=.hopscope.bak; k=0
  while ! ln -n bak "../$tn$sfx" 2>"$W/err"; do
    {{ [ -e "../$tn$sfx" ] || [ -L "../$tn$sfx" ]; }} || failx 11 backup "$1"
    k=$((k + 1)); sfx=.hopscope.bak.$k
    [ "$k" -lt 100000 ] || {{ why 'no free backup name'; failx 11 backup "$1"; }}
  done
  printf '%s' "$tn$sfx" > "$W/B.$1"
  [ "../$tn$sfx" -ef bak ] || {{ why "$t$sfx is not the backup just made"; failx 11 backup "$1"; }}
  printf '%s' "$t$sfx" > "$W/b.$1"
  cd "$O" 2>/dev/null || cd /
}}
commit() {{
  into "$1" || {{ why 'the private directory next to it was moved'; failx 11 replace "$1"; }}
  tn=$(get t "$1"); tn=${{tn##*/}}
  same "$1" "$tn" "$2" || {{ : > "$W/err"; failx 10 changed "$1"; }}
  mv -f $MVT new "../$tn" 2>"$W/err" || failx 11 replace "$1"
  : > "$W/c.$1"
  cd "$O" 2>/dev/null || cd /
}}
"#
    ));
    let nginx = format!("NGINX=$(dec '{}')\n", b64(remote.nginx.as_bytes()));
    s.push_str(&nginx);
    let conf = match &remote.nginx_conf {
        Some(c) => {
            s.push_str(&format!("CONF=$(dec '{}')\n", b64(c.as_bytes())));
            r#"-c "$CONF" "#
        }
        None => "",
    };
    // The rollback check compares with the sha256 of what was loaded.
    for (i, f) in files.iter().enumerate() {
        s.push_str(&format!(
            "printf '%s' '{}' > \"$W/s.{i}\"\n",
            sha256_hex(f.loaded)
        ));
    }
    for (i, f) in files.iter().enumerate() {
        s.push_str(&format!(
            "check {i} '{}' '{}'\n",
            b64(f.path.as_bytes()),
            sha256_hex(f.loaded)
        ));
    }
    for (i, f) in files.iter().enumerate() {
        s.push_str(&format!(
            "stage {i} '{}' <<'{DATA_END}'\n",
            sha256_hex(f.new)
        ));
        let data = b64(f.new);
        for chunk in data.as_bytes().chunks(76) {
            s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            s.push('\n');
        }
        s.push_str(DATA_END);
        s.push('\n');
    }
    for (i, f) in files.iter().enumerate() {
        s.push_str(&format!("commit {i} '{}'\n", sha256_hex(f.loaded)));
    }
    s.push_str(&format!(
        r#"out=$("$NGINX" {conf}-t 2>&1 </dev/null); rc=$?
if [ "$rc" -ne 0 ]; then
  undo
  i=0; bad=0
  while [ "$i" -lt "$N" ]; do
    t=$(get t "$i")
    [ -e "$W/c.$i" ] && [ "$(sha "$t")" != "$(get s "$i")" ] && {{ say rollback-failed "$i"; bad=1; }}
    i=$((i + 1))
  done
  say rejected x "$(enc "$out")"
  [ "$bad" -eq 0 ] || {{ say undo x "$(enc "$(cat "$W/undo" 2>/dev/null)")"; exit 13; }}
  exit 12
fi
say tested x "$(enc "$out")"
i=0
while [ "$i" -lt "$N" ]; do
  say saved "$i" "$(enc "$(get t "$i")")" "$(enc "$(get b "$i")")"
  i=$((i + 1))
done
"#
    ));
    if reload {
        s.push_str(&format!(
            "rout=$(\"$NGINX\" {conf}-s reload 2>&1 </dev/null); rrc=$?\nsay reload \"$rrc\" \"$(enc \"$rout\")\"\n"
        ));
    }
    s.push_str("exit 0\n");
    s
}

/// One `@@hopscope WHAT INDEX [B64…]` line of the script's report.
struct Said {
    what: String,
    index: Option<usize>,
    args: Vec<String>,
}

fn said(stdout: &[u8]) -> Vec<Said> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| l.strip_prefix(MARK))
        .filter_map(|rest| {
            let mut words = rest.split_whitespace();
            let what = words.next()?.to_string();
            let index = words.next().and_then(|w| w.parse().ok());
            let args = words
                .map(|w| String::from_utf8_lossy(&unb64(w)).into_owned())
                .collect();
            Some(Said { what, index, args })
        })
        .collect()
}

/// Reads the report of [`apply_script`]: what was written, or why nothing was.
fn read_report(
    remote: &Remote,
    files: &[RemoteFile<'_>],
    code: Option<i32>,
    stdout: &[u8],
    stderr: &[u8],
) -> Result<Applied, RemoteError> {
    let lines = said(stdout);
    let name = |i: Option<usize>| {
        i.and_then(|i| files.get(i))
            .map_or("a file".to_string(), |f| f.path.to_string())
    };
    let arg = |s: &Said| {
        s.args
            .first()
            .map(|a| a.trim().to_string())
            .unwrap_or_default()
    };
    let with = |what: &str, detail: String| {
        if detail.is_empty() {
            what.to_string()
        } else {
            format!("{what}: {detail}")
        }
    };
    let find = |what: &str| lines.iter().find(|s| s.what == what);
    match code {
        Some(0) => {
            let written = lines
                .iter()
                .filter(|s| s.what == "saved")
                .map(|s| Written {
                    path: s.args.first().cloned().unwrap_or_default(),
                    backup: s.args.get(1).cloned().unwrap_or_default(),
                })
                .collect::<Vec<_>>();
            if written.len() != files.len() {
                return Err(remote.error(
                    ErrorKind::Command,
                    "the apply script ended without reporting every file: check the server"
                        .to_string(),
                ));
            }
            let test_output = find("tested").map(arg).unwrap_or_default();
            let reload = find("reload").map(|s| {
                let out = arg(s);
                if s.index == Some(0) {
                    Ok(out)
                } else {
                    let out = nginx_said(&out);
                    Err(if out.is_empty() {
                        format!(
                            "nginx -s reload failed (exit {})",
                            s.index.map_or(-1, |c| c as i64)
                        )
                    } else {
                        out
                    })
                }
            });
            Ok(Applied {
                written,
                test_output,
                reload,
            })
        }
        Some(10) => {
            let s = find("changed");
            Err(remote.error(
                ErrorKind::Changed,
                format!(
                    "{} changed since it was loaded; nothing was changed (load it again and re-apply the fix)",
                    name(s.and_then(|s| s.index))
                ),
            ))
        }
        Some(11) => {
            let s = lines.iter().find(|s| {
                ["resolve", "write", "backup", "replace", "error"].contains(&s.what.as_str())
            });
            let (what, i, detail) = s.map_or(("write", None, String::new()), |s| {
                (s.what.as_str(), s.index, arg(s))
            });
            let verb = match what {
                "resolve" => "cannot read",
                "backup" => "cannot back up",
                "replace" => "cannot replace",
                _ => "cannot write",
            };
            Err(remote.error(
                ErrorKind::Write,
                format!(
                    "{}; nothing was changed",
                    with(&format!("{verb} {}", name(i)), detail)
                ),
            ))
        }
        Some(12) => {
            let out = nginx_said(&find("rejected").map(arg).unwrap_or_default());
            Err(remote.error(
                ErrorKind::RolledBack,
                format!("nginx -t rejects the fixed configuration; rolled back: every file is as it was, nothing was changed\n{out}"),
            ))
        }
        Some(13) => {
            let mut bad: Vec<String> = Vec::new();
            for s in lines.iter().filter(|s| s.what == "rollback-failed") {
                let n = name(s.index);
                if !bad.contains(&n) {
                    bad.push(n);
                }
            }
            let out = nginx_said(&find("rejected").map(arg).unwrap_or_default());
            let undo = find("undo").map(arg).unwrap_or_default();
            Err(remote.error(
                ErrorKind::RollbackFailed,
                format!(
                    "nginx -t rejects the fixed configuration and putting back {} FAILED ({undo}): restore them from their .hopscope.bak backups\n{out}",
                    bad.join(", ")
                ),
            ))
        }
        Some(20) => {
            let tool = find("missing")
                .and_then(|s| s.args.first().cloned())
                .unwrap_or_default();
            let tool = if tool.is_empty() {
                String::from_utf8_lossy(stdout)
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix(&format!("{MARK} missing "))
                            .map(str::to_string)
                    })
                    .unwrap_or_default()
            } else {
                tool
            };
            Err(remote.error(
                ErrorKind::Command,
                format!("the server lacks {tool}, which --apply needs; nothing was changed"),
            ))
        }
        Some(255) | None => Err(remote.error(ErrorKind::Ssh, ssh_message(stderr))),
        Some(c) => {
            let mut text = String::from_utf8_lossy(stderr).into_owned();
            text.push_str(&String::from_utf8_lossy(stdout));
            Err(remote.error(
                ErrorKind::Command,
                format!(
                    "the apply script failed (exit {c}): {}{}; check the server",
                    one_line(&text),
                    hint(remote, &text)
                ),
            ))
        }
    }
}

/// Writes fixed files on the server (see the module documentation): all
/// or nothing, checked with `nginx -t`, rolled back when it fails, then
/// `nginx -s reload` if `reload`.
pub fn apply(
    remote: &Remote,
    files: &[RemoteFile<'_>],
    reload: bool,
) -> Result<Applied, RemoteError> {
    if let Some(f) = files.iter().find(|f| !f.path.starts_with('/')) {
        return Err(remote.error(
            ErrorKind::Write,
            format!(
                "{} is not an absolute path on the server; nothing was changed",
                f.path
            ),
        ));
    }
    let script = apply_script(remote, files, reload);
    let command = if remote.sudo {
        "sudo -n sh -s"
    } else {
        "sh -s"
    };
    let ran = run_ssh(remote, command, Some(script.into_bytes())).map_err(|mut e| {
        if e.kind == ErrorKind::Timeout {
            e.message.push_str(
                "; the server finishes the script on its own (applied, or rolled back): look for new .hopscope.bak files",
            );
        }
        e
    })?;
    read_report(remote, files, ran.code, &ran.stdout, &ran.stderr)
}

// ---------------------------------------------------------------------------
// Fleets
// ---------------------------------------------------------------------------

/// A host of an inventory, with the variables given on its own lines.
#[derive(Clone, Debug, PartialEq, Eq)]
struct InvHost {
    name: String,
    vars: Vec<(String, String)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Group {
    name: String,
    hosts: Vec<usize>,
    children: Vec<String>,
    vars: Vec<(String, String)>,
}

/// A fleet: one `[user@]host` per line (`#` comments), or an Ansible-style
/// INI inventory (`[group]`, `[group:children]`, `[group:vars]`, host lines
/// with `ansible_host=`, `ansible_user=`, `ansible_port=`,
/// `ansible_ssh_private_key_file=`, `ansible_become=`, host ranges such as
/// `web[01:20].example.com`; `hopscope_nginx=` and `hopscope_nginx_conf=`
/// set `--nginx` and `--nginx-conf` for a host or group).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    hosts: Vec<InvHost>,
    groups: Vec<Group>,
}

/// Splits a line into words: whitespace separates, quotes group, a word
/// starting with `#` or `;` starts a comment.
fn words(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                in_word = true;
                let mut closed = false;
                while let Some(q) = chars.next() {
                    if q == c {
                        closed = true;
                        break;
                    }
                    if q == '\\' && c == '"' {
                        if let Some(e) = chars.next() {
                            cur.push(e);
                        }
                        continue;
                    }
                    cur.push(q);
                }
                if !closed {
                    return Err(format!("unclosed {c}"));
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '#' | ';' if !in_word => break,
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// Expands Ansible host ranges: `web[01:03]` → web01, web02, web03;
/// `db-[a:c]` → db-a, db-b, db-c; `[1:9:2]` steps by 2.
fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('[') else {
        return Ok(vec![pattern.to_string()]);
    };
    let close = pattern[open..]
        .find(']')
        .map(|i| open + i)
        .ok_or_else(|| format!("unclosed [ in host pattern {pattern}"))?;
    let (head, spec, tail) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    let parts: Vec<&str> = spec.split(':').collect();
    let bad = || format!("bad host range [{spec}] in {pattern} (use [01:20] or [a:f])");
    if !(2..=3).contains(&parts.len()) {
        return Err(bad());
    }
    let step: usize = match parts.get(2) {
        Some(s) => s.parse().ok().filter(|&s| s > 0).ok_or_else(bad)?,
        None => 1,
    };
    let (a, b) = (parts[0], parts[1]);
    let items: Vec<String> = if let (Ok(x), Ok(y)) = (a.parse::<u64>(), b.parse::<u64>()) {
        if x > y || y - x > 10_000 {
            return Err(bad());
        }
        let width = if a.len() > 1 && a.starts_with('0') {
            a.len()
        } else {
            0
        };
        (x..=y)
            .step_by(step)
            .map(|n| format!("{n:0width$}"))
            .collect()
    } else {
        let (Some(x), Some(y)) = (a.chars().next(), b.chars().next()) else {
            return Err(bad());
        };
        if a.len() != 1 || b.len() != 1 || !x.is_ascii_alphabetic() || x > y {
            return Err(bad());
        }
        (x..=y).step_by(step).map(String::from).collect()
    };
    let mut out = Vec::new();
    for item in items {
        for rest in expand(tail)? {
            out.push(format!("{head}{item}{rest}"));
        }
    }
    Ok(out)
}

/// `host:port`, as Ansible allows (not for IPv6 literals): the host and
/// the port.
fn split_port(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once(':') {
        Some((host, port))
            if !host.contains(':')
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (host, Some(port))
        }
        _ => (name, None),
    }
}

/// Refuses an inventory's `ansible_host` or `ansible_user` that is not a
/// host name (or IP address) or a user name: the person's ssh
/// configuration may hand them to a shell (`ProxyCommand … %h`).
fn check_var(key: &str, value: &str) -> Result<(), String> {
    match key {
        "ansible_host" | "ansible_ssh_host" => check_host(value),
        "ansible_user" | "ansible_ssh_user" => check_user(value),
        _ => return Ok(()),
    }
    .map_err(|e| format!("{key}: {e}"))
}

fn key_value(word: &str) -> Option<(String, String)> {
    let (k, v) = word.split_once('=')?;
    let k = k.trim();
    (!k.is_empty()).then(|| (k.to_string(), v.trim().to_string()))
}

impl Inventory {
    /// Reads an inventory; errors name the line.
    pub fn parse(text: &str) -> Result<Inventory, String> {
        enum Section {
            Hosts(usize),
            Children(usize),
            Vars(usize),
        }
        let mut inv = Inventory::default();
        let mut section = Section::Hosts(inv.group("ungrouped"));
        for (n, raw) in text.lines().enumerate() {
            let at = |m: String| format!("line {}: {m}", n + 1);
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(inner) = line.strip_prefix('[') {
                let inner = inner
                    .split_once(']')
                    .map(|(i, _)| i.trim())
                    .ok_or_else(|| at(format!("unclosed section header {line}")))?;
                let (name, kind) = inner.split_once(':').unwrap_or((inner, ""));
                if name.is_empty() {
                    return Err(at("a section needs a group name".into()));
                }
                let g = inv.group(name);
                section = match kind {
                    "" | "hosts" => Section::Hosts(g),
                    "children" => Section::Children(g),
                    "vars" => Section::Vars(g),
                    other => return Err(at(format!("unknown section kind \"{other}\""))),
                };
                continue;
            }
            let w = words(line).map_err(at)?;
            let Some(first) = w.first() else { continue };
            match section {
                Section::Hosts(g) => {
                    let mut vars = Vec::new();
                    for word in &w[1..] {
                        vars.push(key_value(word).ok_or_else(|| {
                            at(format!(
                                "\"{word}\" is not KEY=VALUE (host lines are: HOST KEY=VALUE…)"
                            ))
                        })?);
                    }
                    for (k, v) in &vars {
                        check_var(k, v).map_err(at)?;
                    }
                    for name in expand(first).map_err(at)? {
                        check_destination(split_port(&name).0).map_err(at)?;
                        let h = inv.host(&name);
                        inv.hosts[h].vars.extend(vars.iter().cloned());
                        if !inv.groups[g].hosts.contains(&h) {
                            inv.groups[g].hosts.push(h);
                        }
                    }
                }
                Section::Children(g) => {
                    let child = first.clone();
                    inv.group(&child);
                    if !inv.groups[g].children.contains(&child) {
                        inv.groups[g].children.push(child);
                    }
                }
                Section::Vars(g) => {
                    let kv = key_value(line)
                        .ok_or_else(|| at(format!("\"{line}\" is not KEY=VALUE")))?;
                    let kv = (kv.0, words(&kv.1).map_err(at)?.join(" "));
                    check_var(&kv.0, &kv.1).map_err(at)?;
                    inv.groups[g].vars.push(kv);
                }
            }
        }
        Ok(inv)
    }

    fn group(&mut self, name: &str) -> usize {
        if let Some(i) = self.groups.iter().position(|g| g.name == name) {
            return i;
        }
        self.groups.push(Group {
            name: name.to_string(),
            ..Group::default()
        });
        self.groups.len() - 1
    }

    fn host(&mut self, name: &str) -> usize {
        if let Some(i) = self.hosts.iter().position(|h| h.name == name) {
            return i;
        }
        self.hosts.push(InvHost {
            name: name.to_string(),
            vars: Vec::new(),
        });
        self.hosts.len() - 1
    }

    /// Group names, in the order they appear.
    pub fn group_names(&self) -> Vec<&str> {
        self.groups
            .iter()
            .filter(|g| !g.hosts.is_empty() || !g.children.is_empty())
            .map(|g| g.name.as_str())
            .collect()
    }

    /// The hosts of a group and its children (indexes, in file order).
    fn members(&self, group: &str) -> Vec<usize> {
        let mut seen = vec![false; self.groups.len()];
        let mut out = Vec::new();
        let mut stack = vec![group.to_string()];
        while let Some(name) = stack.pop() {
            let Some(g) = self.groups.iter().position(|g| g.name == name) else {
                continue;
            };
            if std::mem::replace(&mut seen[g], true) {
                continue;
            }
            out.extend(self.groups[g].hosts.iter().copied());
            stack.extend(self.groups[g].children.iter().cloned());
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Every host's name, in file order.
    pub fn host_names(&self) -> Vec<&str> {
        self.hosts.iter().map(|h| h.name.as_str()).collect()
    }

    /// The servers to audit: every host, or those of `group` (with its
    /// children; `all` is every host, `ungrouped` those in no group), each
    /// made from `base` with its inventory variables as ssh options.
    pub fn targets(&self, group: Option<&str>, base: &Remote) -> Result<Vec<Remote>, String> {
        let chosen: Vec<usize> = match group {
            None | Some("all") => (0..self.hosts.len()).collect(),
            Some("ungrouped") => (0..self.hosts.len())
                .filter(|&h| {
                    !self.groups.iter().any(|g| {
                        g.name != "ungrouped"
                            && g.name != "all"
                            && self.members(&g.name).contains(&h)
                    })
                })
                .collect(),
            Some(g) => {
                if !self.groups.iter().any(|x| x.name == g) {
                    let known = self.group_names();
                    return Err(format!(
                        "no group \"{g}\" in the inventory (groups: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ));
                }
                self.members(g)
            }
        };
        chosen.into_iter().map(|h| self.target(h, base)).collect()
    }

    /// The variables of a host: `all`'s, then its groups' (in file order),
    /// then its own; the last value of a key wins.
    fn vars_of(&self, h: usize) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = Vec::new();
        if let Some(all) = self.groups.iter().find(|g| g.name == "all") {
            vars.extend(all.vars.iter().cloned());
        }
        for g in &self.groups {
            if g.name != "all" && self.members(&g.name).contains(&h) {
                vars.extend(g.vars.iter().cloned());
            }
        }
        vars.extend(self.hosts[h].vars.iter().cloned());
        vars
    }

    fn target(&self, h: usize, base: &Remote) -> Result<Remote, String> {
        let name = &self.hosts[h].name;
        let mut r = base.clone();
        r.host = name.clone();
        r.destination = name.clone();
        let mut opts: Vec<(&str, String)> = Vec::new();
        let mut vars = self.vars_of(h);
        // `host:port`, as Ansible allows (not for IPv6 literals): a host
        // variable, before those written on the host's line.
        if let (host, Some(port)) = split_port(name) {
            r.destination = host.to_string();
            let at = vars.len() - self.hosts[h].vars.len();
            vars.insert(at, ("ansible_port".into(), port.to_string()));
        }
        let mut escalate = None;
        for (k, v) in vars {
            let opt = match k.as_str() {
                "ansible_host" | "ansible_ssh_host" => "HostName",
                "ansible_port" | "ansible_ssh_port" => {
                    if !v.bytes().all(|b| b.is_ascii_digit()) || v.is_empty() {
                        return Err(format!("host {name}: {k}={v} is not a port number"));
                    }
                    "Port"
                }
                "ansible_user" | "ansible_ssh_user" => "User",
                "ansible_ssh_private_key_file" | "ansible_private_key_file" => "IdentityFile",
                "hopscope_nginx" => {
                    r.nginx = v;
                    continue;
                }
                "hopscope_nginx_conf" => {
                    r.nginx_conf = Some(v);
                    continue;
                }
                "ansible_become" => {
                    escalate = Some(matches!(
                        v.to_ascii_lowercase().as_str(),
                        "true" | "yes" | "1" | "on"
                    ));
                    continue;
                }
                _ => continue,
            };
            check_var(&k, &v).map_err(|e| format!("host {name}: {e}"))?;
            if v.is_empty() || v.contains(['\n', '"']) {
                return Err(format!("host {name}: {k}={v:?} is empty or holds a quote"));
            }
            // ssh reads `-o` like a configuration line: quote spaces.
            let v = if v.contains(char::is_whitespace) {
                format!("\"{v}\"")
            } else {
                v
            };
            opts.retain(|(o, _)| *o != opt);
            opts.push((opt, v));
        }
        r.sudo = base.sudo || escalate.unwrap_or(false);
        let mut ssh_options: Vec<String> =
            opts.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        ssh_options.extend(base.ssh_options.iter().cloned());
        r.ssh_options = ssh_options;
        r.validate().map_err(|e| format!("host {name}: {e}"))?;
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/usr/sbin/nginx"), "/usr/sbin/nginx");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(shell_quote(""), "''");
        let mut r = Remote::new("web1");
        assert_eq!(r.dump_command(), "nginx -T 2>&1");
        r.sudo = true;
        r.nginx = "/opt/my nginx/sbin/nginx".into();
        r.nginx_conf = Some("/etc/nginx/x;y.conf".into());
        assert_eq!(
            r.dump_command(),
            "sudo -n '/opt/my nginx/sbin/nginx' -c '/etc/nginx/x;y.conf' -T 2>&1"
        );
    }

    #[test]
    fn the_ssh_command_line() {
        let mut r = Remote::new("deploy@web1");
        r.ssh_config = Some(PathBuf::from("/tmp/cfg"));
        r.ssh_options = vec!["Port=2222".into()];
        let cmd = r.ssh_command("nginx -T 2>&1");
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(cmd.get_program(), "ssh");
        assert_eq!(
            args,
            [
                "-o",
                "BatchMode=yes",
                "-o",
                "ForwardAgent=no",
                "-o",
                "ForwardX11=no",
                "-F",
                "/tmp/cfg",
                "-o",
                "Port=2222",
                "-o",
                "ConnectTimeout=10",
                "-o",
                "ClearAllForwardings=yes",
                "-T",
                "--",
                "deploy@web1",
                "nginx -T 2>&1"
            ]
        );
        assert!(Remote::new("-oProxyCommand=x").validate().is_err());
        assert!(Remote::new("a b").validate().is_err());
        // Also when the person's options ask for forwarding: the first
        // value wins in ssh, and hopscope's come first.
        r.ssh_options = vec!["ForwardAgent=yes".into()];
        let args: Vec<String> = r
            .ssh_command("x")
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let first = |opt: &str| {
            args.iter()
                .find(|a| {
                    a.to_ascii_lowercase()
                        .starts_with(&opt.to_ascii_lowercase())
                })
                .cloned()
        };
        assert_eq!(first("ForwardAgent=").as_deref(), Some("ForwardAgent=no"));
        assert_eq!(first("ForwardX11=").as_deref(), Some("ForwardX11=no"));
    }

    #[test]
    fn destinations_hosts_and_users() {
        for ok in [
            "web1",
            "deploy@web1.example.com",
            "a_b-c.d",
            "10.0.0.1",
            "root@::1",
            "fe80::1%eth0",
            "first.last@corp.example@web1",
            "ssh://deploy@web1:2222",
            "ssh://[::1]:22",
            "ssh://web1",
        ] {
            assert_eq!(check_destination(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "-oProxyCommand=x",
            "a b",
            "$(touch x)",
            "web1;id",
            "`id`",
            "web1|x",
            "x\nProxyCommand y",
            "@web1",
            "-u@web1",
            "deploy@",
            "de'ploy@web1",
            ".web1",
            "ssh://web1:x",
            "ssh://[::1",
        ] {
            let e = check_destination(bad).unwrap_err();
            assert!(e.contains("is not an ssh destination"), "{bad}: {e}");
        }
        assert!(check_host("$(touch /tmp/x)")
            .unwrap_err()
            .contains("is not a host name or an IP address"));
        assert!(check_user("x y")
            .unwrap_err()
            .contains("is not a user name"));
        // Control characters are shown escaped.
        assert!(check_host("a\x1b[2Jb").unwrap_err().contains("\\x1b"));
    }

    #[test]
    fn ssh_messages_lose_their_prefix() {
        assert_eq!(
            ssh_message(b"root@127.0.0.1: Permission denied (publickey).\n"),
            "Permission denied (publickey)"
        );
        assert_eq!(
            ssh_message(b"Warning: Permanently added 'x' (ED25519) to the list of known hosts.\r\nssh: connect to host 127.0.0.1 port 1: Connection refused\r\n"),
            "connect to host 127.0.0.1 port 1: Connection refused"
        );
        assert_eq!(ssh_message(b""), "ssh failed without a message");
    }

    #[test]
    fn nginx_error_lines_in_both_forms() {
        let log = "2026/11/25 21:17:48 [emerg] 4771#4771: unknown directive \"x\" in /e/n.conf:2\nnginx: configuration file /e/n.conf test failed\n";
        assert_eq!(
            nginx_errors(log).unwrap(),
            "nginx: [emerg] unknown directive \"x\" in /e/n.conf:2 / nginx: configuration file /e/n.conf test failed"
        );
        let console = "nginx: [emerg] open() \"/x\" failed (13: Permission denied)\n";
        assert_eq!(
            nginx_errors(console).unwrap(),
            "nginx: [emerg] open() \"/x\" failed (13: Permission denied)"
        );
        assert!(nginx_errors("nginx: [warn] something\n").is_none());
    }

    #[test]
    fn the_dump_starts_at_its_first_marker() {
        let out = b"Welcome to web1\n2026/01/02 03:04:05 [warn] 7#7: conflicting server name\n\
                    nginx: the configuration file /e/n.conf syntax is ok\n\
                    # configuration file /e/n.conf:\nhttp {}\n\n";
        let dump = from_first_marker(out).unwrap();
        assert!(dump.starts_with(b"# configuration file /e/n.conf:\n"));
        assert!(from_first_marker(b"nginx: [emerg] x\n").is_none());
    }

    #[test]
    fn plain_host_lists() {
        let inv =
            Inventory::parse("# web\nweb1\ndeploy@web2.example.com  # comment\n\nweb1\n").unwrap();
        assert_eq!(inv.host_names(), ["web1", "deploy@web2.example.com"]);
        let t = inv.targets(None, &Remote::new("x")).unwrap();
        assert_eq!(t[1].destination, "deploy@web2.example.com");
        assert!(t[0].ssh_options.is_empty());
    }

    #[test]
    fn ansible_inventories() {
        let text = "\
bastion ansible_host=10.0.0.1

[web]
web[01:03].example.com ansible_user=deploy
edge ansible_host=127.0.0.1 ansible_port=2222 ansible_user=root

[db]
db1:2200 ansible_become=true hopscope_nginx=/usr/local/nginx/sbin/nginx hopscope_nginx_conf=/srv/nginx.conf

[prod:children]
web
db

[web:vars]
ansible_user=www
ansible_ssh_private_key_file=\"/keys/web key\"

[all:vars]
ansible_port=22
";
        let inv = Inventory::parse(text).unwrap();
        let mut base = Remote::new("x");
        base.ssh_options = vec!["StrictHostKeyChecking=no".into()];
        let names = |g: Option<&str>| -> Vec<String> {
            inv.targets(g, &base)
                .unwrap()
                .into_iter()
                .map(|r| r.host)
                .collect()
        };
        assert_eq!(
            names(Some("web")),
            [
                "web01.example.com",
                "web02.example.com",
                "web03.example.com",
                "edge"
            ]
        );
        assert_eq!(names(Some("prod")).len(), 5);
        assert_eq!(names(Some("ungrouped")), ["bastion"]);
        assert_eq!(names(None).len(), 6);
        let err = inv.targets(Some("nope"), &base).unwrap_err();
        assert!(
            err.contains("no group \"nope\"") && err.contains("web, db, prod"),
            "{err}"
        );

        let edge = &inv.targets(Some("web"), &base).unwrap()[3];
        assert_eq!(edge.destination, "edge");
        assert_eq!(
            edge.ssh_options,
            [
                "IdentityFile=\"/keys/web key\"",
                "HostName=127.0.0.1",
                "Port=2222",
                "User=root",
                "StrictHostKeyChecking=no"
            ]
        );
        let web01 = &inv.targets(Some("web"), &base).unwrap()[0];
        assert!(
            web01.ssh_options.contains(&"User=deploy".to_string()),
            "host vars win"
        );
        let db1 = &inv.targets(Some("db"), &base).unwrap()[0];
        assert_eq!(db1.destination, "db1");
        assert!(db1.sudo);
        assert_eq!(db1.nginx, "/usr/local/nginx/sbin/nginx");
        assert_eq!(db1.nginx_conf.as_deref(), Some("/srv/nginx.conf"));
        assert!(!edge.sudo);
        assert_eq!(db1.ssh_options[0], "Port=2200");

        assert!(Inventory::parse("[web\nx")
            .unwrap_err()
            .starts_with("line 1:"));
        // What ssh could hand a shell is refused, with its line.
        for (text, line) in [
            ("web1 ansible_host='$(touch /tmp/x)'\n", 1),
            ("# fleet\nweb1 ansible_ssh_host=`id`\n", 2),
            ("web1\n[all:vars]\nansible_user=\"a;b\"\n", 3),
            ("web1 ansible_ssh_user=-oProxyCommand=x\n", 1),
            ("ok\nweb$(id)\n", 2),
            ("ok\n-oProxyCommand=x\n", 2),
        ] {
            let e = Inventory::parse(text).unwrap_err();
            assert!(e.starts_with(&format!("line {line}: ")), "{text:?}: {e}");
        }
        let e = Inventory::parse("web1 ansible_host='$(touch /tmp/x)'\n").unwrap_err();
        assert_eq!(
            e,
            "line 1: ansible_host: \"$(touch /tmp/x)\" is not a host name or an IP address"
        );
        assert!(Inventory::parse("[web]\nx novalue")
            .unwrap_err()
            .starts_with("line 2:"));
        assert!(Inventory::parse("[web:weird]").is_err());
        assert!(Inventory::parse("a[3:1]").is_err());
        assert!(Inventory::parse("-oProxyCommand=x").is_err());
        let bad_port = Inventory::parse("a ansible_port=x").unwrap();
        assert!(bad_port.targets(None, &base).is_err());
    }

    #[test]
    fn host_ranges() {
        assert_eq!(expand("a[1:3]").unwrap(), ["a1", "a2", "a3"]);
        assert_eq!(expand("a[08:10]b").unwrap(), ["a08b", "a09b", "a10b"]);
        assert_eq!(expand("[a:c]-[1:2]").unwrap().len(), 6);
        assert_eq!(expand("n[0:8:4]").unwrap(), ["n0", "n4", "n8"]);
    }

    // The apply script, run locally by `sh` (what `ssh host sh -s` runs
    // remotely), against a fake nginx that accepts or rejects.

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
        fn run(&self, files: &[RemoteFile<'_>], reload: bool) -> Result<Applied, RemoteError> {
            self.run_with(Command::new("sh"), files, reload)
        }
        /// The script run by `sh` as `shell` starts it (another user).
        fn run_with(
            &self,
            mut shell: Command,
            files: &[RemoteFile<'_>],
            reload: bool,
        ) -> Result<Applied, RemoteError> {
            let remote = self.remote();
            let script = apply_script(&remote, files, reload);
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
            read_report(&remote, files, out.status.code(), &out.stdout, &out.stderr)
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
            RemoteFile {
                path: &a,
                loaded: b"old a\n",
                new: b"new a\n\x00\xff",
            },
            RemoteFile {
                path: &link,
                loaded: b"old b",
                new: b"new b\n",
            },
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
        let files = [RemoteFile {
            path: &a,
            loaded: b"old a\n",
            new: b"new a\n",
        }];
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
        let files = [
            RemoteFile {
                path: &a,
                loaded: b"A",
                new: b"A2",
            },
            RemoteFile {
                path: &b,
                loaded: b"B then",
                new: b"B2",
            },
        ];
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
        let files = [
            RemoteFile {
                path: &a,
                loaded: b"A",
                new: b"A2",
            },
            RemoteFile {
                path: &b,
                loaded: b"B",
                new: b"B2",
            },
        ];
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
            .run(
                &[RemoteFile {
                    path: &missing,
                    loaded: b"",
                    new: b"x",
                }],
                false,
            )
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Write);
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }
}
