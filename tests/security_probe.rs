//! `hopscope probe` on a configuration written by someone else.
//!
//! 1. A dump (`nginx -T` output, a file or standard input) or a server's
//!    configuration over ssh names paths on *its* machine. Probing it must
//!    not present this machine's client key to a peer the dump chose, read
//!    this machine's CA files, or connect to this machine's unix sockets,
//!    unless the operator says the files are local (`--local-files`). A
//!    tree loaded from disk keeps using them.
//! 2. Every peer gets one deadline (`--timeout`) for connect, handshake and
//!    the wait after it: a peer that trickles a byte a second ends with
//!    "deadline exceeded" instead of holding the probe forever.
//! 3. What a peer presents (certificate subject, issuer) and what the
//!    configuration names (file names, peers) reach the terminal as visible
//!    escapes, never as control characters; JSON keeps them as they are.
//!
//! Everything listens on 127.0.0.1 or on a unix socket in a temporary
//! directory; every process and listener started here is stopped on drop,
//! and every hopscope run is bounded.

mod common;

use common::*;
use serde_json::Value;
use std::fs;
use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Bound of one hopscope run: a hang fails the test instead of holding it.
const RUN_BOUND: Duration = Duration::from_secs(30);

/// `openssl s_server` on 127.0.0.1, its standard output in a file; killed
/// and reaped on drop.
struct SServer {
    child: Child,
    out: PathBuf,
    port: u16,
}

impl SServer {
    fn start(dir: &Path, cert: &Path, key: &Path, extra: &[&str]) -> SServer {
        let port = free_port();
        let out = dir.join(format!("s_server-{port}.out"));
        let file = fs::File::create(&out).expect("create s_server output file");
        let child = Command::new(openssl_bin())
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
            .arg("-cert")
            .arg(cert)
            .arg("-key")
            .arg(key)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn openssl s_server");
        let server = SServer { child, out, port };
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "s_server did not listen");
            thread::sleep(Duration::from_millis(20));
        }
        // The readiness check above was one connection: let s_server finish it.
        thread::sleep(Duration::from_millis(200));
        server
    }

    fn output(&self) -> String {
        fs::read_to_string(&self.out).unwrap_or_default()
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `nginx -T` output holding one file.
fn dump(name: &str, conf: &str) -> String {
    format!("# configuration file {name}:\n{conf}\n")
}

fn probe(args: &[&str], stdin: Option<Vec<u8>>) -> HopscopeRun {
    let mut all = vec!["probe"];
    all.extend_from_slice(args);
    let run = hopscope_run(&all, stdin, RUN_BOUND);
    assert!(
        !run.timed_out,
        "hopscope probe {args:?} did not finish within {RUN_BOUND:?}\n{}\n{}",
        run.stdout, run.stderr
    );
    run
}

fn results(run: &HopscopeRun) -> Vec<Value> {
    let doc = run.json().unwrap_or_else(|e| panic!("{e}"));
    doc["results"].as_array().cloned().unwrap_or_default()
}

fn words(r: &Value) -> String {
    let mut s = r["error"].as_str().unwrap_or("").to_string();
    for n in r["notes"].as_array().into_iter().flatten() {
        s.push_str(" | ");
        s.push_str(n.as_str().unwrap_or(""));
    }
    s
}

// ---------------------------------------------------------------------------
// 1. Files and sockets named by a configuration from elsewhere
// ---------------------------------------------------------------------------

const CLIENT_CN: &str = "hopscope-local-client.test";

/// A dump naming a client certificate and key that exist on this machine,
/// against a server that requires a client certificate: this machine's key
/// is presented only with `--local-files` (or for a tree loaded from disk).
#[test]
fn dump_does_not_present_local_client_key() {
    let started = Instant::now();
    let prefix = Prefix::new("sec-client-key");
    let ca = TestCa::new(&prefix.path().join("pki"));
    let server = ca.leaf("server", &["server.test"]);
    let client = ca.leaf("client", &[CLIENT_CN]);
    let ca_path = ca.cert.display().to_string();
    let s = SServer::start(
        prefix.path(),
        &server.cert,
        &server.key,
        &["-CAfile", &ca_path, "-Verify", "1", "-tls1_3"],
    );
    // TLSv1.3 is named: nginx before 1.23.4 does not offer it by default,
    // and a tree here gets the defaults of this machine's nginx.
    let conf = format!(
        "events {{}}\nhttp {{\n  server {{\n    location / {{\n      \
         proxy_ssl_certificate {};\n      proxy_ssl_certificate_key {};\n      \
         proxy_ssl_trusted_certificate {};\n      \
         proxy_ssl_protocols TLSv1.2 TLSv1.3;\n      \
         proxy_pass https://127.0.0.1:{}/;\n    }}\n  }}\n}}\n",
        client.cert.display(),
        client.key.display(),
        ca_path,
        s.port
    );
    let dump_text = dump("/etc/nginx/nginx.conf", &conf);
    let dump_file = prefix.path().join("web1.nginx-T");
    fs::write(&dump_file, &dump_text).unwrap();
    let dump_arg = dump_file.display().to_string();

    // A dump file, no flag: no client certificate, and a note says why.
    let run = probe(&[&dump_arg, "--format", "json", "--timeout", "5"], None);
    let r = results(&run);
    assert_eq!(r.len(), 1, "{}", run.stdout);
    let w = words(&r[0]);
    assert!(
        !r[0]["connected"].as_bool().unwrap_or(true) && w.contains("client certificate"),
        "the server must refuse: no client certificate was presented: {}",
        r[0]
    );
    assert!(
        w.contains("client certificate not presented") && w.contains("--local-files"),
        "a note says the client certificate was left out and how to use it: {}",
        r[0]
    );
    assert!(
        w.contains("not read")
            && !r[0]["verification"]["against"]
                .as_str()
                .unwrap_or("")
                .contains(&ca_path),
        "the dump's CA file is not read either: {}",
        r[0]
    );
    let text = probe(&[&dump_arg, "--timeout", "5"], None);
    assert!(
        text.stdout
            .contains("note: client certificate not presented"),
        "{}",
        text.stdout
    );

    // The same dump on standard input: the same.
    let run = probe(
        &["-", "--format", "json", "--timeout", "5"],
        Some(dump_text.clone().into_bytes()),
    );
    let r = results(&run);
    assert!(
        !r[0]["connected"].as_bool().unwrap_or(true)
            && words(&r[0]).contains("client certificate not presented"),
        "{}",
        r[0]
    );
    thread::sleep(Duration::from_millis(300));
    assert!(
        !s.output().contains(CLIENT_CN),
        "s_server saw this machine's client certificate:\n{}",
        s.output()
    );

    // --local-files: the operator says the files are this machine's.
    let run = probe(
        &[
            &dump_arg,
            "--format",
            "json",
            "--timeout",
            "5",
            "--local-files",
        ],
        None,
    );
    let r = results(&run);
    assert_eq!(r[0]["connected"], true, "{}", r[0]);
    assert!(!words(&r[0]).contains("not presented"), "{}", r[0]);
    assert!(
        r[0]["verification"]["against"]
            .as_str()
            .unwrap_or("")
            .contains(&ca_path),
        "{}",
        r[0]
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !s.output().contains(CLIENT_CN) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    assert!(
        s.output().contains(CLIENT_CN),
        "with --local-files the client certificate is presented:\n{}",
        s.output()
    );

    // A tree loaded from disk keeps using its files, without the flag.
    prefix.write("nginx.conf", &conf);
    let conf_arg = prefix.conf_path().display().to_string();
    let run = probe(&[&conf_arg, "--format", "json", "--timeout", "5"], None);
    let r = results(&run);
    assert_eq!(r[0]["connected"], true, "{}", r[0]);
    assert!(started.elapsed() < Duration::from_secs(90));
}

/// A unix socket that counts the connections it accepts, until dropped.
struct UnixCounter {
    path: PathBuf,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl UnixCounter {
    fn new(path: PathBuf) -> UnixCounter {
        let listener = UnixListener::bind(&path).expect("bind unix socket");
        listener.set_nonblocking(true).expect("nonblocking");
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, st) = (Arc::clone(&accepted), Arc::clone(&stop));
        let thread = thread::spawn(move || {
            let mut held = Vec::new();
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        a.fetch_add(1, Ordering::SeqCst);
                        // Hold it open and silent; the probe times out.
                        held.push(conn);
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        UnixCounter {
            path,
            accepted,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for UnixCounter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A dump naming a unix socket (as an upstream server and as a target):
/// nothing connects to this machine's socket without `--local-files`.
#[test]
fn dump_does_not_connect_to_local_unix_sockets() {
    let prefix = Prefix::new("sec-unix");
    let sock = UnixCounter::new(prefix.path().join("upstream.sock"));
    let p = sock.path.display().to_string();
    let conf = format!(
        "events {{}}\nhttp {{\n  upstream local {{\n    server unix:{p};\n  }}\n  \
         server {{\n    location /pool {{\n      proxy_pass https://local/;\n    }}\n    \
         location /direct {{\n      proxy_pass https://unix:{p}:/;\n    }}\n  }}\n}}\n"
    );
    let dump_text = dump("/etc/nginx/nginx.conf", &conf);
    let dump_file = prefix.path().join("web1.nginx-T");
    fs::write(&dump_file, &dump_text).unwrap();
    let dump_arg = dump_file.display().to_string();

    for (label, args, stdin) in [
        ("dump file", vec![dump_arg.as_str()], None),
        (
            "standard input",
            vec!["-"],
            Some(dump_text.clone().into_bytes()),
        ),
        (
            "a plain config on standard input",
            vec!["-"],
            Some(conf.clone().into_bytes()),
        ),
    ] {
        let mut a = args.clone();
        a.extend(["--format", "json", "--timeout", "2"]);
        let run = probe(&a, stdin);
        let r = results(&run);
        assert_eq!(r.len(), 2, "{label}: {}", run.stdout);
        for x in &r {
            assert_eq!(x["probeable"], false, "{label}: {x}");
            let e = x["error"].as_str().unwrap_or("");
            assert!(
                e.contains("not probed") && e.contains("--local-files"),
                "{label}: {x}"
            );
        }
        assert_eq!(run.code, Some(0), "{label}: not probed is not a failure");
        thread::sleep(Duration::from_millis(100));
        assert_eq!(
            sock.accepted.load(Ordering::SeqCst),
            0,
            "{label}: hopscope connected to this machine's unix socket"
        );
    }

    let text = probe(&[&dump_arg, "--timeout", "2"], None);
    assert!(
        text.stdout.contains("not probeable") && text.stdout.contains("error: not probed"),
        "{}",
        text.stdout
    );
    assert_eq!(sock.accepted.load(Ordering::SeqCst), 0);

    // With --local-files both peers are contacted (and time out: the
    // socket never speaks TLS).
    let run = probe(
        &[
            &dump_arg,
            "--format",
            "json",
            "--timeout",
            "1",
            "--local-files",
        ],
        None,
    );
    let r = results(&run);
    assert_eq!(r.len(), 2, "{}", run.stdout);
    assert!(r.iter().all(|x| x["probeable"] == true), "{}", run.stdout);
    assert_eq!(sock.accepted.load(Ordering::SeqCst), 2);
}

// ---------------------------------------------------------------------------
// 2. One deadline per peer
// ---------------------------------------------------------------------------

/// A TCP listener that answers every connection with the start of a TLS
/// record, then one more byte every second, until dropped.
struct Trickle {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Trickle {
    fn new() -> Trickle {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let st = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut writers = Vec::new();
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        let st = Arc::clone(&st);
                        writers.push(thread::spawn(move || {
                            // handshake record, TLS 1.2, 16 KiB; a ServerHello
                            // of 16380 bytes: a byte a second never ends it
                            let head = [0x16u8, 0x03, 0x03, 0x40, 0x00, 0x02, 0x00, 0x3f, 0xfc];
                            let mut i = 0usize;
                            while !st.load(Ordering::Relaxed) {
                                let b = head.get(i).copied().unwrap_or(0);
                                if conn.write_all(&[b]).is_err() {
                                    return;
                                }
                                i += 1;
                                // one byte a second, stopping promptly
                                for _ in 0..10 {
                                    if st.load(Ordering::Relaxed) {
                                        return;
                                    }
                                    thread::sleep(Duration::from_millis(100));
                                }
                            }
                        }));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
            for w in writers {
                let _ = w.join();
            }
        });
        Trickle {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Trickle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A peer that sends a byte every second never lets a per-read timeout of
/// 2 s expire; the per-peer deadline ends it.
#[test]
fn trickling_peer_hits_the_deadline() {
    let trickle = Trickle::new();
    let prefix = Prefix::new("sec-trickle");
    prefix.write(
        "nginx.conf",
        &format!(
            "events {{}}\nhttp {{\n  server {{\n    location / {{\n      \
             proxy_pass https://127.0.0.1:{}/;\n    }}\n  }}\n}}\n",
            trickle.port
        ),
    );
    let conf = prefix.conf_path().display().to_string();
    let run = probe(&[&conf, "--timeout", "2", "--format", "json"], None);
    assert!(
        run.elapsed < Duration::from_secs(15),
        "one trickling peer with --timeout 2 took {:?}",
        run.elapsed
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let r = results(&run);
    assert_eq!(r.len(), 1, "{}", run.stdout);
    assert_eq!(r[0]["connected"], false, "{}", r[0]);
    let e = r[0]["error"].as_str().unwrap_or("");
    assert!(e.contains("deadline exceeded after 2 s"), "{}", r[0]);
    let ms = r[0]["millis"].as_u64().unwrap_or(u64::MAX);
    assert!(
        (1500..8000).contains(&ms),
        "the peer took {ms} ms: {}",
        r[0]
    );
    // The text says it too.
    let run = probe(&[&conf, "--timeout", "2"], None);
    assert!(
        run.stdout.contains("deadline exceeded after 2 s"),
        "{}",
        run.stdout
    );
    drop(trickle);
}

// ---------------------------------------------------------------------------
// 3. Control characters from the peer and the configuration
// ---------------------------------------------------------------------------

const ESC: char = '\u{1b}';
const RLO: char = '\u{202e}';

/// A certificate whose subject (and, self-signed, issuer) holds ESC and a
/// bidi override, and a dump whose file name holds them: the text output
/// shows escapes; the JSON keeps the characters.
#[test]
fn probe_text_escapes_peer_and_config_text() {
    let prefix = Prefix::new("sec-escape");
    let dir = prefix.path();
    let cn = format!("evil{ESC}]0;owned\u{7}{ESC}[2J{RLO}gnp.test");
    let out = Command::new(openssl_bin())
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "evil.key",
            "-out",
            "evil.crt",
            "-days",
            "2",
            "-utf8",
            "-subj",
            &format!("/CN={cn}"),
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl req");
    assert!(
        out.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = SServer::start(dir, &dir.join("evil.crt"), &dir.join("evil.key"), &[]);
    let name = format!("/etc/nginx/{ESC}[31m{RLO}evil.conf");
    let conf = format!(
        "events {{}}\nhttp {{\n  server {{\n    location / {{\n      \
         proxy_pass https://127.0.0.1:{}/;\n    }}\n  }}\n}}\n",
        s.port
    );
    let dump_text = dump(&name, &conf).into_bytes();

    // JSON: the certificate really carries the characters.
    let run = probe(
        &["-", "--format", "json", "--timeout", "5"],
        Some(dump_text.clone()),
    );
    let r = results(&run);
    assert_eq!(r.len(), 1, "{}", run.stdout);
    let subject = r[0]["chain"][0]["subject"].as_str().unwrap_or("");
    assert!(
        subject.contains(ESC) && subject.contains(RLO),
        "the test certificate must carry ESC and U+202E: {}",
        r[0]
    );
    assert!(r[0]["hop"].as_str().unwrap_or("").contains(ESC), "{}", r[0]);

    // Text: escapes, never the characters.
    let run = probe(&["-", "--timeout", "5"], Some(dump_text));
    let text = &run.stdout;
    assert!(text.contains("cert 0:"), "{text}");
    assert!(
        !text.contains(ESC) && !text.contains(RLO) && !text.bytes().any(|b| b == 0x1b),
        "control characters reach the terminal: {text:?}"
    );
    assert!(
        text.contains("evil\\x1b]0;owned\\x07\\x1b[2J\\u{202e}gnp.test"),
        "the subject is shown with visible escapes: {text}"
    );
    assert!(
        text.contains("/etc/nginx/\\x1b[31m\\u{202e}evil.conf"),
        "the file name is shown with visible escapes: {text}"
    );
    assert!(
        !run.stderr.contains(ESC) && !run.stderr.contains(RLO),
        "{:?}",
        run.stderr
    );
}
