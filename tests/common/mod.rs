//! Shared harness for tests that run a REAL nginx on 127.0.0.1.
//!
//! Use it from a test crate with `mod common;`. Everything here is bounded:
//! nginx start waits at most [`START_TIMEOUT`], HTTP requests at most
//! [`HTTP_TIMEOUT`], and every nginx process started through [`Nginx`] is
//! killed and reaped when the value is dropped (also while a test panics).
//!
//! Only loopback (127.0.0.1) is ever listened on or connected to.
#![allow(dead_code)]

pub mod dns;
pub mod oracle;

use std::collections::HashSet;
use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

/// How long [`Nginx::start`] waits for every listen port to accept.
pub const START_TIMEOUT: Duration = Duration::from_secs(5);
/// Overall bound of one HTTP request made by [`http_request`].
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

// ---------------------------------------------------------------------------
// Finding tools
// ---------------------------------------------------------------------------

fn find_executable(name: &str, preferred: &[&str]) -> Option<PathBuf> {
    for p in preferred {
        let p = Path::new(p);
        if p.is_file() {
            return Some(p.to_path_buf());
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

pub mod required;
#[allow(unused_imports)]
pub use required::required;

fn running_in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// The nginx binary, or `None` (after printing why) when the test should be
/// skipped. In CI (env `CI` set) a missing nginx is a hard failure: CI must
/// install it.
pub fn nginx_or_skip() -> Option<PathBuf> {
    match find_executable("nginx", &["/usr/sbin/nginx"]) {
        Some(p) => Some(p),
        None if running_in_ci() => panic!(
            "nginx is not installed, but CI is set: the CI script must install nginx \
             (e.g. `apt-get install -y nginx-core` or `nginx-light`) for the real-nginx tests"
        ),
        None => {
            eprintln!("skipping: nginx not installed");
            None
        }
    }
}

/// The openssl CLI (needed by [`TestCa`]); panics with a clear message if absent.
pub fn openssl_bin() -> PathBuf {
    find_executable("openssl", &["/usr/bin/openssl"])
        .expect("the `openssl` command is required by the real-nginx test harness")
}

/// True when the test runs with effective uid 0.
pub fn is_root() -> bool {
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("Uid:")) {
            // Uid: real effective saved fs
            return line.split_whitespace().nth(2) == Some("0");
        }
    }
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------

static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A free TCP port on 127.0.0.1 (bind to port 0, read it, close). Never hands
/// out the same port twice within one test process.
pub fn free_port() -> u16 {
    let mut guard = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let seen = guard.get_or_insert_with(HashSet::new);
    for _ in 0..100 {
        let listener = TcpListener::bind((LOOPBACK, 0)).expect("bind 127.0.0.1:0 for a free port");
        let port = listener.local_addr().expect("local_addr").port();
        drop(listener);
        if seen.insert(port) {
            return port;
        }
    }
    panic!("could not find a fresh free port on 127.0.0.1");
}

// ---------------------------------------------------------------------------
// Certificates (openssl CLI)
// ---------------------------------------------------------------------------

fn run_openssl(args: &[&str], cwd: &Path) {
    let out = Command::new(openssl_bin())
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A throw-away certificate authority (EC P-256) living in a directory.
pub struct TestCa {
    pub dir: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A leaf certificate + key signed by a [`TestCa`].
pub struct LeafCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCa {
    /// Create `ca.crt` / `ca.key` in `dir` (created if missing).
    pub fn new(dir: &Path) -> TestCa {
        fs::create_dir_all(dir).expect("create pki dir");
        run_openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "2",
                "-subj",
                "/CN=hopscope test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            dir,
        );
        TestCa {
            dir: dir.to_path_buf(),
            cert: dir.join("ca.crt"),
            key: dir.join("ca.key"),
        }
    }

    /// Issue `<stem>.crt` / `<stem>.key` for the given SANs (IP literals
    /// become IP SANs, everything else DNS SANs). The first SAN is the CN.
    pub fn leaf(&self, stem: &str, sans: &[&str]) -> LeafCert {
        assert!(!sans.is_empty(), "a leaf needs at least one SAN");
        let san_list: Vec<String> = sans
            .iter()
            .map(|s| {
                if s.parse::<std::net::IpAddr>().is_ok() {
                    format!("IP:{s}")
                } else {
                    format!("DNS:{s}")
                }
            })
            .collect();
        let ext = format!(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName={}\n",
            san_list.join(",")
        );
        let ext_file = format!("{stem}.ext");
        fs::write(self.dir.join(&ext_file), ext).expect("write ext file");
        let (key, csr, crt) = (
            format!("{stem}.key"),
            format!("{stem}.csr"),
            format!("{stem}.crt"),
        );
        let subj = format!("/CN={}", sans[0]);
        run_openssl(
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &subj,
            ],
            &self.dir,
        );
        run_openssl(
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &crt,
                "-days",
                "2",
                "-extfile",
                &ext_file,
            ],
            &self.dir,
        );
        LeafCert {
            cert: self.dir.join(crt),
            key: self.dir.join(key),
        }
    }
}

impl TestCa {
    /// An intermediate CA in `dir` (`ca.crt` / `ca.key`, so [`TestCa::leaf`]
    /// issues from it), signed by this CA.
    pub fn intermediate(&self, dir: &Path, cn: &str) -> TestCa {
        fs::create_dir_all(dir).expect("create pki dir");
        let subj = format!("/CN={cn}");
        run_openssl(
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.csr",
                "-subj",
                &subj,
            ],
            dir,
        );
        fs::write(
            dir.join("ca.ext"),
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
        )
        .expect("write ext file");
        let (ca_cert, ca_key) = (
            self.cert.display().to_string(),
            self.key.display().to_string(),
        );
        let serial = dir.join("ca.srl").display().to_string();
        run_openssl(
            &[
                "x509",
                "-req",
                "-in",
                "ca.csr",
                "-CA",
                &ca_cert,
                "-CAkey",
                &ca_key,
                "-CAserial",
                &serial,
                "-CAcreateserial",
                "-out",
                "ca.crt",
                "-days",
                "2",
                "-extfile",
                "ca.ext",
            ],
            dir,
        );
        TestCa {
            dir: dir.to_path_buf(),
            cert: dir.join("ca.crt"),
            key: dir.join("ca.key"),
        }
    }

    /// Like [`TestCa::leaf`], but valid only from `not_before` to
    /// `not_after` (`YYYYMMDDHHMMSSZ`, e.g. a month in 2020 for an expired
    /// certificate). `openssl x509 -days` cannot go back in time, so this
    /// signs with `openssl ca -startdate/-enddate` and a minimal CA config.
    pub fn leaf_dated(
        &self,
        stem: &str,
        sans: &[&str],
        not_before: &str,
        not_after: &str,
    ) -> LeafCert {
        assert!(!sans.is_empty(), "a leaf needs at least one SAN");
        let san_list: Vec<String> = sans
            .iter()
            .map(|s| {
                if s.parse::<std::net::IpAddr>().is_ok() {
                    format!("IP:{s}")
                } else {
                    format!("DNS:{s}")
                }
            })
            .collect();
        let db = format!("{stem}-db");
        fs::create_dir_all(self.dir.join(&db)).expect("create ca db dir");
        fs::write(self.dir.join(&db).join("index.txt"), "").expect("write index");
        fs::write(self.dir.join(&db).join("serial"), "1000\n").expect("write serial");
        let cnf = format!(
            "[ca]\ndefault_ca = test\n[test]\ndatabase = {db}/index.txt\nserial = {db}/serial\n\
             new_certs_dir = {db}\ncertificate = ca.crt\nprivate_key = ca.key\ndefault_md = sha256\n\
             policy = any\nunique_subject = no\n[any]\ncommonName = supplied\n"
        );
        fs::write(self.dir.join(format!("{stem}.cnf")), cnf).expect("write ca config");
        let ext = format!(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName={}\n",
            san_list.join(",")
        );
        fs::write(self.dir.join(format!("{stem}.ext")), ext).expect("write ext file");
        let (key, csr, crt, cnf, ext) = (
            format!("{stem}.key"),
            format!("{stem}.csr"),
            format!("{stem}.crt"),
            format!("{stem}.cnf"),
            format!("{stem}.ext"),
        );
        let subj = format!("/CN={}", sans[0]);
        run_openssl(
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &subj,
            ],
            &self.dir,
        );
        run_openssl(
            &[
                "ca",
                "-batch",
                "-notext",
                "-config",
                &cnf,
                "-in",
                &csr,
                "-out",
                &crt,
                "-startdate",
                not_before,
                "-enddate",
                not_after,
                "-extfile",
                &ext,
            ],
            &self.dir,
        );
        LeafCert {
            cert: self.dir.join(crt),
            key: self.dir.join(key),
        }
    }
}

/// The version of an nginx binary as `nginx -v` prints it (`1.22.1`).
pub fn installed_nginx_version(bin: &Path) -> String {
    let out = Command::new(bin)
        .arg("-v")
        .stdin(Stdio::null())
        .output()
        .expect("run nginx -v");
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("nginx/"))
        .unwrap_or_else(|| panic!("cannot read the version from `nginx -v`: {text}"))
        .to_string()
}

/// How to get the stream module: `Some("")` when built in, `Some(line)`
/// with a `load_module` line when dynamic, `None` when unavailable.
pub fn stream_load_module(bin: &Path) -> Option<String> {
    let out = Command::new(bin)
        .arg("-V")
        .stdin(Stdio::null())
        .output()
        .expect("run nginx -V");
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    if text.split_whitespace().any(|w| w == "--with-stream") {
        return Some(String::new());
    }
    if !text.contains("--with-stream=dynamic") {
        return None;
    }
    [
        "/usr/lib/nginx/modules",
        "/usr/lib64/nginx/modules",
        "/usr/share/nginx/modules",
        "/etc/nginx/modules",
        "/usr/local/nginx/modules",
    ]
    .iter()
    .map(|d| Path::new(d).join("ngx_stream_module.so"))
    .find(|p| p.is_file())
    .map(|p| format!("load_module {};", p.display()))
}

// ---------------------------------------------------------------------------
// Config files with line tracking
// ---------------------------------------------------------------------------

/// An nginx config file being generated, which knows the line number of
/// every line it writes (1-based), so tests can predict `file:line` ids.
pub struct ConfFile {
    /// Path relative to the prefix (the directory of nginx.conf).
    pub rel: String,
    lines: Vec<String>,
    indent: usize,
}

impl ConfFile {
    pub fn new(rel: &str) -> ConfFile {
        ConfFile {
            rel: rel.to_string(),
            lines: Vec::new(),
            indent: 0,
        }
    }

    /// Write one line (indented to the current depth); returns its number.
    pub fn line(&mut self, text: impl AsRef<str>) -> usize {
        let text = text.as_ref();
        if text.is_empty() {
            self.lines.push(String::new());
        } else {
            self.lines
                .push(format!("{}{}", "    ".repeat(self.indent), text));
        }
        self.lines.len()
    }

    /// Write `head {` and indent; returns the line number.
    pub fn open(&mut self, head: impl AsRef<str>) -> usize {
        let n = self.line(format!("{} {{", head.as_ref()));
        self.indent += 1;
        n
    }

    /// Write `}` one level out; returns the line number.
    pub fn close(&mut self) -> usize {
        assert!(self.indent > 0, "unbalanced close in {}", self.rel);
        self.indent -= 1;
        self.line("}")
    }

    /// The number the next written line will get.
    pub fn next_line(&self) -> usize {
        self.lines.len() + 1
    }

    pub fn text(&self) -> String {
        assert_eq!(self.indent, 0, "unclosed block in {}", self.rel);
        let mut s = self.lines.join("\n");
        s.push('\n');
        s
    }

    /// The text of line `n` (1-based), trimmed.
    pub fn get(&self, n: usize) -> &str {
        self.lines.get(n - 1).map(|s| s.trim()).unwrap_or("")
    }
}

/// Main-context lines every test config needs: error log and pid inside the
/// prefix, `user root;` when running as root, a small events block. The
/// `daemon`/`master_process` switches are given on the command line by
/// [`Nginx`], so they must not appear here.
pub fn write_main_preamble(f: &mut ConfFile) {
    if is_root() {
        f.line("user root;");
    }
    f.line("worker_processes 1;");
    f.line("error_log logs/error.log info;");
    f.line("pid logs/nginx.pid;");
    f.open("events");
    f.line("worker_connections 256;");
    f.close();
}

/// http-context lines every test config needs: logs and temp paths inside
/// the prefix.
pub fn write_http_preamble(f: &mut ConfFile) {
    f.line("access_log logs/access.log;");
    f.line("default_type text/plain;");
    f.line("client_body_temp_path tmp/client_body;");
    f.line("proxy_temp_path tmp/proxy;");
    f.line("fastcgi_temp_path tmp/fastcgi;");
    f.line("uwsgi_temp_path tmp/uwsgi;");
    f.line("scgi_temp_path tmp/scgi;");
}

// ---------------------------------------------------------------------------
// Prefix directories
// ---------------------------------------------------------------------------

/// A temporary nginx prefix: `PREFIX/nginx.conf`, `logs/`, `tmp/`, `conf.d/`.
/// Removed on drop unless env `HOPSCOPE_KEEP_TMP` is set (then its path is
/// printed, for debugging).
pub struct Prefix {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl Prefix {
    pub fn new(label: &str) -> Prefix {
        let dir = tempfile::Builder::new()
            .prefix(&format!("hopscope-{label}-"))
            .tempdir()
            .expect("create temp prefix");
        let path = dir.path().to_path_buf();
        for sub in ["logs", "tmp", "conf.d"] {
            fs::create_dir_all(path.join(sub)).expect("create prefix subdir");
        }
        Prefix {
            dir: Some(dir),
            path,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn conf_path(&self) -> PathBuf {
        self.path.join("nginx.conf")
    }

    /// Write a file relative to the prefix (parent dirs created).
    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path.join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).expect("create parent dir");
        }
        fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    }

    /// Write a generated [`ConfFile`] at its `rel` path.
    pub fn write_conf(&self, f: &ConfFile) {
        self.write(&f.rel, &f.text());
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path.join(rel)).unwrap_or_default()
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        if std::env::var_os("HOPSCOPE_KEEP_TMP").is_some() {
            if let Some(dir) = self.dir.take() {
                let kept = dir.keep();
                eprintln!("kept nginx prefix {}", kept.display());
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Running nginx
// ---------------------------------------------------------------------------

fn nginx_command(bin: &Path, prefix: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg("-p")
        .arg(prefix)
        .arg("-c")
        .arg(prefix.join("nginx.conf"))
        .arg("-e")
        .arg(prefix.join("logs/error.log"))
        .arg("-g")
        .arg("daemon off; master_process off;")
        .stdin(Stdio::null());
    cmd
}

/// `nginx -t` on `PREFIX/nginx.conf`: (accepted, stderr).
pub fn nginx_test(bin: &Path, prefix: &Path) -> (bool, String) {
    let out = nginx_command(bin, prefix)
        .arg("-t")
        .output()
        .expect("run nginx -t");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `nginx -t` on a tree whose main file is `main`, named `nginx.conf`, in
/// the prefix directory that holds every path it uses: Ok, or what nginx
/// said.
pub fn nginx_t(bin: &Path, main: &Path) -> Result<(), String> {
    assert_eq!(
        main.file_name(),
        Some("nginx.conf".as_ref()),
        "{}",
        main.display()
    );
    let (accepted, said) = nginx_test(bin, main.parent().expect("a prefix directory"));
    if accepted {
        Ok(())
    } else {
        Err(said)
    }
}

/// A running nginx (single process: `daemon off; master_process off;`),
/// killed and reaped on drop.
pub struct Nginx {
    child: Option<Child>,
    pub prefix: PathBuf,
    pub ports: Vec<u16>,
}

impl Nginx {
    /// Start nginx on `PREFIX/nginx.conf` and wait (at most
    /// [`START_TIMEOUT`]) until every port in `ports` accepts on 127.0.0.1.
    pub fn start(bin: &Path, prefix: &Path, ports: &[u16]) -> Result<Nginx, String> {
        let out = fs::File::create(prefix.join("logs/nginx.stdout"))
            .map_err(|e| format!("create stdout log: {e}"))?;
        let err = fs::File::create(prefix.join("logs/nginx.stderr"))
            .map_err(|e| format!("create stderr log: {e}"))?;
        let child = nginx_command(bin, prefix)
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", bin.display()))?;
        let mut nginx = Nginx {
            child: Some(child),
            prefix: prefix.to_path_buf(),
            ports: ports.to_vec(),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let mut pending: Vec<u16> = ports.to_vec();
        while !pending.is_empty() {
            if let Some(child) = nginx.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    nginx.child = None;
                    return Err(format!(
                        "nginx exited early ({status}) in {}:\n{}",
                        prefix.display(),
                        nginx.logs()
                    ));
                }
            }
            pending.retain(|&port| {
                let addr = SocketAddr::from((LOOPBACK, port));
                TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err()
            });
            if pending.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                let logs = nginx.logs();
                nginx.stop();
                return Err(format!(
                    "nginx did not listen on {pending:?} within {START_TIMEOUT:?}:\n{logs}"
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
        Ok(nginx)
    }

    /// The error log plus anything nginx wrote to stdout/stderr.
    pub fn logs(&self) -> String {
        let read = |rel: &str| fs::read_to_string(self.prefix.join(rel)).unwrap_or_default();
        format!(
            "--- logs/error.log ---\n{}--- stderr ---\n{}--- stdout ---\n{}",
            read("logs/error.log"),
            read("logs/nginx.stderr"),
            read("logs/nginx.stdout")
        )
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Kill and reap the process (idempotent).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------
// HTTP client (std only, bounded)
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// GET `path` from 127.0.0.1:`port`; `host` sets the Host header (default
/// `127.0.0.1:PORT`).
pub fn http_get(port: u16, path: &str, host: Option<&str>) -> Result<HttpResponse, String> {
    http_request("GET", port, path, host)
}

/// One HTTP/1.1 request with `Connection: close`, bounded by [`HTTP_TIMEOUT`].
pub fn http_request(
    method: &str,
    port: u16,
    path: &str,
    host: Option<&str>,
) -> Result<HttpResponse, String> {
    let started = Instant::now();
    let addr = SocketAddr::from((LOOPBACK, port));
    let mut stream = TcpStream::connect_timeout(&addr, HTTP_TIMEOUT)
        .map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_write_timeout(Some(HTTP_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let host = host
        .map(str::to_string)
        .unwrap_or_else(|| format!("127.0.0.1:{port}"));
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         User-Agent: hopscope-tests\r\n"
    );
    if !matches!(method, "GET" | "HEAD" | "DELETE" | "OPTIONS") {
        req.push_str("Content-Length: 0\r\n");
    }
    req.push_str("\r\n");
    stream
        .write_all(req.as_bytes())
        .map_err(|e| format!("send to {addr}: {e}"))?;

    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let left = HTTP_TIMEOUT
            .checked_sub(started.elapsed())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                format!("{method} {path} on {addr}: timed out after {HTTP_TIMEOUT:?}")
            })?;
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("{method} {path} on {addr}: read: {e}")),
        }
    }
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Result<HttpResponse, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no end of headers in {:?}", String::from_utf8_lossy(raw)))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
    });
    if chunked {
        body = dechunk(&body)?;
    } else if let Some(len) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.truncate(len);
    }
    Ok(HttpResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size_str = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_str.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| format!("bad chunk size {size_str:?}: {e}"))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or(&[]);
    }
}

// ---------------------------------------------------------------------------
// Running hopscope (bounded)
// ---------------------------------------------------------------------------

/// What one bounded run of hopscope (or another command) produced.
#[derive(Debug)]
pub struct HopscopeRun {
    /// The exit code; `None` when killed (timeout or signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    pub timed_out: bool,
}

impl HopscopeRun {
    /// stdout parsed as JSON, or a message with the head of the output.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_str(&self.stdout).map_err(|e| {
            let head: String = self.stdout.chars().take(400).collect();
            format!(
                "no valid JSON on stdout ({e}):\n{head}\nstderr:\n{}",
                self.stderr
            )
        })
    }
}

/// Run `hopscope ARGS` (the binary under test), feeding `stdin` if given
/// (else /dev/null), killing it after `timeout`.
pub fn hopscope_run<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    stdin: Option<Vec<u8>>,
    timeout: Duration,
) -> HopscopeRun {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hopscope"));
    cmd.args(args);
    run_bounded(&mut cmd, stdin, timeout)
}

/// Run a command with piped output, feeding `stdin` if given (else
/// /dev/null), killing it after `timeout`.
pub fn run_bounded(cmd: &mut Command, stdin: Option<Vec<u8>>, timeout: Duration) -> HopscopeRun {
    let started = Instant::now();
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let writer = match (stdin, child.stdin.take()) {
        (Some(data), Some(mut pipe)) => Some(thread::spawn(move || {
            // A closed pipe (the child stopped reading) is not our problem.
            let _ = pipe.write_all(&data);
        })),
        _ => None,
    };
    let mut out = child.stdout.take().expect("stdout pipe");
    let mut err = child.stderr.take().expect("stderr pipe");
    let out_t = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_t = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) => {}
            Err(_) => break None,
        }
        if started.elapsed() > timeout {
            timed_out = true;
            let _ = child.kill();
            break child.wait().ok();
        }
        thread::sleep(Duration::from_millis(5));
    };
    let stdout = String::from_utf8_lossy(&out_t.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_t.join().unwrap_or_default()).into_owned();
    if let Some(w) = writer {
        let _ = w.join();
    }
    HopscopeRun {
        code: if timed_out {
            None
        } else {
            status.and_then(|s| s.code())
        },
        stdout,
        stderr,
        elapsed: started.elapsed(),
        timed_out,
    }
}

// ---------------------------------------------------------------------------
// An upstream that reports the SNI it received
// ---------------------------------------------------------------------------

/// Write an nginx config to `prefix`: a TLS http server on 127.0.0.1 at
/// each of `ports` answering every request with `sni=[$ssl_server_name]`,
/// with a certificate for `names` (DNS names, or IP literals) signed by a
/// fresh [`TestCa`]. Session tickets and cache are off: every handshake is
/// a full one, so the echoed name is the one of this connection. Returns
/// the CA certificate (for `*_ssl_verify on`).
pub fn sni_upstream(prefix: &Prefix, ports: &[u16], names: &[&str]) -> PathBuf {
    let ca = TestCa::new(&prefix.path().join("pki"));
    let leaf = ca.leaf("upstream", names);
    let mut f = ConfFile::new("nginx.conf");
    write_main_preamble(&mut f);
    f.open("http");
    write_http_preamble(&mut f);
    f.open("server");
    for p in ports {
        f.line(format!("listen 127.0.0.1:{p} ssl default_server;"));
    }
    f.line("server_name _;");
    f.line(format!("ssl_certificate {};", leaf.cert.display()));
    f.line(format!("ssl_certificate_key {};", leaf.key.display()));
    // resumed sessions report the SNI of the first handshake: no resumption
    f.line("ssl_session_tickets off;");
    f.line("ssl_session_cache off;");
    f.open("location /");
    f.line("return 200 \"sni=[$ssl_server_name]\";");
    f.close();
    f.close();
    f.close();
    prefix.write_conf(&f);
    ca.cert
}

/// The hops of a `hops --json` document by id.
pub fn hops_by_id(
    doc: &serde_json::Value,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    doc["hops"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| (h["id"].as_str().unwrap_or("?").to_string(), h.clone()))
        .collect()
}
