//! `hopscope fix`: proposed fixes as a diff, saved here (`--write`), or
//! applied on a server over SSH (`--apply`).

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::cli::args::{FixArgs, ProbeFormat};
use crate::cli::error::{fail, print_load_errors};
use crate::cli::output::{emit, emit_bytes, emit_raw, say_text};
use crate::diagnostic::Applicability;
use crate::fix;
use crate::model::Model;
use crate::visible::visible;

/// Why `--write` refuses standard input that is not `nginx -T` output.
const STDIN_NOT_WRITTEN: &str = "standard input is not nginx -T output, so it owns no files on this machine: nothing is written to the files it includes (run without --write to print the diff, and apply it with `patch -p1` where the files are)";

/// `fix`: applies proposed fixes, prints a diff or saves.
pub fn run(args: &FixArgs) -> ExitCode {
    if let Err(code) = remote_fix_guard(args) {
        return code;
    }
    let model = match args.load.model() {
        Ok(m) => m,
        Err(code) => return code,
    };
    for r in args.rule.iter() {
        if crate::rules::find(r).is_none() {
            return fail(format_args!(
                "unknown rule \"{r}\" (see `hopscope explain --list`)"
            ));
        }
    }
    for h in args.hop.iter() {
        if model.hop_by_id(h).is_none() {
            return fail(crate::cli::error::no_hop(&model, h));
        }
    }
    let mut values = fix::Values::default();
    for s in &args.set {
        let spec = match values.set(s) {
            Ok(spec) => spec,
            Err(e) => return fail(e),
        };
        // A hop id that names no hop (or the bare `file:line` of a
        // directive several include paths reach) would take the value
        // nowhere.
        if let Some(hop) = &spec.hop {
            if model.hop_by_id(hop).is_none() {
                return fail(crate::cli::error::no_hop(&model, hop));
            }
        }
        match fix::values::check(&model, spec.key, &spec.value) {
            Ok(checked) => {
                for n in checked.notes {
                    say!("note: --set {}: {n}", visible(s));
                }
            }
            Err(e) => return fail(format_args!("--set {}: {e}", visible(s))),
        }
    }
    let sel = fix::Selection {
        rules: args.rule.clone(),
        hops: args.hop.clone(),
        safe_only: args.safe_only,
        placement: args.placement.into(),
    };
    let outcome = match fix::fix_all(&model, &sel, &values) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    for a in &outcome.applied {
        let review = if a.applicability == Applicability::NeedsReview {
            " (needs review)"
        } else {
            ""
        };
        let shared = if a.shared_with.is_empty() {
            String::new()
        } else {
            format!(
                " (the same lines serve {}: the block is in a file both include paths read)",
                a.shared_with.join(", ")
            )
        };
        say!(
            "fixed: {} [{}] {}{review}{shared}",
            a.hop,
            a.rule,
            a.summary
        );
    }
    for s in &outcome.skipped {
        match &s.missing {
            Some(m) if m.proposal.is_some() => say!(
                "not fixed: {} [{}] {} (give it with --set {}:{}=VALUE, or accept the proposal with --rule {})",
                s.hop, s.rule, s.reason, s.hop, m.key, s.rule
            ),
            Some(m) => say!(
                "not fixed: {} [{}] {} (give it with --set {}:{}=VALUE)",
                s.hop, s.rule, s.reason, s.hop, m.key
            ),
            None => say!("not fixed: {} [{}] {}", s.hop, s.rule, s.reason),
        }
    }
    if outcome.changed.is_empty() {
        if args.format == ProbeFormat::Json {
            emit_raw(&format!("{:#}\n", json_doc(&outcome, &[], None)));
        }
        if model.errors().next().is_some() {
            // Hops inside blocks a syntax error left open get no fix: say
            // why, with the errors.
            print_load_errors(&model);
            say!("nothing to fix (no fix is offered inside a block a syntax error left open)");
        } else {
            say!("nothing to fix");
        }
        return ExitCode::from(1);
    }
    let probed = if args.probe && !crate::probe::on_network(&model) {
        say!("{}", crate::probe::DEMO_OFFLINE);
        None
    } else if args.probe {
        // `KEY=VALUE` bound to its hop, as the fix used it.
        let bound = values
            .bound(&model, &sel)
            .unwrap_or_else(|_| values.clone());
        Some(probe_before_after(args, &model, &outcome, &bound))
    } else {
        None
    };
    let exec = args.load.remote.exec.is_some();
    if args.apply && !exec {
        return apply_remote(args, &model, &outcome);
    }
    if !args.write || exec {
        if args.validate {
            if let Err(code) = validate(args, &model, &outcome.changed) {
                return code;
            }
        }
        let diff = match fix::diff::unified_bytes(&model, &outcome.changed) {
            Ok(d) => d,
            Err(e) => return fail(e),
        };
        if args.format == ProbeFormat::Json {
            let doc = json_doc(&outcome, &diff, probed.as_ref());
            emit_raw(&format!("{doc:#}\n"));
        } else if std::io::stdout().is_terminal() {
            // Shown to a person: the configuration's control characters
            // are escaped (piped, the diff keeps every byte for patch).
            emit(&String::from_utf8_lossy(&diff));
        } else {
            emit_bytes(&diff);
        }
        if exec && (args.write || args.apply) {
            return fail(EXEC_NOT_WRITTEN);
        }
        return ExitCode::SUCCESS;
    }
    if model.config.from_stdin {
        return fail(STDIN_NOT_WRITTEN);
    }
    if let Some((id, _)) = outcome
        .changed
        .iter()
        .find(|(id, _)| !model.config.file(*id).on_disk)
    {
        return fail(format_args!(
            "{} is not a file on this machine (demo or nginx -T input): use --diff and apply it with `patch -p1` in {}",
            model.config.file(*id).name,
            model.config.prefix.display()
        ));
    }
    if let Err(code) = validate(args, &model, &outcome.changed) {
        return code;
    }
    let files = fix::changed_files(&model, &outcome.changed);
    match fix::save::save_all(&files) {
        Ok(saved) => {
            for s in saved {
                say!(
                    "wrote {} (backup: {})",
                    s.path.display(),
                    s.backup.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// What `fix --probe` saw: each fixed hop's peers before and after the
/// fix, and the evidence of its `verify-off` findings (the presented
/// chain against the CA the fix names).
struct Probed {
    changes: Vec<crate::probe::before_after::PeerChange>,
    evidence: Vec<(String, &'static str, crate::diagnostic::Evidence)>,
}

/// Probes the fixed hops as nginx connects today and as it would connect
/// with the fix, and says per peer what changes.
fn probe_before_after(
    args: &FixArgs,
    model: &Model,
    outcome: &fix::Outcome,
    values: &fix::Values,
) -> Probed {
    let mut ids: Vec<String> = Vec::new();
    for a in &outcome.applied {
        if !ids.contains(&a.hop) {
            ids.push(a.hop.clone());
        }
    }
    let hops: Vec<(String, String)> = ids
        .iter()
        .filter_map(|id| {
            let after = fix::engine::ids_after(model, &outcome.after, std::slice::from_ref(id));
            after.into_iter().next().map(|a| (id.clone(), a))
        })
        .collect();
    say!(
        "probing {} as nginx would connect after the fix, and as it connects today:",
        crate::report::labels::count(hops.len(), "fixed hop")
    );
    // The policy follows where the configuration came from, not the
    // fixed model (which is held in memory).
    let files = if args.load.remote.exec.is_some() && !args.local_files {
        crate::probe::LocalFiles::command()
    } else {
        crate::probe::LocalFiles::choose(model, args.load.remote.ssh.is_some(), args.local_files)
    };
    let loaded: Vec<String> = hops.iter().map(|(b, _)| b.clone()).collect();
    let fixed: Vec<String> = hops.iter().map(|(_, a)| a.clone()).collect();
    // With --ssh both probes go through the server.
    let through = args.load.remote.target().ok().flatten();
    let before = crate::probe::prepare(model, &loaded, files)
        .through(through.clone())
        .run(crate::probe::Options::default());
    let after = crate::probe::prepare(&outcome.after, &fixed, files)
        .through(through)
        .run(crate::probe::Options::default());
    say_text(&crate::report::probe::text(&after));
    let changes = crate::probe::before_after::pair(&hops, &before, &after);
    say!("before and after the fix:");
    for c in &changes {
        say!("  {} {}: {}", visible(&c.hop), c.peer, c.line);
    }
    let findings = crate::rules::check(model);
    let mut evidence = Vec::new();
    for a in outcome.applied.iter().filter(|a| a.rule == "verify-off") {
        let found = findings
            .iter()
            .filter(|f| f.rule == a.rule && f.hop.is_some_and(|h| model.hops[h].id == a.hop))
            .find_map(|f| {
                crate::evidence::of_with(model, f, &before, values.get(&a.hop, "ca-file"))
            });
        if let Some(e) = found {
            say!("  {} [{}] {}", visible(&a.hop), a.rule, e.line());
            evidence.push((a.hop.clone(), a.rule, e));
        }
    }
    Probed { changes, evidence }
}

/// `fix --format json`: what was fixed and not, the diff, and what the
/// probe saw (with --probe).
fn json_doc(outcome: &fix::Outcome, diff: &[u8], probed: Option<&Probed>) -> serde_json::Value {
    use serde_json::json;
    let applied: Vec<_> = outcome
        .applied
        .iter()
        .map(|a| {
            json!({
                "hop": a.hop,
                "rule": a.rule,
                "summary": a.summary,
                "needs_review": a.applicability == Applicability::NeedsReview,
            })
        })
        .collect();
    let skipped: Vec<_> = outcome
        .skipped
        .iter()
        .map(|s| json!({"hop": s.hop, "rule": s.rule, "reason": s.reason}))
        .collect();
    let mut doc = json!({
        "schema": "hopscope.fix/1",
        "applied": applied,
        "skipped": skipped,
        "diff": String::from_utf8_lossy(diff),
    });
    if let Some(p) = probed {
        doc["probe"] = json!(p.changes);
        doc["evidence"] = p
            .evidence
            .iter()
            .map(|(hop, rule, e)| {
                json!({
                    "hop": hop,
                    "rule": rule,
                    "evidence": crate::report::findings::evidence_json(e),
                })
            })
            .collect();
    }
    doc
}

/// `nginx -t` on test copies of the unchanged and the fixed tree, before
/// anything is written: with --validate, and by default for --write when
/// nginx is found (--no-validate skips it). Refuses (exit 2) when the fix
/// breaks the configuration or it cannot be tested.
fn validate(
    args: &FixArgs,
    model: &Model,
    changed: &[(crate::conf::FileId, Vec<u8>)],
) -> Result<(), ExitCode> {
    if args.no_validate {
        return Ok(());
    }
    let Some(nginx) = fix::validate::find_nginx() else {
        if args.validate {
            return Err(fail(
                "--validate needs nginx (set HOPSCOPE_NGINX or install it)",
            ));
        }
        say!(
            "note: nginx was not found, so nginx -t did not check the fix (--validate requires it)"
        );
        return Ok(());
    };
    match fix::validate::before_write(model, changed, &nginx) {
        Ok(fix::validate::Verdict::Accepted { notes }) => {
            for n in notes {
                say!("note: {n}");
            }
            say!("nginx -t accepts the fixed configuration");
            Ok(())
        }
        Ok(verdict) if verdict.allows_write() => {
            say!("note: {}", verdict.describe());
            Ok(())
        }
        Ok(verdict) => Err(fail(format_args!(
            "{}; nothing was written",
            verdict.describe()
        ))),
        Err(e) => Err(fail(format_args!(
            "{e}; nothing was written (--no-validate writes without nginx -t)"
        ))),
    }
}

/// Why `--write` and `--apply` refuse an `--exec` source.
const EXEC_NOT_WRITTEN: &str = "the configuration came from an --exec command: hopscope reads through a command but never writes through one. Nothing was written; the diff to apply is on standard output (apply it where the files are, e.g. `kubectl cp`/`docker cp` a fixed file in, then `nginx -t` and a reload, or change the image or ConfigMap it comes from)";

/// `fix` options that make no sense with (or without) `--ssh`.
fn remote_fix_guard(args: &FixArgs) -> Result<(), ExitCode> {
    let ssh = args.load.remote.ssh.is_some();
    let refused = if args.apply && !ssh && args.load.remote.exec.is_some() {
        // Refused once the diff is printed (see `run`).
        None
    } else if args.apply && !ssh {
        Some("--apply writes on a server and needs --ssh HOST (for files on this machine, use --write)")
    } else if ssh && args.write {
        Some("--write saves files on this machine; with --ssh use --apply: it writes the files on the server (with backups), runs nginx -t there and rolls back if it fails")
    } else if ssh && (args.validate || args.no_validate) {
        Some("--validate and --no-validate are about nginx -t on this machine; with --ssh, --apply runs nginx -t on the server and rolls back if it fails")
    } else {
        None
    };
    match refused {
        Some(m) => Err(fail(m)),
        None => Ok(()),
    }
}

/// `fix --ssh HOST --apply [--reload]`: writes the fixed files on the
/// server, all or nothing, checked by nginx -t there.
fn apply_remote(args: &FixArgs, model: &Model, outcome: &fix::Outcome) -> ExitCode {
    let remote = match args.load.remote.target() {
        Ok(Some(r)) => r,
        Ok(None) => {
            return fail("--apply needs --ssh HOST");
        }
        Err(e) => return fail(e),
    };
    // The paths as the server names them (absolute).
    let files: Vec<_> = fix::changed_files(model, &outcome.changed)
        .into_iter()
        .map(|f| f.on_server())
        .collect();
    let host = &remote.host;
    match crate::remote::apply(&remote, &files, args.reload) {
        Ok(done) => {
            for w in &done.written {
                say!(
                    "ssh {host}: wrote {} (backup: {})",
                    visible(&w.path),
                    visible(&w.backup)
                );
            }
            say!("ssh {host}: nginx -t accepts the fixed configuration");
            match &done.reload {
                None => {
                    say!(
                        "ssh {host}: nginx was not reloaded (add --reload, or reload it yourself)"
                    );
                    ExitCode::SUCCESS
                }
                Some(Ok(_)) => {
                    say!("ssh {host}: nginx reloaded");
                    ExitCode::SUCCESS
                }
                Some(Err(e)) => fail(format_args!("ssh {host}: the fix is saved and nginx -t accepts it, but the reload failed: {e}")),
            }
        }
        // What the server said (nginx, ssh, the script), escaped.
        Err(e) => fail(e),
    }
}
