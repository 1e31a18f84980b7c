//! Writing fixes on the server: the apply script and its input, and
//! reading the report it prints.

use base64::Engine;

use super::error::{ErrorKind, RemoteError};
use super::nginx_output::{failure_hint, nginx_messages, one_line_excerpt};
use super::process::{run_ssh, ssh_message};
use super::target::Remote;
use crate::changed::ChangedFile;

fn base64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_decode(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .unwrap_or_default()
}

fn sha256_hex(bytes: &[u8]) -> String {
    <sha2::Sha256 as sha2::Digest>::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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

/// What starts each line of the script's report (`say` in apply.sh).
const REPORT_PREFIX: &str = "@@hopscope";
/// The end of each heredoc that carries a file's new content.
const HEREDOC_END: &str = "@@HOPSCOPE-DATA@@";

/// The apply script (POSIX sh, read by `sh -s`): what it does, the data
/// it expects around it and its exit codes are in its header.
const APPLY_SH: &str = include_str!("apply.sh");

/// [`APPLY_SH`] with this run's data: assignments before it, then a
/// `check`, `stage` and `commit` for each file and `finish`. Everything
/// from the person or the files is base64 in it; no command but the
/// heredocs reads standard input (which is the script itself).
fn apply_script(remote: &Remote, files: &[ChangedFile<String>], reload: bool) -> String {
    let mut s = String::new();
    s.push_str("# hopscope: this run's data, then the apply script\n");
    s.push_str(&format!("N={}\nRELOAD={}\n", files.len(), u8::from(reload)));
    s.push_str(&format!(
        "NGINX_B64='{}'\n",
        base64_encode(remote.nginx.as_bytes())
    ));
    match &remote.nginx_conf {
        Some(c) => s.push_str(&format!(
            "HAS_CONF=1\nCONF_B64='{}'\n",
            base64_encode(c.as_bytes())
        )),
        None => s.push_str("HAS_CONF=0\nCONF_B64=\n"),
    }
    s.push_str(APPLY_SH);
    // The rollback check compares with the sha256 of what was loaded.
    for (i, f) in files.iter().enumerate() {
        s.push_str(&format!(
            "printf '%s' '{}' > \"$W/s.{i}\"\n",
            sha256_hex(&f.loaded)
        ));
    }
    for (i, f) in files.iter().enumerate() {
        s.push_str(&format!(
            "check {i} '{}' '{}'\n",
            base64_encode(f.path.as_bytes()),
            sha256_hex(&f.loaded)
        ));
    }
    for (i, f) in files.iter().enumerate() {
        s.push_str(&format!(
            "stage {i} '{}' <<'{HEREDOC_END}'\n",
            sha256_hex(&f.new)
        ));
        let data = base64_encode(&f.new);
        for chunk in data.as_bytes().chunks(76) {
            s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            s.push('\n');
        }
        s.push_str(HEREDOC_END);
        s.push('\n');
    }
    for (i, f) in files.iter().enumerate() {
        s.push_str(&format!("commit {i} '{}'\n", sha256_hex(&f.loaded)));
    }
    s.push_str("finish\n");
    s
}

/// How the apply script ended: its exit code. `apply.sh` names the same
/// numbers in the table at its top.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ScriptExit {
    /// Every file written and `nginx -t` passed (a reload is reported apart).
    Applied = 0,
    /// A file is not what was loaded (content, owner or mode): nothing changed.
    Changed = 10,
    /// A file could not be read, backed up, written or replaced: nothing changed.
    WriteFailed = 11,
    /// `nginx -t` rejected the fixed files: every file was put back.
    RolledBack = 12,
    /// `nginx -t` rejected them and putting a file back failed.
    RollbackFailed = 13,
    /// The server lacks a tool the script needs: nothing changed.
    MissingTool = 20,
}

impl ScriptExit {
    const ALL: [ScriptExit; 6] = [
        ScriptExit::Applied,
        ScriptExit::Changed,
        ScriptExit::WriteFailed,
        ScriptExit::RolledBack,
        ScriptExit::RollbackFailed,
        ScriptExit::MissingTool,
    ];

    fn code(self) -> i32 {
        self as i32
    }

    /// The end an exit code means; None for codes the script never uses
    /// (ssh's 255, a shell that died).
    fn from_code(code: i32) -> Option<ScriptExit> {
        ScriptExit::ALL.into_iter().find(|e| e.code() == code)
    }
}

/// One `@@hopscope EVENT NUMBER [BASE64…]` line of the script's report.
struct ReportLine {
    /// What happened: `saved`, `tested`, `reload`, `changed`, `rejected`,
    /// `rollback-failed`, `missing`, …
    event: String,
    /// The file's index (`x` when none reads as None); for `reload`, the
    /// exit code of `nginx -s reload`.
    number: Option<usize>,
    /// The base64 values after it, decoded.
    values: Vec<String>,
}

impl ReportLine {
    /// The first value, trimmed (empty when there is none).
    fn first_value(&self) -> String {
        self.values
            .first()
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    }
}

/// The report lines of the script's standard output (other lines are not
/// the script's: a login banner, a tool's message).
fn report_lines(stdout: &[u8]) -> Vec<ReportLine> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| l.strip_prefix(REPORT_PREFIX))
        .filter_map(|rest| {
            let mut fields = rest.split_whitespace();
            let event = fields.next()?.to_string();
            let number = fields.next().and_then(|f| f.parse().ok());
            let values = fields
                .map(|f| String::from_utf8_lossy(&base64_decode(f)).into_owned())
                .collect();
            Some(ReportLine {
                event,
                number,
                values,
            })
        })
        .collect()
}

/// Reads the report of [`apply_script`]: what was written, or why nothing was.
fn read_report(
    remote: &Remote,
    files: &[ChangedFile<String>],
    code: Option<i32>,
    stdout: &[u8],
    stderr: &[u8],
) -> Result<Applied, RemoteError> {
    let lines = report_lines(stdout);
    let name = |i: Option<usize>| {
        i.and_then(|i| files.get(i))
            .map_or("a file".to_string(), |f| f.path.to_string())
    };
    let with = |what: &str, detail: String| {
        if detail.is_empty() {
            what.to_string()
        } else {
            format!("{what}: {detail}")
        }
    };
    let find = |event: &str| lines.iter().find(|l| l.event == event);
    let code = match code {
        Some(255) | None => return Err(remote.error(ErrorKind::Ssh, ssh_message(stderr))),
        Some(c) => c,
    };
    match ScriptExit::from_code(code) {
        Some(ScriptExit::Applied) => {
            let written = lines
                .iter()
                .filter(|l| l.event == "saved")
                .map(|l| Written {
                    path: l.values.first().cloned().unwrap_or_default(),
                    backup: l.values.get(1).cloned().unwrap_or_default(),
                })
                .collect::<Vec<_>>();
            if written.len() != files.len() {
                return Err(remote.error(
                    ErrorKind::Command,
                    "the apply script ended without reporting every file: check the server"
                        .to_string(),
                ));
            }
            let test_output = find("tested")
                .map(ReportLine::first_value)
                .unwrap_or_default();
            let reload = find("reload").map(|l| {
                let out = l.first_value();
                if l.number == Some(0) {
                    Ok(out)
                } else {
                    let out = nginx_messages(&out);
                    Err(if out.is_empty() {
                        format!(
                            "nginx -s reload failed (exit {})",
                            l.number.map_or(-1, |c| c as i64)
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
        Some(ScriptExit::Changed) => {
            let l = find("changed");
            Err(remote.error(
                ErrorKind::Changed,
                format!(
                    "{} changed since it was loaded; nothing was changed (load it again and re-apply the fix)",
                    name(l.and_then(|l| l.number))
                ),
            ))
        }
        Some(ScriptExit::WriteFailed) => {
            let l = lines.iter().find(|l| {
                ["resolve", "write", "backup", "replace", "error"].contains(&l.event.as_str())
            });
            let (event, i, detail) = l.map_or(("write", None, String::new()), |l| {
                (l.event.as_str(), l.number, l.first_value())
            });
            let verb = match event {
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
        Some(ScriptExit::RolledBack) => {
            let out = nginx_messages(
                &find("rejected")
                    .map(ReportLine::first_value)
                    .unwrap_or_default(),
            );
            Err(remote.error(
                ErrorKind::RolledBack,
                format!("nginx -t rejects the fixed configuration; rolled back: every file is as it was, nothing was changed\n{out}"),
            ))
        }
        Some(ScriptExit::RollbackFailed) => {
            let mut not_restored: Vec<String> = Vec::new();
            for l in lines.iter().filter(|l| l.event == "rollback-failed") {
                let n = name(l.number);
                if !not_restored.contains(&n) {
                    not_restored.push(n);
                }
            }
            let out = nginx_messages(
                &find("rejected")
                    .map(ReportLine::first_value)
                    .unwrap_or_default(),
            );
            let undo = find("undo")
                .map(ReportLine::first_value)
                .unwrap_or_default();
            Err(remote.error(
                ErrorKind::RollbackFailed,
                format!(
                    "nginx -t rejects the fixed configuration and putting back {} FAILED ({undo}): restore them from their .hopscope.bak backups\n{out}",
                    not_restored.join(", ")
                ),
            ))
        }
        Some(ScriptExit::MissingTool) => {
            // `say missing TOOL` writes the tool's name as it is.
            let tool = find("missing")
                .and_then(|l| l.values.first().cloned())
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
        None => {
            let mut text = String::from_utf8_lossy(stderr).into_owned();
            text.push_str(&String::from_utf8_lossy(stdout));
            Err(remote.error(
                ErrorKind::Command,
                format!(
                    "the apply script failed (exit {code}): {}{}; check the server",
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
    files: &[ChangedFile<String>],
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
mod tests;
