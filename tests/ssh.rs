//! hopscope over SSH, against a REAL OpenSSH server on 127.0.0.1.
//!
//! Each test starts its own `sshd -D -e` (Debian's `openssh-server`) as
//! root on free loopback ports, with a throwaway host key and client key in
//! a temporary directory; the client reaches it through `--ssh-config`.
//! The "remote" nginx is the local binary, given a temporary tree with
//! `--nginx-conf`. Every sshd and nginx is stopped on drop; every run is
//! bounded. Without sshd (or ssh, or root) the tests print `skipping`
//! locally and fail under CI (env `CI` set), which must install
//! `openssh-server` (and `sudo` for the `--sudo` checks).

mod common;
mod sshd;
mod tui_tmux;

// The terminal tests ask `required` as the rest of the tests do.
use common::required;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use common::{free_port, is_root, nginx_or_skip, Nginx};
use serde_json::Value;
use sshd::{hs, sudo_available, Sshd, Tree};

/// The host name the fixes give the upstreams of a tree read here
/// (`--set HOP:KEY=VALUE`, one per hop: `KEY=VALUE` is refused when two
/// hops need the key).
const SNI: &str = "nginx.conf:22:sni-name=backend.test";
const SNI_API: &str = "conf.d/api.conf:9:sni-name=backend.test";

/// A JSON document with the tree's absolute prefix removed from every string.
fn relative(doc: &str, prefix: &Path) -> Value {
    let p = format!("{}/", prefix.display());
    serde_json::from_str(&doc.replace(&p, "")).expect("JSON")
}

#[test]
fn remote_hops_equal_local_hops_and_check_exit_codes() {
    let Some(sshd) = Sshd::start(1) else { return };
    let started = Instant::now();
    let tree = Tree::new("ssh-hops");
    let conf = tree.conf();
    let local = hs(&["hops", &conf, "--json"]);
    assert_eq!(local.code, Some(0), "{}", local.stderr);
    let remote = hs(&sshd.args("web1", &["hops", "--nginx-conf", &conf, "--json"]));
    assert_eq!(remote.code, Some(0), "{}\n{}", remote.stderr, sshd.log());
    let doc: Value = serde_json::from_str(&remote.stdout).unwrap();
    assert!(
        doc["hops"][0]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with(&format!("{}/", tree.path().display()))),
        "hop ids are the server's absolute paths: {}",
        doc["hops"][0]["id"]
    );
    let (mut l, mut r) = (
        relative(&local.stdout, tree.path()),
        relative(&remote.stdout, tree.path()),
    );
    // The same nginx answers both; each says where its version came from.
    assert_eq!(r["nginx_version_source"], "server");
    assert_eq!(r["nginx_version"], l["nginx_version"]);
    for doc in [&mut l, &mut r] {
        doc.as_object_mut().unwrap().remove("nginx_version_source");
    }
    assert_eq!(l["hops"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        l, r,
        "remote hops --json equals local hops --json (modulo names)"
    );

    if sudo_available() {
        let sudo = hs(&sshd.args("web1", &["hops", "--sudo", "--nginx-conf", &conf, "--json"]));
        assert_eq!(sudo.code, Some(0), "{}", sudo.stderr);
        let mut s = relative(&sudo.stdout, tree.path());
        assert_eq!(s["nginx_version_source"], "server");
        s.as_object_mut().unwrap().remove("nginx_version_source");
        assert_eq!(s, l, "the same under sudo -n");
    }

    // check: the exit codes of a local check.
    for extra in [
        &[][..],
        &["--min-severity", "error"][..],
        &["--format", "json"][..],
    ] {
        let mut args = vec!["check", conf.as_str()];
        args.extend(extra);
        let local = hs(&args);
        let mut rargs = vec!["check", "--nginx-conf", conf.as_str()];
        rargs.extend(extra);
        let remote = hs(&sshd.args("web1", &rargs));
        assert_eq!(remote.code, local.code, "{extra:?}: {}", remote.stderr);
        if extra.contains(&"json") {
            let (mut r, mut l) = (
                relative(&remote.stdout, tree.path()),
                relative(&local.stdout, tree.path()),
            );
            assert_eq!(
                (&r["nginx_version_source"], &l["nginx_version_source"]),
                (&Value::from("server"), &Value::from("local"))
            );
            for doc in [&mut l, &mut r] {
                doc.as_object_mut().unwrap().remove("nginx_version_source");
            }
            assert_eq!(r, l);
        }
    }
    // Pools on the loopback: every finding is info there (no SNI, no
    // verification, a group label nothing uses yet).
    let high = hs(&sshd.args(
        "web1",
        &["check", "--nginx-conf", &conf, "--min-severity", "info"],
    ));
    assert_eq!(high.code, Some(1));
    assert!(
        high.stdout.contains("info[sni-upstream-name]"),
        "{}",
        high.stdout
    );
    assert!(
        high.stdout
            .contains(&format!("--> {}/nginx.conf:", tree.path().display())),
        "{}",
        high.stdout
    );
    let none = hs(&sshd.args(
        "web1",
        &["check", "--nginx-conf", &conf, "--min-severity", "error"],
    ));
    assert_eq!(none.code, Some(0), "{}", none.stderr);

    // Errors name the host and show ssh's or nginx's own message.
    let closed = free_port().to_string();
    let refused = hs(&sshd.args(
        "web1",
        &[
            "check",
            "--nginx-conf",
            &conf,
            "--ssh-option",
            &format!("Port={closed}"),
        ],
    ));
    assert_eq!(refused.code, Some(2));
    assert!(
        refused.stderr.contains(&format!(
            "ssh web1: connect to host 127.0.0.1 port {closed}: Connection refused"
        )),
        "{}",
        refused.stderr
    );
    let bad = sshd.bad_config.display().to_string();
    let denied = hs(&[
        "check",
        "--ssh",
        "web1",
        "--ssh-config",
        &bad,
        "--nginx-conf",
        &conf,
    ]);
    assert_eq!(denied.code, Some(2));
    assert!(
        denied
            .stderr
            .contains("ssh web1: Permission denied (publickey"),
        "{}",
        denied.stderr
    );
    tree.prefix
        .write("broken.conf", "events {}\nhttp { no_such_directive on; }\n");
    let broken = tree.path().join("broken.conf").display().to_string();
    let rejected = hs(&sshd.args("web1", &["check", "--nginx-conf", &broken]));
    assert_eq!(rejected.code, Some(2));
    assert!(
        rejected
            .stderr
            .contains("ssh web1: nginx rejects the configuration")
            && rejected
                .stderr
                .contains("[emerg] unknown directive \"no_such_directive\""),
        "{}",
        rejected.stderr
    );
    let missing = hs(&sshd.args("web1", &["hops", "--nginx", "/nonexistent/nginx"]));
    assert_eq!(missing.code, Some(2));
    assert!(
        missing.stderr.contains("ssh web1:") && missing.stderr.contains("--nginx"),
        "{}",
        missing.stderr
    );
    // Without a subcommand and a terminal: the hop table, from the server.
    let table = hs(&sshd.args("web1", &["--nginx-conf", &conf]));
    assert_eq!(table.code, Some(0), "{}", table.stderr);
    assert!(table.stdout.contains("conf.d/api.conf"), "{}", table.stdout);
    eprintln!("remote hops and check: {:?}", started.elapsed());
}

/// The server's nginx version arrives with its dump, over the one ssh
/// login that fetches it: here a wrapper on the server that reports a
/// version of its own and runs the real nginx for the rest.
#[test]
fn the_servers_nginx_version_comes_with_its_dump_over_one_login() {
    let Some(sshd) = Sshd::start(1) else { return };
    let Some(nginx) = nginx_or_skip() else { return };
    let tree = Tree::new("ssh-version");
    let conf = tree.conf();
    let logins = |log: &str| log.matches("Accepted publickey").count();

    let before = logins(&sshd.log());
    let real = hs(&sshd.args(
        "web1",
        &["check", "--nginx-conf", &conf, "--format", "json"],
    ));
    assert!(matches!(real.code, Some(0 | 1)), "{}", real.stderr);
    let doc: Value = serde_json::from_str(&real.stdout).unwrap();
    assert_eq!(
        doc["nginx_version"],
        common::installed_nginx_version(&nginx)
    );
    assert_eq!(doc["nginx_version_source"], "server");
    // sshd logs a login when it is accepted; give it a moment to write.
    let deadline = Instant::now() + Duration::from_secs(5);
    while logins(&sshd.log()) == before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        logins(&sshd.log()) - before,
        1,
        "one ssh login for the dump and the version:\n{}",
        sshd.log()
    );

    let wrapper = tree.path().join("server-nginx");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nfor a do shift; [ \"$a\" = -v ] && echo 'nginx version: nginx/1.24.0' >&2 || set -- \"$@\" \"$a\"; done\nexec {} \"$@\"\n",
            nginx.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
    let wrapper = wrapper.display().to_string();
    let base = ["--nginx-conf", conf.as_str(), "--nginx", wrapper.as_str()];
    let mut args = vec!["hops"];
    args.extend(base);
    let text = hs(&sshd.args("web1", &args));
    assert_eq!(text.code, Some(0), "{}", text.stderr);
    assert!(
        text.stdout
            .contains("defaults: nginx 1.24.0, from `nginx -v` on the server\n"),
        "{}",
        text.stdout
    );
    args.extend(["--json", "--nginx-version", "1.28.0"]);
    let named: Value = serde_json::from_str(&hs(&sshd.args("web1", &args)).stdout).unwrap();
    assert_eq!(
        (&named["nginx_version"], &named["nginx_version_source"]),
        (&Value::from("1.28.0"), &Value::from("option"))
    );
}

/// The nginx error log says whether nginx reloaded.
fn reloaded(tree: &Tree) -> bool {
    fs::read_to_string(tree.path().join("logs/error.log"))
        .unwrap_or_default()
        .contains("reconfiguring")
}

#[test]
fn fix_apply_writes_with_backups_and_reloads_only_when_asked() {
    let Some(sshd) = Sshd::start(1) else { return };
    let Some(nginx) = nginx_or_skip() else { return };
    let started = Instant::now();
    let tree = Tree::new("ssh-apply");
    let conf = tree.conf();
    let [sni, sni_api] = tree.remote_sets("sni-name=backend.test");
    let api = tree.path().join("conf.d/api.conf");
    // A file owned by someone else, with its own mode: both stay.
    std::os::unix::fs::chown(&api, Some(65534), Some(65534)).unwrap();
    fs::set_permissions(&api, fs::Permissions::from_mode(0o640)).unwrap();
    let running = Nginx::start(&nginx, tree.path(), &tree.ports).expect("nginx starts");
    let before = tree.snapshot();

    // Without --apply: a diff, nothing written; --write is refused.
    let diff = hs(&sshd.args(
        "web1",
        &[
            "fix",
            "--nginx-conf",
            &conf,
            "--rule",
            "sni-off",
            "--set",
            &sni,
            "--set",
            &sni_api,
        ],
    ));
    assert_eq!(diff.code, Some(0), "{}", diff.stderr);
    assert!(
        diff.stdout
            .contains("+            proxy_ssl_server_name on;"),
        "{}",
        diff.stdout
    );
    assert!(diff.stdout.contains("--- a/nginx.conf"), "{}", diff.stdout);
    let write = hs(&sshd.args("web1", &["fix", "--nginx-conf", &conf, "--write"]));
    assert_eq!(write.code, Some(2));
    assert!(write.stderr.contains("use --apply"), "{}", write.stderr);
    assert_eq!(tree.snapshot(), before);

    let applied = hs(&sshd.args(
        "web1",
        &[
            "fix",
            "--nginx-conf",
            &conf,
            "--rule",
            "sni-off",
            "--set",
            &sni,
            "--set",
            &sni_api,
            "--apply",
        ],
    ));
    assert_eq!(applied.code, Some(0), "{}\n{}", applied.stderr, sshd.log());
    let main = fs::read_to_string(tree.path().join("nginx.conf")).unwrap();
    let api_text = fs::read_to_string(&api).unwrap();
    assert!(main.contains("proxy_ssl_server_name on;"), "{main}");
    assert!(api_text.contains("proxy_ssl_server_name on;"), "{api_text}");
    for (name, old) in &before {
        let bak = tree.path().join(format!("{name}.hopscope.bak"));
        assert_eq!(&fs::read(&bak).unwrap(), old, "backup of {name}");
        assert!(
            applied
                .stderr
                .contains(&format!("wrote {}/{name} (backup: ", tree.path().display())),
            "{}",
            applied.stderr
        );
    }
    let meta = fs::metadata(&api).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (65534, 65534, 0o640)
    );
    assert!(applied
        .stderr
        .contains("nginx -t accepts the fixed configuration"));
    assert!(
        applied.stderr.contains("nginx was not reloaded"),
        "{}",
        applied.stderr
    );
    assert!(common::nginx_test(&nginx, tree.path()).0);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !reloaded(&tree),
        "no reload without --reload:\n{}",
        running.logs()
    );
    assert!(
        !tree.names().iter().any(|n| n.contains("hopscope-new")),
        "no temporary file is left: {:?}",
        tree.names()
    );

    // Once more with --reload: the next free backup name, and a reload.
    let ca = common::TestCa::new(&tree.path().join("pki"));
    let [set, set_api] = tree.remote_sets(&format!("ca-file={}", ca.cert.display()));
    let again = hs(&sshd.args(
        "web1",
        &[
            "fix",
            "--nginx-conf",
            &conf,
            "--rule",
            "verify-off",
            "--set",
            &set,
            "--set",
            &set_api,
            "--apply",
            "--reload",
        ],
    ));
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(again.stderr.contains("nginx reloaded"), "{}", again.stderr);
    assert!(
        again.stderr.contains(".hopscope.bak.1)"),
        "{}",
        again.stderr
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !reloaded(&tree) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(reloaded(&tree), "nginx reloaded:\n{}", running.logs());
    assert!(fs::read_to_string(&api)
        .unwrap()
        .contains("proxy_ssl_verify on;"));
    assert_eq!(
        fs::read(tree.path().join("conf.d/api.conf.hopscope.bak")).unwrap(),
        before
            .iter()
            .find(|(n, _)| n == "conf.d/api.conf")
            .unwrap()
            .1,
        "the first backup is never overwritten"
    );
    drop(running);
    eprintln!("fix --apply: {:?}", started.elapsed());
}

#[test]
fn fix_apply_that_nginx_rejects_is_rolled_back() {
    let Some(sshd) = Sshd::start(1) else { return };
    if nginx_or_skip().is_none() {
        return;
    }
    let tree = Tree::new("ssh-rollback");
    let conf = tree.conf();
    let [sni, sni_api] = tree.remote_sets("sni-name=backend.test");
    let ca_sets = tree.remote_sets("ca-file=/nonexistent.pem");
    let before = tree.snapshot();
    let run = hs(&sshd.args(
        "web1",
        &[
            "fix",
            "--nginx-conf",
            &conf,
            "--rule",
            "verify-off",
            "--set",
            &ca_sets[0],
            "--set",
            &ca_sets[1],
            "--set",
            &sni,
            "--set",
            &sni_api,
            "--apply",
            "--reload",
        ],
    ));
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("ssh web1: nginx -t rejects the fixed configuration"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("rolled back"), "{}", run.stderr);
    assert!(
        run.stderr.contains("[emerg]") && run.stderr.contains("/nonexistent.pem"),
        "nginx's own message: {}",
        run.stderr
    );
    assert_eq!(
        tree.snapshot(),
        before,
        "every file byte for byte, no backup, no temporary file"
    );
    assert!(!reloaded(&tree));

    // A file that changed since it was loaded: nothing is written.
    let mut remote = hopscope::remote::Remote::new("web1");
    remote.ssh_config = Some(sshd.config.clone());
    remote.nginx_conf = Some(conf.clone());
    let main = tree.path().join("nginx.conf").display().to_string();
    let api = tree.path().join("conf.d/api.conf").display().to_string();
    let main_now = fs::read(&main).unwrap();
    let files = [
        changed(&main, &main_now, b"# replaced\n"),
        changed(&api, b"what it held an hour ago", b"# replaced\n"),
    ];
    let err = hopscope::remote::apply(&remote, &files, false).unwrap_err();
    assert_eq!(err.kind, hopscope::remote::ErrorKind::Changed);
    assert!(
        err.to_string()
            .contains("conf.d/api.conf changed since it was loaded"),
        "{err}"
    );
    assert_eq!(tree.snapshot(), before);
}

#[test]
fn a_fleet_in_one_report() {
    let Some(sshd) = Sshd::start(2) else { return };
    let started = Instant::now();
    let tree = Tree::new("ssh-fleet");
    let conf = tree.conf();
    let closed = free_port();
    let inventory = tree.path().join("inventory.ini");
    fs::write(
        &inventory,
        format!(
            "# two names for one sshd, and one host that is down
[web]
web1 ansible_host=127.0.0.1 ansible_port={a}
web2 ansible_host=127.0.0.1 ansible_port={b}

[down]
web3 ansible_host=127.0.0.1 ansible_port={closed}

[web:vars]
ansible_user=root
",
            a = sshd.ports[0],
            b = sshd.ports[1]
        ),
    )
    .unwrap();
    let inv = inventory.display().to_string();
    let cfg = sshd.config.display().to_string();
    let fleet = |extra: &[&str]| {
        let mut args = vec![
            "check",
            "--ssh-hosts",
            &inv,
            "--ssh-config",
            &cfg,
            "--nginx-conf",
            &conf,
        ];
        // Pools on the loopback: every finding is info.
        if !extra.contains(&"--min-severity") {
            args.extend(["--min-severity", "info"]);
        }
        args.extend(extra);
        hs(&args)
    };
    let single = hs(&sshd.args(
        "web1",
        &[
            "check",
            "--nginx-conf",
            &conf,
            "--format",
            "json",
            "--min-severity",
            "info",
        ],
    ));
    let single: Value = serde_json::from_str(&single.stdout).unwrap();

    // Text: grouped by host, the unreachable one reported, a table at the end.
    let text = fleet(&[]);
    assert_eq!(text.code, Some(2), "{}", text.stderr);
    let out = &text.stdout;
    let (w1, w2, w3) = (
        out.find("== web1 ==").expect("web1"),
        out.find("== web2 ==").expect("web2"),
        out.find("== web3 ==").expect("web3"),
    );
    assert!(w1 < w2 && w2 < w3, "{out}");
    assert!(out[w1..w2].contains("info[sni-upstream-name]"), "{out}");
    assert!(
        out[w3..].contains(&format!(
            "error: ssh web3: connect to host 127.0.0.1 port {closed}: Connection refused"
        )),
        "{out}"
    );
    let table = &out[out.rfind("\nhost ").expect("summary table") + 1..];
    assert!(
        table.starts_with("host ") && table.contains("sni-upstream-name"),
        "{table}"
    );
    let row = |h: &str| {
        table
            .lines()
            .find(|l| l.starts_with(h))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row("web3").contains("not audited: ssh web3:"), "{table}");
    assert_eq!(
        row("web1").replace("web1", ""),
        row("web2").replace("web2", ""),
        "the same tree, the same counts"
    );
    assert!(
        table.trim_end().ends_with(&format!(
            "3 hosts: 2 audited, 1 could not be audited; {} findings",
            2 * single["findings"].as_array().unwrap().len()
        )),
        "{table}"
    );

    // JSON: one document, every host, the unreachable one with its error.
    let json = fleet(&["--format", "json"]);
    assert_eq!(json.code, Some(2));
    let doc: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(doc["schema"], "hopscope.fleet/1");
    let hosts = doc["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 3);
    for (i, name) in ["web1", "web2"].iter().enumerate() {
        assert_eq!(hosts[i]["host"], *name);
        assert_eq!(hosts[i]["error"], Value::Null);
        assert_eq!(hosts[i]["findings"], single["findings"], "{name}");
        assert_eq!(hosts[i]["nginx_version"], single["nginx_version"]);
    }
    assert_eq!(hosts[2]["host"], "web3");
    assert!(hosts[2]["error"]
        .as_str()
        .unwrap()
        .contains("Connection refused"));
    assert_eq!(hosts[2]["findings"], Value::Array(vec![]));
    assert_eq!(doc["summary"]["hosts"], 3);
    assert_eq!(doc["summary"]["failed"], 1);
    assert!(
        json.stderr.contains("ssh web3: connect to host"),
        "{}",
        json.stderr
    );

    // SARIF: one valid run; results carry their host.
    let sarif = fleet(&["--format", "sarif"]);
    assert_eq!(sarif.code, Some(2));
    let doc: Value = serde_json::from_str(&sarif.stdout).expect("JSON");
    let typed: serde_sarif::sarif::Sarif =
        serde_json::from_value(doc.clone()).expect("SARIF 2.1.0 types");
    assert_eq!(typed.runs.len(), 1);
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    let results = run["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        2 * single["findings"].as_array().unwrap().len()
    );
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let mut fingerprints = std::collections::HashSet::new();
    for r in results {
        let host = r["properties"]["host"].as_str().unwrap();
        assert!(host == "web1" || host == "web2");
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(
            uri.starts_with(&format!("ssh://{host}{}/", tree.path().display())),
            "{uri}"
        );
        assert_eq!(
            rules[r["ruleIndex"].as_u64().unwrap() as usize]["id"],
            r["ruleId"]
        );
        assert!(fingerprints.insert(r["partialFingerprints"].to_string()));
    }
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert!(notes.iter().any(|n| n["properties"]["host"] == "web3"
        && n["message"]["text"]
            .as_str()
            .unwrap()
            .contains("Connection refused")));

    // A group of reachable hosts: the exit code of the findings.
    let web = fleet(&["--ssh-group", "web", "--parallel", "1"]);
    assert_eq!(web.code, Some(1), "{}", web.stderr);
    assert!(!web.stdout.contains("web3"));
    let clean = fleet(&["--ssh-group", "web", "--min-severity", "error"]);
    assert_eq!(clean.code, Some(0), "{}", clean.stderr);
    let nogroup = fleet(&["--ssh-group", "nope"]);
    assert_eq!(nogroup.code, Some(2));
    assert!(
        nogroup.stderr.contains("no group \"nope\""),
        "{}",
        nogroup.stderr
    );
    eprintln!("fleet: {:?}", started.elapsed());
}

#[test]
fn ssh_options_that_do_not_fit_are_refused() {
    let apply = hs(&["fix", "--apply"]);
    assert_eq!(apply.code, Some(2));
    assert!(
        apply
            .stderr
            .contains("--apply writes on a server and needs --ssh"),
        "{}",
        apply.stderr
    );
    let sudo = hs(&["check", "--sudo"]);
    assert_eq!(sudo.code, Some(2));
    assert!(sudo.stderr.contains("go with --ssh"), "{}", sudo.stderr);
    let validate = hs(&["fix", "--ssh", "web1", "--validate"]);
    assert_eq!(validate.code, Some(2));
    assert!(validate
        .stderr
        .contains("--apply runs nginx -t on the server"));
    let both = hs(&["check", "/etc/nginx", "--ssh", "web1"]);
    assert_eq!(both.code, Some(2), "a path and --ssh conflict");
    let option = hs(&["check", "--ssh", "-oProxyCommand=touch /tmp/x"]);
    assert_eq!(option.code, Some(2));
    let reload = hs(&["fix", "--ssh", "web1", "--reload"]);
    assert_eq!(reload.code, Some(2), "--reload needs --apply");
}

#[test]
fn fix_write_as_root_keeps_the_owner_of_the_file() {
    let missing = (!is_root()).then(|| "changing a file's owner needs root".to_string());
    if !required("keeping the owner of a file", missing) {
        return;
    }
    let tree = Tree::new("ssh-owner");
    let api = tree.path().join("conf.d/api.conf");
    std::os::unix::fs::chown(&api, Some(65534), Some(65534)).unwrap();
    fs::set_permissions(&api, fs::Permissions::from_mode(0o640)).unwrap();
    let run = hs(&[
        "fix",
        &tree.conf(),
        "--rule",
        "sni-off",
        "--set",
        SNI,
        "--set",
        SNI_API,
        "--write",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(fs::read_to_string(&api)
        .unwrap()
        .contains("proxy_ssl_server_name on;"));
    for p in [
        api.clone(),
        tree.path().join("conf.d/api.conf.hopscope.bak"),
    ] {
        let m = fs::metadata(&p).unwrap();
        assert_eq!(
            (m.uid(), m.gid(), m.mode() & 0o7777),
            (65534, 65534, 0o640),
            "{}",
            p.display()
        );
    }
}

/// The terminal UI on `hopscope --ssh web1` for a tree, with `extra`
/// arguments, in tmux.
/// The UI on the server's tree, with the defaults of nginx 1.30.4 (the
/// findings these tests count do not depend on the server's nginx).
fn tui_on(sshd: &Sshd, tree: &Tree, extra: &[&str]) -> tui_tmux::Tmux {
    let conf = tree.conf();
    let mut args = vec!["--nginx-conf", conf.as_str(), "--nginx-version", "1.30.4"];
    args.extend_from_slice(extra);
    let mut cmd = tui_tmux::sh_quote(tui_tmux::hopscope());
    for a in sshd.args("web1", &args) {
        cmd.push(' ');
        cmd.push_str(&tui_tmux::sh_quote(&a));
    }
    let t = tui_tmux::Tmux::start(160, 40, &tui_tmux::wrapped(&cmd));
    let screen = t.wait_text("Hops (2)");
    assert!(screen.contains("ssh web1 (nginx -T)"), "{screen}");
    t
}

/// Without --nginx-version the UI's header names the server's nginx, told
/// by the same run that fetched the configuration.
#[test]
fn tui_over_ssh_names_the_servers_nginx_in_its_header() {
    if !tui_tmux::tmux_or_skip() {
        return;
    }
    let Some(sshd) = Sshd::start(1) else { return };
    let Some(nginx) = nginx_or_skip() else { return };
    let tree = Tree::new("ssh-tui-version");
    let conf = tree.conf();
    let mut cmd = tui_tmux::sh_quote(tui_tmux::hopscope());
    for a in sshd.args("web1", &["--nginx-conf", conf.as_str()]) {
        cmd.push(' ');
        cmd.push_str(&tui_tmux::sh_quote(&a));
    }
    let t = tui_tmux::Tmux::start(160, 40, &tui_tmux::wrapped(&cmd));
    let screen = t.wait_text("Hops (2)");
    let version = common::installed_nginx_version(&nginx);
    let header = screen.lines().next().unwrap_or("");
    assert!(
        header.ends_with(&format!("│ nginx {version} (server's nginx -v)")),
        "{screen}"
    );
    t.keys(&["q"]);
    t.wait_text("AFTER-0");
}

/// In the UI: every fix of the api.conf hop, with the host name typed, up
/// to the question whether to write it; returns the diff shown.
fn pick_fixes_of_api_hop(t: &tui_tmux::Tmux) -> String {
    t.key_then("/", "Enter keep");
    t.type_text("api.conf");
    t.wait_text("(1/2)");
    t.keys(&["Enter"]);
    // A pool on the server's loopback: nothing is high, so nothing
    // starts selected; take all three.
    t.key_then("f", "Fixes (0 selected of 3)");
    t.keys(&["Space"]);
    t.wait_text("Fixes (1 selected of 3)");
    t.keys(&["j", "Space"]);
    t.wait_text("Fixes (2 selected of 3)");
    t.keys(&["j", "Space"]);
    t.wait_text("Fixes (3 selected of 3)");
    t.keys(&["k", "k"]);
    t.key_then("e", "Type the value");
    t.type_text("backend.test");
    t.key_then("Enter", "value set");
    let screen = t.key_then("d", "Diff · 1 file(s)");
    let diff = tui_tmux::copy_diff(t, &screen);
    let screen = t.key_then("w", "Write 1 file(s) on web1?");
    assert!(
        screen.contains("On the server: a backup of each"),
        "{screen}"
    );
    diff
}

/// The terminal UI over SSH: a fix picked on screen is written on the
/// server (backup, nginx -t), and the UI reloads from the server.
#[test]
fn tui_over_ssh_writes_on_the_server_and_reloads_from_it() {
    if !tui_tmux::tmux_or_skip() {
        return;
    }
    let Some(sshd) = Sshd::start(1) else { return };
    let tree = Tree::new("ssh-tui");
    let api = tree.path().join("conf.d/api.conf");
    let original = fs::read_to_string(&api).unwrap();
    let t = tui_on(&sshd, &tree, &[]);
    let diff = pick_fixes_of_api_hop(&t);
    t.keys(&["y"]);
    // Written on the server, then loaded again from it (nginx -T there).
    let screen = t.wait_text("findings:");
    let api_path = api.display().to_string();
    assert!(
        screen.contains(&format!(
            "saved {api_path} on web1 (backup .hopscope.bak, nginx -t ok, nginx not reloaded); findings: 6 → 4"
        )),
        "{screen}"
    );
    let fixed = tui_tmux::apply_diff(&original, &diff);
    assert_eq!(fs::read_to_string(&api).unwrap(), fixed);
    assert_eq!(
        fs::read_to_string(format!("{api_path}.hopscope.bak")).unwrap(),
        original
    );
    assert!(fixed.contains("proxy_ssl_name backend.test;"), "{fixed}");
    // `r` asks the server again: a change made there since shows (here
    // the fix taken back by hand).
    t.key_then("Escape", "Hops (2)");
    fs::write(&api, &original).unwrap();
    let screen = t.key_then("r", "reloaded");
    assert!(screen.contains("reloaded; findings: 4 → 6"), "{screen}");
    t.keys(&["q"]);
    t.wait_text("AFTER-0");
    tui_tmux::assert_terminal_usable(&t);
}

/// Quitting while a write on the server runs waits for it: the person
/// sees that it does, and the file is complete when the UI is gone.
#[test]
fn quitting_during_a_write_on_the_server_waits_for_it() {
    if !tui_tmux::tmux_or_skip() {
        return;
    }
    let Some(sshd) = Sshd::start(1) else { return };
    let tree = Tree::new("ssh-tui-quit");
    let api = tree.path().join("conf.d/api.conf");
    let original = fs::read_to_string(&api).unwrap();
    // An nginx that takes two seconds for anything, `nginx -t` included.
    let slow = tree.path().join("slow-nginx");
    fs::write(&slow, "#!/bin/sh\nsleep 2\nexec nginx \"$@\"\n").unwrap();
    fs::set_permissions(&slow, fs::Permissions::from_mode(0o755)).unwrap();
    let slow = slow.display().to_string();
    let t = tui_on(&sshd, &tree, &["--nginx", &slow]);
    let diff = pick_fixes_of_api_hop(&t);
    t.keys(&["y"]);
    t.wait_text("writing on web1");
    t.keys(&["q"]);
    t.wait_text("finishing the write on web1 before quitting");
    t.wait_text("AFTER-0");
    assert_eq!(
        fs::read_to_string(&api).unwrap(),
        tui_tmux::apply_diff(&original, &diff)
    );
    tui_tmux::assert_terminal_usable(&t);
}

fn changed(path: &str, loaded: &[u8], new: &[u8]) -> hopscope::changed::ChangedFile<String> {
    hopscope::changed::ChangedFile {
        name: path.to_string(),
        path: path.to_string(),
        loaded: loaded.to_vec(),
        new: new.to_vec(),
    }
}
