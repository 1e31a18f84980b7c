//! Writing fixes on the server: the apply script and its input, and
//! reading the report it prints.

use base64::Engine;

use super::error::{ErrorKind, RemoteError};
use super::nginx_output::{failure_hint, nginx_messages, one_line_excerpt};
use super::process::{run_ssh, ssh_message};
use super::target::Remote;

fn base64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_decode(s: &str) -> Vec<u8> {
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

const REPORT_PREFIX: &str = "@@hopscope";
const HEREDOC_END: &str = "@@HOPSCOPE-DATA@@";

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
say() {{ printf '{REPORT_PREFIX} %s\n' "$*"; }}
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
    let nginx = format!(
        "NGINX=$(dec '{}')\n",
        base64_encode(remote.nginx.as_bytes())
    );
    s.push_str(&nginx);
    let conf = match &remote.nginx_conf {
        Some(c) => {
            s.push_str(&format!("CONF=$(dec '{}')\n", base64_encode(c.as_bytes())));
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
            base64_encode(f.path.as_bytes()),
            sha256_hex(f.loaded)
        ));
    }
    for (i, f) in files.iter().enumerate() {
        s.push_str(&format!(
            "stage {i} '{}' <<'{HEREDOC_END}'\n",
            sha256_hex(f.new)
        ));
        let data = base64_encode(f.new);
        for chunk in data.as_bytes().chunks(76) {
            s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            s.push('\n');
        }
        s.push_str(HEREDOC_END);
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
struct ReportLine {
    what: String,
    index: Option<usize>,
    args: Vec<String>,
}

fn report_lines(stdout: &[u8]) -> Vec<ReportLine> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| l.strip_prefix(REPORT_PREFIX))
        .filter_map(|rest| {
            let mut words = rest.split_whitespace();
            let what = words.next()?.to_string();
            let index = words.next().and_then(|w| w.parse().ok());
            let args = words
                .map(|w| String::from_utf8_lossy(&base64_decode(w)).into_owned())
                .collect();
            Some(ReportLine { what, index, args })
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
    let lines = report_lines(stdout);
    let name = |i: Option<usize>| {
        i.and_then(|i| files.get(i))
            .map_or("a file".to_string(), |f| f.path.to_string())
    };
    let arg = |s: &ReportLine| {
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
                    let out = nginx_messages(&out);
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
            let out = nginx_messages(&find("rejected").map(arg).unwrap_or_default());
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
            let out = nginx_messages(&find("rejected").map(arg).unwrap_or_default());
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
                        l.strip_prefix(&format!("{REPORT_PREFIX} missing "))
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
                    one_line_excerpt(&text),
                    failure_hint(remote, &text)
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
    let finished = run_ssh(remote, command, Some(script.into_bytes())).map_err(|mut e| {
        if e.kind == ErrorKind::Timeout {
            e.message.push_str(
                "; the server finishes the script on its own (applied, or rolled back): look for new .hopscope.bak files",
            );
        }
        e
    })?;
    read_report(
        remote,
        files,
        finished.code,
        &finished.stdout,
        &finished.stderr,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    use std::process::{Command, Stdio};

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
