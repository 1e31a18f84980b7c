//! `--exec CMD`: any command that prints `nginx -T` is a source, read as
//! `--ssh` reads a server: a script, and `kubectl`/`docker` stand-ins (shell
//! scripts on a temporary PATH that print the dump only for the README's
//! recipe and fail otherwise), a failing command, and writes refused.

mod common;
mod tui_tmux;

use common::required;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{run_bounded, HopscopeRun};
use serde_json::Value;

const T: Duration = Duration::from_secs(30);
const KUBECTL: &str = "kubectl exec -n ingress-nginx deploy/ingress-nginx-controller -- nginx -T";
const DOCKER: &str = "docker exec web nginx -T";

/// The demo tree as `nginx -T` prints it: the main file first, then each
/// included file, named by its absolute path on the server.
fn demo_dump() -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
    let mut names = vec![PathBuf::from("nginx.conf")];
    let mut stack = vec![root.clone()];
    let mut others = Vec::new();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "conf") {
                let rel = p.strip_prefix(&root).unwrap().to_path_buf();
                if rel != Path::new("nginx.conf") {
                    others.push(rel);
                }
            }
        }
    }
    others.sort();
    names.extend(others);
    let mut out = Vec::new();
    for n in names {
        out.extend_from_slice(
            format!("# configuration file /etc/nginx/{}:\n", n.display()).as_bytes(),
        );
        out.extend(std::fs::read(root.join(&n)).unwrap());
        out.push(b'\n');
    }
    out
}

/// A directory with the dump, and executable scripts in `bin/`.
struct Place {
    dir: tempfile::TempDir,
}

impl Place {
    fn new() -> Place {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dump.txt"), demo_dump()).unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        Place { dir }
    }

    fn dump(&self) -> PathBuf {
        self.dir.path().join("dump.txt")
    }

    /// `bin/NAME`: prints the dump (and nginx's version line on stderr,
    /// as `nginx -v -T` does) when called with exactly `args`, else fails
    /// as the real tool does.
    fn wrapper(&self, name: &str, args: &str) {
        let script = format!(
            "#!/bin/sh\nif [ \"$*\" = '{args}' ]; then\n  echo 'nginx version: nginx/1.24.0' >&2\n  cat '{}'\n  exit 0\nfi\necho \"Error from {name}: unexpected arguments: $*\" >&2\nexit 1\n",
            self.dump().display()
        );
        let p = self.dir.path().join("bin").join(name);
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// hopscope ARGS with `bin/` first on PATH.
    fn run(&self, args: &[&str]) -> HopscopeRun {
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hopscope"));
        cmd.args(args).env("PATH", path).env_remove("NO_COLOR");
        run_bounded(&mut cmd, None, T)
    }
}

fn ids(doc: &Value) -> Vec<String> {
    doc["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_script_that_prints_a_dump_is_read_as_the_dump_itself() {
    let p = Place::new();
    let from_file = p.run(&["hops", p.dump().to_str().unwrap(), "--json"]);
    let want = from_file.json().unwrap();
    let script = format!("cat '{}'", p.dump().display());
    let run = p.run(&["hops", "--exec", &script, "--json"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let got = run.json().unwrap();
    assert!(!ids(&got).is_empty());
    assert!(
        ids(&got)[0].starts_with("/etc/nginx/"),
        "server-path ids: {:?}",
        ids(&got)
    );
    assert_eq!(ids(&got), ids(&want));
    assert_eq!(
        got["hops"], want["hops"],
        "the same hops, settings and findings"
    );
    // No version line: the default, and the note says how to get one.
    assert_eq!(got["nginx_version_source"], "default");

    // check: the same findings and exit status as the dump file.
    let a = p.run(&["check", "--exec", &script, "--format", "json"]);
    let b = p.run(&["check", p.dump().to_str().unwrap(), "--format", "json"]);
    assert_eq!(a.code, Some(1), "{}", a.stderr);
    assert_eq!(a.code, b.code);
    assert_eq!(a.json().unwrap()["findings"], b.json().unwrap()["findings"]);
}

#[test]
fn the_kubectl_and_docker_recipes_of_the_readme() {
    let p = Place::new();
    p.wrapper("kubectl", &KUBECTL["kubectl ".len()..]);
    p.wrapper("docker", &DOCKER["docker ".len()..]);
    for recipe in [KUBECTL, DOCKER] {
        let run = p.run(&["hops", "--exec", recipe, "--json"]);
        assert_eq!(run.code, Some(0), "{recipe}: {}", run.stderr);
        let doc = run.json().unwrap();
        assert_eq!(
            doc["nginx_version"], "1.24.0",
            "{recipe}: from nginx's stderr line"
        );
        assert_eq!(doc["nginx_version_source"], "server");
        assert!(ids(&doc).contains(&"/etc/nginx/conf.d/api-gateway.conf:26".to_string()));
        let check = p.run(&["check", "--exec", recipe, "--rule", "sni-off"]);
        assert_eq!(check.code, Some(1), "{}", check.stderr);
        assert!(
            check
                .stdout
                .contains("/etc/nginx/conf.d/api-gateway.conf:26"),
            "{}",
            check.stdout
        );
    }
    // The wrong pod: the stand-in fails as kubectl does; the message says
    // which command, its exit and what it printed.
    let run = p.run(&[
        "hops",
        "--exec",
        "kubectl exec -n default deploy/other -- nginx -T",
    ]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("hopscope: error: --exec `kubectl exec -n default deploy/other -- nginx -T`: the command failed (exit 1): Error from kubectl: unexpected arguments"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_failing_command_is_a_clear_error_with_its_output_escaped() {
    let p = Place::new();
    let run = p.run(&[
        "check",
        "--exec",
        "printf 'no such container: web\\033[2J\\n' >&2; exit 1",
    ]);
    assert_eq!(run.code, Some(2));
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("the command failed (exit 1): no such container: web\\x1b[2J"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains('\x1b'), "control characters escaped");
    // A program that is not there.
    let run = p.run(&["hops", "--exec", "no-such-tool-here exec web nginx -T"]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("failed (exit 127)") && run.stderr.contains("is the program on PATH?"),
        "{}",
        run.stderr
    );
    // nginx rejecting its configuration, as --ssh says it.
    let run = p.run(&[
        "hops",
        "--exec",
        "echo 'nginx: [emerg] unknown directive \"x\" in /etc/nginx/nginx.conf:3' >&2; exit 1",
    ]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr
            .contains("nginx rejects the configuration: nginx: [emerg] unknown directive"),
        "{}",
        run.stderr
    );
    // Exit 0 without a dump.
    let run = p.run(&["hops", "--exec", "echo hello"]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("printed no configuration"),
        "{}",
        run.stderr
    );
    // A command that does not end in time.
    let run = p.run(&["hops", "--exec", "sleep 20", "--exec-timeout", "0.5"]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr
            .contains("no answer within 0.5 s (raise it with --exec-timeout)"),
        "{}",
        run.stderr
    );
    // With --ssh or a path: one source only.
    let run = p.run(&["hops", "/etc/nginx", "--exec", "true"]);
    assert_eq!(run.code, Some(2));
}

#[test]
fn writes_through_a_command_are_refused_with_the_diff_to_apply() {
    let p = Place::new();
    p.wrapper("docker", &DOCKER["docker ".len()..]);
    for how in ["--write", "--apply"] {
        let run = p.run(&[
            "fix",
            "--exec",
            DOCKER,
            "--rule",
            "sni-off",
            "--hop",
            "/etc/nginx/conf.d/api-gateway.conf:26",
            how,
        ]);
        assert_eq!(run.code, Some(2), "{how}: {}", run.stderr);
        assert!(
            run.stdout
                .starts_with("diff --git a/conf.d/api-gateway.conf b/conf.d/api-gateway.conf"),
            "{how}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains("+        proxy_ssl_server_name on;")
                || run.stdout.contains("proxy_ssl_server_name on;"),
            "{}",
            run.stdout
        );
        assert!(run.stderr.contains("never writes through one. Nothing was written; the diff to apply is on standard output"), "{how}: {}", run.stderr);
    }
    // Without a write, the diff alone, exit 0.
    let run = p.run(&[
        "fix",
        "--exec",
        DOCKER,
        "--rule",
        "sni-off",
        "--hop",
        "/etc/nginx/conf.d/api-gateway.conf:26",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

#[test]
fn a_probe_over_exec_runs_here_and_says_so() {
    let p = Place::new();
    p.wrapper("docker", &DOCKER["docker ".len()..]);
    let run = p.run(&[
        "probe",
        "--exec",
        DOCKER,
        "--hop",
        "/etc/nginx/conf.d/api-gateway.conf:26",
        "--timeout",
        "0.5",
        "--format",
        "json",
    ]);
    assert!(
        run.stderr.contains(
            "note: probing from this machine, not from where `docker exec web nginx -T` runs"
        ),
        "{}",
        run.stderr
    );
    let doc = run.json().unwrap();
    assert!(!doc["results"].as_array().unwrap().is_empty());
}

#[test]
fn the_terminal_ui_refuses_to_write_through_a_command() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use hopscope::tui::action::Screen;
    use hopscope::tui::app::App;
    use hopscope::tui::keymap;
    let p = Place::new();
    let exec = hopscope::remote::Exec::new(&format!("cat '{}'", p.dump().display())).unwrap();
    let source = hopscope::jobs::Source::Exec(exec.clone());
    let model = source.load(None).unwrap();
    let mut app = App::new(model, source.label());
    app.exec = Some(exec.label());
    let id = "/etc/nginx/conf.d/intranet.conf:67";
    app.cursor = app
        .rows
        .iter()
        .position(|&h| app.model.hops[h].id == id)
        .expect(id);
    for c in ['f', ' ', 'd', 'w'] {
        if let Some(a) = keymap::action_for(
            app.screen(),
            KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
        ) {
            assert!(app.update(a).is_empty() || c != 'w');
        }
        if c == 'd' {
            assert_eq!(app.screen(), Screen::Diff, "{:?}", app.status);
        }
    }
    assert!(!app.confirm_save);
    let status = app.status.clone().unwrap().text;
    assert_eq!(
        status,
        "not saved: nothing is written through an --exec command; copy the diff with c and apply it where the files are (then nginx -t and a reload)"
    );
}

#[test]
fn the_terminal_ui_on_a_pod_reads_it_and_writes_nothing_through_it() {
    if !tui_tmux::tmux_or_skip() {
        return;
    }
    let p = Place::new();
    p.wrapper("kubectl", &KUBECTL["kubectl ".len()..]);
    let cmd = format!(
        "PATH={}:\"$PATH\" {} --exec {}",
        tui_tmux::sh_quote(p.dir.path().join("bin").to_str().unwrap()),
        tui_tmux::sh_quote(tui_tmux::hopscope()),
        tui_tmux::sh_quote(KUBECTL)
    );
    let t = tui_tmux::Tmux::start(160, 40, &tui_tmux::wrapped(&cmd));
    let screen = t.wait_text("Hops (17)");
    let header = screen.lines().next().unwrap_or("");
    assert!(
        header.contains("--exec `kubectl exec -n ingress-nginx"),
        "{screen}"
    );
    assert!(
        header.contains("nginx 1.24.0"),
        "the version nginx printed: {screen}"
    );
    tui_tmux::open_hop(&t, "conf.d/intranet.conf:67");
    t.wait_text("P: a handshake with each peer, as nginx would make it, from this machine (not where --exec runs)");
    t.key_then("f", "Space");
    t.keys(&["Space"]);
    t.key_then("d", "diff --git a/conf.d/intranet.conf");
    let screen = t.key_then(
        "w",
        "not saved: nothing is written through an --exec command;",
    );
    assert!(
        screen.contains("copy the diff with c and apply it where the files are"),
        "{screen}"
    );
    t.keys(&["q", "q", "q", "q"]);
    t.wait_text("AFTER-0");
}
