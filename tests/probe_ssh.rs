//! `probe --ssh` probes from where nginx stands: proven with a server the
//! test's own network cannot reach except through its sshd.
//!
//! The test makes a network namespace (the "server"), joined to the
//! test's namespace by a veth pair whose only listener is sshd. In the
//! server namespace, an upstream nginx (SNI-strict: it refuses a
//! ClientHello without its name) and a peer that never answers listen on
//! the namespace's OWN 127.0.0.1, unreachable from here. The server's CA
//! lives on a tmpfs mounted only in sshd's mount namespace: the probe can
//! verify against it only by reading it on the server. Then:
//! - `probe --ssh` reaches the upstream through the server and reports
//!   what a direct probe reports of such an upstream (SNI right, absent,
//!   wrong; verification against the server's CA), says where it probed
//!   from, ends a silent peer at its deadline, reports the server's
//!   "connection refused", leaves unix sockets and client keys on the
//!   server, and `--deadline` ends the run;
//! - the same configuration probed from this machine fails to connect.
//!
//! Root, `ip netns`, `unshare`, sshd and nginx are needed: without them
//! the test prints `skipping` locally and fails under CI (env `CI`).
//! Every process is killed and the namespace deleted on drop.

mod common;
mod netns;
mod sshd;
mod tui_tmux;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// The sshd harness asks `required` as the rest of the tests do.
use common::required;
use common::{
    free_port, hopscope_run, nginx_or_skip, write_http_preamble, write_main_preamble, ConfFile,
    Prefix, TestCa,
};
use netns::{missing, Server};
use serde_json::Value;

/// The results of a `probe --format json` run, by hop location (the
/// `location` the hop is in names it: the hop id's line is its pass).
fn by_location(doc: &Value, front: &str) -> Vec<(String, Value)> {
    let lines: Vec<&str> = front.lines().collect();
    doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let id = r["hop"].as_str().unwrap_or("");
            let line: usize = id.rsplit(':').next().and_then(|n| n.parse().ok()).unwrap();
            let loc = lines[..line]
                .iter()
                .rev()
                .find_map(|l| l.trim().strip_prefix("location "))
                .unwrap_or("?")
                .trim_end_matches(" {")
                .to_string();
            (loc, r.clone())
        })
        .collect()
}

fn one<'a>(results: &'a [(String, Value)], loc: &str) -> &'a Value {
    let all: Vec<&Value> = results
        .iter()
        .filter(|(l, _)| l == loc)
        .map(|(_, r)| r)
        .collect();
    assert_eq!(all.len(), 1, "one result for {loc}: {results:#?}");
    all[0]
}

fn error(r: &Value) -> String {
    r["error"].as_str().unwrap_or("").to_string()
}

/// A CRL of `ca` that revokes `cert` (`openssl ca` with a throwaway
/// database in `dir`).
fn revoke(dir: &Path, ca: &TestCa, cert: &Path) -> PathBuf {
    let db = dir.join("crl-db");
    fs::create_dir_all(&db).unwrap();
    fs::write(db.join("index.txt"), "").unwrap();
    fs::write(db.join("crlnumber"), "01\n").unwrap();
    fs::write(
        db.join("ca.cnf"),
        format!(
            "[ca]\ndefault_ca = c\n[c]\ndatabase = {d}/index.txt\ncrlnumber = {d}/crlnumber\n\
             default_md = sha256\ndefault_crl_days = 2\n",
            d = db.display()
        ),
    )
    .unwrap();
    let out_path = dir.join("crl.pem");
    let ca_args = |extra: &[&str]| {
        let out = Command::new(common::openssl_bin())
            .arg("ca")
            .arg("-config")
            .arg(db.join("ca.cnf"))
            .arg("-keyfile")
            .arg(&ca.key)
            .arg("-cert")
            .arg(&ca.cert)
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .expect("run openssl ca");
        assert!(
            out.status.success(),
            "openssl ca {extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ca_args(&["-revoke", &cert.display().to_string()]);
    ca_args(&["-gencrl", "-out", &out_path.display().to_string()]);
    out_path
}

#[test]
fn probe_through_the_server_reaches_what_only_the_server_can() {
    if !required::required("the probe-through-ssh test", missing()) {
        return;
    }
    let Some(nginx) = nginx_or_skip() else { return };
    let nginx = nginx.display().to_string();
    let prefix = Prefix::new("probe-ssh");
    let dir = prefix.path().to_path_buf();
    let d = dir.display().to_string();

    // Keys, certificates: the upstream's leaf is for api.internal.
    let pki = dir.join("pki");
    let ca = TestCa::new(&pki);
    let leaf = ca.leaf("upstream", &["api.internal"]);
    let client = ca.leaf("client", &["client.internal"]);
    let crl = revoke(&pki, &ca, &leaf.cert);
    for k in ["host_key", "client_key"] {
        sshd::keygen(&dir.join(k));
    }
    fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
    let server_only = dir.join("server-only");
    fs::create_dir_all(&server_only).unwrap();

    let mut server = Server::new();
    let addr = server.address();
    let (up, silent, refused, trickle) = (free_port(), free_port(), free_port(), free_port());

    // The upstream, on the namespace's own loopback: SNI-strict.
    let up_prefix = dir.join("upstream");
    fs::create_dir_all(up_prefix.join("logs")).unwrap();
    fs::create_dir_all(up_prefix.join("tmp")).unwrap();
    let mut f = ConfFile::new("upstream/nginx.conf");
    write_main_preamble(&mut f);
    f.open("http");
    write_http_preamble(&mut f);
    f.line("ssl_session_tickets off;");
    f.open("server");
    f.line(format!("listen 127.0.0.1:{up} ssl default_server;"));
    f.line("ssl_reject_handshake on;");
    f.close();
    f.open("server");
    f.line(format!("listen 127.0.0.1:{up} ssl;"));
    f.line("server_name api.internal;");
    f.line(format!("ssl_certificate {};", leaf.cert.display()));
    f.line(format!("ssl_certificate_key {};", leaf.key.display()));
    f.line("return 200 ok;");
    f.close();
    f.close();
    prefix.write_conf(&f);
    let up_log = dir.join("upstream.log");
    server.spawn(
        &[
            &nginx,
            "-p",
            &up_prefix.display().to_string(),
            "-c",
            "nginx.conf",
            "-e",
            "logs/error.log",
            "-g",
            "daemon off; master_process off;",
        ],
        &up_log,
    );
    // A peer that accepts and never answers.
    let silent_log = dir.join("silent.log");
    let listen = format!(
        "my $s=IO::Socket::INET->new(LocalAddr=>'127.0.0.1',LocalPort=>{silent},Listen=>16,ReuseAddr=>1) or die $!; sleep 120"
    );
    server.spawn(&["perl", "-MIO::Socket::INET", "-e", &listen], &silent_log);
    // A peer that answers a TLS record header, then a byte of its 16 KiB
    // body every 200 ms: only a deadline on the whole peer ends it.
    let trickle_log = dir.join("trickle.log");
    let dribble = format!(
        "$|=1; my $s=IO::Socket::INET->new(LocalAddr=>'127.0.0.1',LocalPort=>{trickle},Listen=>16,ReuseAddr=>1) or die $!; \
         while (my $c=$s->accept) {{ if (!fork) {{ $c->autoflush(1); print $c \"\\x16\\x03\\x03\\x40\\x00\"; for (1..600) {{ print $c \"\\x00\" or exit; select(undef,undef,undef,0.2) }} exit }} }}"
    );
    server.spawn(
        &["perl", "-MIO::Socket::INET", "-e", &dribble],
        &trickle_log,
    );

    // sshd, with the CA on a tmpfs only its mount namespace sees.
    fs::write(
        dir.join("sshd_config"),
        format!(
            "ListenAddress {addr}\nPort 2222\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
             PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nPidFile {d}/sshd.pid\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nAllowTcpForwarding local\n\
             X11Forwarding no\nPrintMotd no\nMaxStartups 100\n"
        ),
    )
    .unwrap();
    let so = server_only.display();
    let start_sshd = format!(
        "mount -t tmpfs -o size=1m tmpfs {so} && cp {ca} {so}/ca.crt && cp {crl} {so}/crl.pem && exec /usr/sbin/sshd -D -e -f {d}/sshd_config",
        ca = ca.cert.display(),
        crl = crl.display()
    );
    let sshd_log = dir.join("sshd.log");
    if !Path::new("/run/sshd").is_dir() {
        fs::create_dir_all("/run/sshd").unwrap();
    }
    server.spawn(
        &[
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            &start_sshd,
        ],
        &sshd_log,
    );
    server.wait_listening(&format!("{addr}:2222"), "sshd", &sshd_log);
    server.wait_listening(&format!("127.0.0.1:{up}"), "the upstream nginx", &up_log);
    server.wait_listening(
        &format!("127.0.0.1:{silent}"),
        "the silent peer",
        &silent_log,
    );
    server.wait_listening(
        &format!("127.0.0.1:{trickle}"),
        "the trickling peer",
        &trickle_log,
    );
    // The CA is the server's only.
    fs::remove_file(&ca.cert).unwrap();
    fs::remove_file(&crl).unwrap();
    let server_ca = server_only.join("ca.crt");
    assert!(!server_ca.exists(), "the server's CA is not visible here");

    fs::write(
        dir.join("ssh_config"),
        format!(
            "Host web1\n  HostName {addr}\n  Port 2222\n  User root\n  IdentityFile {d}/client_key\n  \
             IdentitiesOnly yes\n  IdentityAgent none\n  StrictHostKeyChecking no\n  \
             UserKnownHostsFile /dev/null\n  GlobalKnownHostsFile /dev/null\n  LogLevel ERROR\n"
        ),
    )
    .unwrap();

    // The front nginx's configuration (read with nginx -T on the server).
    let mut f = ConfFile::new("nginx.conf");
    f.line(format!("error_log {d}/logs/error.log;"));
    f.line(format!("pid {d}/logs/nginx.pid;"));
    f.open("events");
    f.close();
    f.open("http");
    f.open("server");
    f.line("listen 127.0.0.1:8080;");
    let loc = |f: &mut ConfFile, name: &str, lines: &[String]| {
        f.open(format!("location /{name}"));
        for l in lines {
            f.line(l);
        }
        f.close();
    };
    let sni = |name: &str| {
        vec![
            "proxy_ssl_server_name on;".to_string(),
            format!("proxy_ssl_name {name};"),
        ]
    };
    let pass = |port: u16| format!("proxy_pass https://127.0.0.1:{port};");
    let mut ok = vec![pass(up)];
    ok.extend(sni("api.internal"));
    ok.push("proxy_ssl_verify on;".into());
    ok.push(format!(
        "proxy_ssl_trusted_certificate {};",
        server_ca.display()
    ));
    loc(&mut f, "ok", &ok);
    let ok_lines = ok.clone();
    let mut revoked = ok.clone();
    revoked.push(format!(
        "proxy_ssl_crl {};",
        server_only.join("crl.pem").display()
    ));
    loc(&mut f, "revoked", &revoked);
    loc(&mut f, "nosni", &[pass(up)]);
    let mut wrong = vec![pass(up)];
    wrong.extend(sni("other.internal"));
    loc(&mut f, "wrong", &wrong);
    let mut cert = vec![pass(up)];
    cert.extend(sni("api.internal"));
    cert.push(format!("proxy_ssl_certificate {};", client.cert.display()));
    cert.push(format!(
        "proxy_ssl_certificate_key {};",
        client.key.display()
    ));
    loc(&mut f, "cert", &cert);
    loc(&mut f, "silent", &[pass(silent)]);
    loc(&mut f, "trickle", &[pass(trickle)]);
    loc(&mut f, "refused", &[pass(refused)]);
    loc(
        &mut f,
        "unix",
        &["proxy_pass https://unix:/run/hopscope-nowhere.sock;".to_string()],
    );
    f.close();
    f.close();
    prefix.write_conf(&f);
    let front = f.text();
    let conf = prefix.conf_path().display().to_string();
    let ssh_config = dir.join("ssh_config").display().to_string();

    let run = |extra: &[&str]| {
        let mut args = vec![
            "probe",
            "--ssh",
            "web1",
            "--ssh-config",
            &ssh_config,
            "--nginx",
            &nginx,
            "--nginx-conf",
            &conf,
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        hopscope_run(&args, None, Duration::from_secs(60))
    };

    // Through the server.
    let started = Instant::now();
    let through = run(&["--timeout", "2"]);
    let took = started.elapsed();
    let doc = through.json().unwrap_or_else(|e| {
        panic!(
            "{e}\nsshd:\n{}",
            fs::read_to_string(&sshd_log).unwrap_or_default()
        )
    });
    assert_eq!(through.code, Some(1), "some peers fail: {}", through.stderr);
    let results = by_location(&doc, &front);
    for (_, r) in &results {
        assert_eq!(r["probed_from"], "web1", "{r:#}");
    }
    let ok = one(&results, "/ok");
    assert_eq!(ok["connected"], true, "{ok:#}");
    assert_eq!(ok["verification"]["would_pass"], true, "{ok:#}");
    let against = ok["verification"]["against"].as_str().unwrap_or("");
    assert!(
        against.contains(&format!("{} (read on web1)", server_ca.display())),
        "verified against the CA read on the server: {against}"
    );
    assert_eq!(ok["chain"][0]["sans"][0], "DNS:api.internal", "{ok:#}");

    // The CRL, read on the server too, revokes the upstream's certificate.
    let revoked = one(&results, "/revoked");
    assert_eq!(revoked["connected"], true, "{revoked:#}");
    assert_eq!(revoked["verification"]["would_pass"], false, "{revoked:#}");
    assert!(
        revoked["verification"]["problems"]
            .to_string()
            .contains("certificate revoked"),
        "{revoked:#}"
    );

    let nosni = one(&results, "/nosni");
    assert_eq!(nosni["connected"], false);
    assert!(
        error(nosni).contains("the upstream wants SNI and none was sent"),
        "{nosni:#}"
    );
    let wrong = one(&results, "/wrong");
    assert!(
        error(wrong).contains("does not serve the name sent as SNI"),
        "{wrong:#}"
    );
    let cert = one(&results, "/cert");
    assert_eq!(cert["connected"], true, "{cert:#}");
    assert!(
        cert["notes"]
            .to_string()
            .contains("its private key stays on the server"),
        "{cert:#}"
    );
    let silent_r = one(&results, "/silent");
    assert!(
        error(silent_r).contains("deadline exceeded after 2 s"),
        "{silent_r:#}"
    );
    assert!(
        silent_r["millis"].as_u64().is_some_and(|m| m < 3500),
        "{silent_r:#}"
    );
    let trickle_r = one(&results, "/trickle");
    assert!(
        error(trickle_r).contains("deadline exceeded after 2 s"),
        "{trickle_r:#}"
    );
    assert!(
        trickle_r["millis"].as_u64().is_some_and(|m| m < 3500),
        "{trickle_r:#}"
    );
    let refused_r = one(&results, "/refused");
    assert!(
        error(refused_r).contains(&format!(
            "the server cannot connect to 127.0.0.1:{refused}: "
        )),
        "{refused_r:#}"
    );
    let unix = one(&results, "/unix");
    assert_eq!(unix["probeable"], false);
    assert!(error(unix).contains("is a unix socket on web1"), "{unix:#}");
    assert!(took < Duration::from_secs(20), "{took:?}");

    // fix --probe on the server: the fixed hop (SNI added) works from there.
    let nosni_id = nosni["hop"].as_str().unwrap().to_string();
    let set = format!("{nosni_id}:sni-name=api.internal");
    let fixed = hopscope_run(
        &[
            "fix",
            "--ssh",
            "web1",
            "--ssh-config",
            &ssh_config,
            "--nginx",
            &nginx,
            "--nginx-conf",
            &conf,
            "--hop",
            &nosni_id,
            "--set",
            &set,
            "--probe",
        ],
        None,
        Duration::from_secs(60),
    );
    let said = format!("{}{}", fixed.stdout, fixed.stderr);
    assert!(said.contains("probed from web1 over ssh"), "{said}");
    assert!(
        said.lines().any(|l| l.trim_start().starts_with("ok ")
            && l.contains(&format!("127.0.0.1:{up}"))
            && l.contains("SNI api.internal")),
        "{said}"
    );

    // check --probe over ssh: the evidence comes from the server too, so
    // the hop without SNI is seen refused (from here nothing is reachable
    // and the evidence would be inconclusive).
    let checked = hopscope_run(
        &[
            "check",
            "--ssh",
            "web1",
            "--ssh-config",
            &ssh_config,
            "--nginx",
            &nginx,
            "--nginx-conf",
            &conf,
            "--probe",
            "--probe-timeout",
            "2",
            "--min-severity",
            "info",
            "--format",
            "json",
        ],
        None,
        Duration::from_secs(60),
    );
    assert!(
        checked
            .stderr
            .contains("through web1 (from the server, over ssh)"),
        "{}",
        checked.stderr
    );
    let doc: Value = serde_json::from_str(&checked.stdout).expect("check json");
    let verdicts: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["hop"] == nosni_id.as_str())
        .filter_map(|f| f["evidence"]["verdict"].as_str().map(str::to_string))
        .collect();
    assert!(
        verdicts.iter().any(|v| v == "confirmed"),
        "{verdicts:?}: {}",
        checked.stdout
    );

    // The text says where it probed from.
    let text = hopscope_run(
        &[
            "probe",
            "--ssh",
            "web1",
            "--ssh-config",
            &ssh_config,
            "--nginx",
            &nginx,
            "--nginx-conf",
            &conf,
            "--timeout",
            "1",
        ],
        None,
        Duration::from_secs(60),
    );
    assert!(
        text.stdout.starts_with("probed from web1 over ssh"),
        "{}\n{}",
        text.stdout,
        text.stderr
    );

    // One deadline for the run: one peer at a time, 5 s each, 1 s in all.
    let started = Instant::now();
    let bounded = run(&["--timeout", "5", "--concurrency", "1", "--deadline", "1"]);
    let took = started.elapsed();
    let doc = bounded.json().unwrap();
    let results = by_location(&doc, &front);
    let errors: Vec<String> = results.iter().map(|(_, r)| error(r)).collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("not probed: the run's deadline of 1 s passed")),
        "{errors:#?}"
    );
    assert!(took < Duration::from_secs(8), "{took:?}: {errors:#?}");

    // From this machine, the same configuration reaches nothing.
    let here = hopscope_run(
        &["probe", &conf, "--format", "json", "--timeout", "2"],
        None,
        Duration::from_secs(60),
    );
    let doc = here.json().unwrap();
    assert_eq!(here.code, Some(1));
    let results = by_location(&doc, &front);
    for loc in ["/ok", "/nosni", "/wrong", "/cert", "/silent"] {
        let r = one(&results, loc);
        assert_eq!(r["probed_from"], "this machine");
        assert_eq!(r["connected"], false, "{r:#}");
        assert!(
            error(r).starts_with("connection refused by 127.0.0.1:"),
            "{loc}: {r:#}"
        );
    }

    // The terminal UI's P on the server goes the same way: a configuration
    // whose one hop only the server can reach probes ok.
    if tui_tmux::tmux_or_skip() {
        let mut f = ConfFile::new("ok.conf");
        f.line(format!("error_log {d}/logs/error.log;"));
        f.line(format!("pid {d}/logs/nginx.pid;"));
        f.open("events");
        f.close();
        f.open("http");
        f.open("server");
        f.line("listen 127.0.0.1:8080;");
        loc(&mut f, "ok", &ok_lines);
        f.close();
        f.close();
        prefix.write_conf(&f);
        let ok_conf = dir.join("ok.conf").display().to_string();
        let mut cmd = tui_tmux::sh_quote(tui_tmux::hopscope());
        for a in [
            "--ssh",
            "web1",
            "--ssh-config",
            &ssh_config,
            "--nginx",
            &nginx,
            "--nginx-conf",
            &ok_conf,
        ] {
            cmd.push(' ');
            cmd.push_str(&tui_tmux::sh_quote(a));
        }
        let t = tui_tmux::Tmux::start(160, 40, &tui_tmux::wrapped(&cmd));
        t.wait_text("Hops (1)");
        t.keys(&["P"]);
        let screen = t.wait_text("(details in the hop view)");
        assert!(
            screen.contains(&format!("probe of {ok_conf}:")) && screen.contains(": ok (details"),
            "{screen}"
        );
        t.keys(&["q"]);
        t.wait_text("AFTER-0");
    }
    let _: PathBuf = dir;
}
