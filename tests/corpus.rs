//! The real-world corpus: configurations from public projects, each with
//! hand-judged expectations (tests/corpus/<case>/case.toml, format in the
//! README of tests/corpus).
//!
//! For every case the built binary runs `hops --json` and `check --format
//! json`, and the test asserts: no load errors beyond the judged ones;
//! every judged hop listed and every listed hop judged (matched by id:
//! `file:line`, plus `@via` when one directive is reached through several
//! include paths); the SNI right on every judged hop; every finding judged
//! worth acting on reported, every reported finding judged; on production
//! cases acted-on / reported ≥ 90 %. It prints the figures (run with
//! `--nocapture`; on failure they are also on stderr).
//!
//! Cases with `nginx = true` also run through a real nginx on loopback: a
//! copy of the tree is adapted (see corpus_support/adapt.rs), every
//! upstream address points at one TLS server that answers
//! `sni=[$ssl_server_name]`, and each judged hop with a `request` is
//! reached by that request; the SNI received must equal the judged `sni`.

#[path = "corpus_support/adapt.rs"]
mod adapt;
mod common;

use common::*;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Bound of one hopscope run.
const HOPSCOPE_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound of all real-nginx requests of the whole corpus.
const NGINX_BUDGET: Duration = Duration::from_secs(60);
/// Production cases: reported findings that are worth acting on.
const ACTED_ON_TARGET: f64 = 0.90;

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Case {
    source: String,
    paths: Vec<String>,
    commit: String,
    licence: String,
    rendered: String,
    production: bool,
    main: String,
    nginx: bool,
    #[serde(default)]
    nginx_why: String,
    #[serde(default)]
    errors: usize,
    #[serde(default)]
    #[allow(dead_code)]
    notes: String,
    #[serde(default, rename = "hop")]
    hops: Vec<JudgedHop>,
    #[serde(default, rename = "finding")]
    findings: Vec<JudgedFinding>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct JudgedHop {
    at: String,
    via: Option<String>,
    target: String,
    sni: String,
    #[allow(dead_code)]
    verify_name: Option<String>,
    #[allow(dead_code)]
    tls_when: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    possible: bool,
    request: Option<Request>,
}

/// A request that reaches a hop. `port` is the listen port of the original
/// config (default 443 with `tls`, else 80).
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
struct Request {
    #[serde(default = "localhost")]
    host: String,
    #[serde(default = "slash")]
    path: String,
    #[serde(default)]
    tls: bool,
    port: Option<u16>,
}

fn localhost() -> String {
    "localhost".into()
}

fn slash() -> String {
    "/".into()
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct JudgedFinding {
    rule: String,
    at: String,
    via: Option<String>,
    act: bool,
    #[allow(dead_code)]
    why: String,
    /// Another rule whose finding on the same hop carries this action
    /// (one problem, one finding): enough when that one is reported.
    covered_by: Option<String>,
    /// Why hopscope does not detect this yet: counted and printed as a
    /// miss, without failing the test.
    known_miss: Option<String>,
}

fn id_of(at: &str, via: &Option<String>) -> String {
    match via {
        Some(v) if !v.is_empty() => format!("{at}@{v}"),
        _ => at.to_string(),
    }
}

/// What one case measured.
#[derive(Default)]
struct Figures {
    name: String,
    production: bool,
    judged: usize,
    found: usize,
    unjudged: usize,
    sni_right: usize,
    reported: usize,
    acted_on: usize,
    act_judged: usize,
    act_missing: usize,
    /// Misses the judgement records as not detected yet.
    known_misses: Vec<String>,
    /// `proxy_set_header Host` lines the proposed fixes add for a
    /// `host-sni-mismatch` finding, and the other Host changes (0).
    host_added: usize,
    host_rewritten: usize,
    /// real nginx: hops checked, SNI as judged; None = not run
    nginx: Option<(usize, usize)>,
    noise: Vec<String>,
}

/// tests/corpus, or the directory in env `HOPSCOPE_CORPUS` (to try cases
/// being written elsewhere).
fn corpus_dir() -> PathBuf {
    match std::env::var_os("HOPSCOPE_CORPUS") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus"),
    }
}

fn load_cases() -> Vec<(String, PathBuf, Result<Case, String>)> {
    let mut out = Vec::new();
    let entries = fs::read_dir(corpus_dir()).expect("tests/corpus exists");
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.toml").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let case = fs::read_to_string(dir.join("case.toml"))
            .map_err(|e| e.to_string())
            .and_then(|t| toml::from_str::<Case>(&t).map_err(|e| e.to_string()));
        out.push((name, dir, case));
    }
    out
}

/// Mistakes in a case.toml itself: they are reported as such, so a wrong
/// line number in a judgement is not counted against hopscope.
fn case_errors(dir: &Path, c: &Case) -> Vec<String> {
    let mut e = Vec::new();
    if c.commit.len() != 40 || !c.commit.chars().all(|ch| ch.is_ascii_hexdigit()) {
        e.push(format!("commit {:?} is not 40 hex digits", c.commit));
    }
    for (what, v) in [
        ("source", &c.source),
        ("licence", &c.licence),
        ("rendered", &c.rendered),
    ] {
        if v.trim().is_empty() {
            e.push(format!("{what} is empty"));
        }
    }
    if c.paths.is_empty() {
        e.push("paths is empty".into());
    }
    if !c.nginx && c.nginx_why.trim().is_empty() {
        e.push("nginx = false without nginx_why".into());
    }
    if !dir.join(&c.main).is_file() {
        e.push(format!("main {} does not exist", c.main));
    }
    let line_of = |at: &str| -> Result<String, String> {
        let (file, line) = at
            .rsplit_once(':')
            .ok_or_else(|| format!("{at:?} is not file:line"))?;
        let n: usize = line.parse().map_err(|_| format!("{at:?}: bad line"))?;
        let text = fs::read_to_string(dir.join(file)).map_err(|_| format!("{at}: no such file"))?;
        text.lines()
            .nth(n.wrapping_sub(1))
            .map(str::to_string)
            .ok_or_else(|| format!("{at}: the file has fewer lines"))
    };
    let mut ids = BTreeSet::new();
    for h in &c.hops {
        match line_of(&h.at) {
            Ok(l) if !l.contains(&h.target) => e.push(format!(
                "hop {}: the line does not hold the target {:?}: {:?}",
                h.at,
                h.target,
                l.trim()
            )),
            Ok(_) => {}
            Err(m) => e.push(format!("hop {m}")),
        }
        if h.sni.trim().is_empty() {
            e.push(format!("hop {}: empty sni", h.at));
        }
        if !ids.insert(id_of(&h.at, &h.via)) {
            e.push(format!("hop {} judged twice", id_of(&h.at, &h.via)));
        }
    }
    let mut keys = BTreeSet::new();
    for f in &c.findings {
        if let Err(m) = line_of(&f.at) {
            e.push(format!("finding {} {m}", f.rule));
        }
        if !keys.insert((f.rule.clone(), id_of(&f.at, &f.via))) {
            e.push(format!(
                "finding {} at {} judged twice",
                f.rule,
                id_of(&f.at, &f.via)
            ));
        }
    }
    e
}

/// The SNI as the corpus writes it: a name, "none", or "per-request".
fn sni_of(hop: &Value) -> String {
    let s = &hop["sni"];
    if s["dynamic"].as_bool() == Some(true) {
        "per-request".into()
    } else if s["sent"].as_bool() != Some(true) {
        "none".into()
    } else {
        s["name"].as_str().unwrap_or("?").to_string()
    }
}

/// The judgements are made for the defaults of this nginx, whichever
/// nginx this machine has.
const JUDGED_FOR: [&str; 2] = ["--nginx-version", "1.30.4"];

fn run_json(args: &[&str]) -> Result<Value, String> {
    let args: Vec<&str> = args.iter().copied().chain(JUDGED_FOR).collect();
    let args = &args[..];
    let run = hopscope_run(args, None, HOPSCOPE_TIMEOUT);
    if run.timed_out {
        return Err(format!("hopscope {} timed out", args.join(" ")));
    }
    // exit 2 with a JSON document: a load error, reported in `errors`
    let json_with_errors = run.code == Some(2) && run.json().is_ok_and(|v| v["errors"].is_array());
    if !matches!(run.code, Some(0) | Some(1)) && !json_with_errors {
        return Err(format!(
            "hopscope {} exited {:?}: {}",
            args.join(" "),
            run.code,
            run.stderr.trim()
        ));
    }
    run.json()
}

/// Every fix hopscope proposes for the case, applied together with every
/// value given (`fix` prints their diff, and a `fixed:` line per finding
/// on standard error). A `proxy_set_header Host` someone wrote is never
/// changed; a Host line is only added by a `host-sni-mismatch` fix, which
/// says so (it replaces nginx's default `$proxy_host`, with its reason).
fn host_rewrites(name: &str, main: &str, fig: &mut Figures, bad: &mut Vec<String>) {
    // Every value a fix may ask for is given, so every fix is applied:
    // `--set HOP:KEY=VALUE` for each hop `fix` says needs one (a bare
    // `KEY=VALUE` serves only a key exactly one hop needs), until no fix
    // asks for more.
    let value_of = |key: &str| match key {
        "sni-name" => Some("corpus-check.example.net"),
        "ca-file" => Some("/etc/ssl/certs/ca-certificates.crt"),
        "client-key" => Some("/etc/nginx/client.key"),
        _ => None,
    };
    let mut sets: Vec<String> = Vec::new();
    let run = loop {
        let mut args = vec!["fix", main, JUDGED_FOR[0], JUDGED_FOR[1]];
        for s in &sets {
            args.extend(["--set", s.as_str()]);
        }
        let run = hopscope_run(&args, None, HOPSCOPE_TIMEOUT);
        let asked: Vec<String> = run
            .stderr
            .lines()
            .filter_map(|l| l.split_once("(give it with --set ")?.1.split_once("=VALUE"))
            .filter_map(|(hop_key, _)| {
                let (_, key) = hop_key.rsplit_once(':')?;
                Some(format!("{hop_key}={}", value_of(key)?))
            })
            .filter(|s| !sets.contains(s))
            .collect();
        if asked.is_empty() || sets.len() > 200 {
            break run;
        }
        sets.extend(asked);
        sets.sort();
        sets.dedup();
    };
    if run.timed_out || !matches!(run.code, Some(0) | Some(1)) {
        bad.push(format!(
            "{name}: hopscope fix exited {:?}: {}",
            run.code,
            run.stderr.trim()
        ));
        return;
    }
    // Files where a host-sni-mismatch fix was applied, as `fix` reports it.
    let asked: BTreeSet<String> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("fixed: ") && l.contains(" [host-sni-mismatch] "))
        .filter_map(|l| l["fixed: ".len()..].split(':').next().map(str::to_string))
        .collect();
    let mut file = String::new();
    for line in run.stdout.lines() {
        if let Some(f) = line.strip_prefix("+++ ") {
            file = f.trim_start_matches("b/").to_string();
            continue;
        }
        if line.starts_with("--- ") {
            continue;
        }
        let (added, body) = match (line.strip_prefix('+'), line.strip_prefix('-')) {
            (Some(b), _) => (true, b),
            (_, Some(b)) => (false, b),
            _ => continue,
        };
        let words: Vec<String> = body
            .split_whitespace()
            .take(2)
            .map(str::to_ascii_lowercase)
            .collect();
        if words.len() != 2 || words[0] != "proxy_set_header" || words[1] != "host" {
            continue;
        }
        if !added {
            fig.host_rewritten += 1;
            bad.push(format!(
                "{name}: fix changes a Host header someone wrote in {file}: {line}"
            ));
        } else if asked.contains(&file) {
            fig.host_added += 1;
        } else {
            fig.host_rewritten += 1;
            bad.push(format!(
                "{name}: fix adds a Host header in {file} that no host-sni-mismatch fix asked for: {line}"
            ));
        }
    }
}

/// Compare hopscope's output on one case with its judgement.
fn judge_case(name: &str, dir: &Path, c: &Case, bad: &mut Vec<String>) -> Figures {
    let mut fig = Figures {
        name: name.into(),
        production: c.production,
        judged: c.hops.len(),
        ..Figures::default()
    };
    let main = dir.join(&c.main);
    let main_s = main.to_string_lossy().into_owned();
    let hops = match run_json(&["hops", &main_s, "--json"]) {
        Ok(v) => v,
        Err(e) => {
            bad.push(format!("{name}: {e}"));
            return fig;
        }
    };
    let check = match run_json(&["check", &main_s, "--format", "json"]) {
        Ok(v) => v,
        Err(e) => {
            bad.push(format!("{name}: {e}"));
            return fig;
        }
    };
    host_rewrites(name, &main_s, &mut fig, bad);
    let errors = hops["errors"].as_array().cloned().unwrap_or_default();
    if errors.len() > c.errors {
        for e in &errors {
            bad.push(format!(
                "{name}: load error {}:{}: {}",
                e["file"].as_str().unwrap_or("?"),
                e["line"],
                e["message"].as_str().unwrap_or("?")
            ));
        }
    }
    // hops: by id (several listed hops may share an id today)
    let mut listed: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for h in hops["hops"].as_array().into_iter().flatten() {
        listed
            .entry(h["id"].as_str().unwrap_or("?").to_string())
            .or_default()
            .push(h);
    }
    let judged_ids: BTreeSet<String> = c.hops.iter().map(|h| id_of(&h.at, &h.via)).collect();
    for h in &c.hops {
        let id = id_of(&h.at, &h.via);
        match listed.get(&id) {
            None => bad.push(format!(
                "{name}: hop {id} ({}) not listed (judged SNI {})",
                h.target, h.sni
            )),
            Some(got) => {
                fig.found += 1;
                if got.len() > 1 {
                    bad.push(format!("{name}: hop id {id} is listed {} times", got.len()));
                }
                let sni = sni_of(got[0]);
                if sni == h.sni {
                    fig.sni_right += 1;
                } else {
                    bad.push(format!("{name}: hop {id}: SNI {sni:?}, judged {:?}", h.sni));
                }
            }
        }
    }
    for (id, got) in &listed {
        if !judged_ids.contains(id) {
            fig.unjudged += got.len();
            bad.push(format!(
                "{name}: hop {id} ({}) listed but not judged a hop",
                got[0]["target"].as_str().unwrap_or("?")
            ));
        }
    }
    // findings
    let judged: BTreeMap<(String, String), &JudgedFinding> = c
        .findings
        .iter()
        .map(|f| ((f.rule.clone(), id_of(&f.at, &f.via)), f))
        .collect();
    let mut reported_keys = BTreeSet::new();
    for f in check["findings"].as_array().into_iter().flatten() {
        if !f["suppressed"].is_null() {
            continue;
        }
        let rule = f["rule"].as_str().unwrap_or("?").to_string();
        let at = format!(
            "{}:{}",
            f["file"].as_str().unwrap_or("?"),
            f["line"].as_u64().unwrap_or(0)
        );
        let via = f["hop"]
            .as_str()
            .and_then(|h| h.split_once('@'))
            .map(|(_, v)| v.to_string());
        // judged at the line it points at, or else at its hop's pass line
        // (where a finding points may move between a setting and the pass)
        let mut key = (rule.clone(), id_of(&at, &via));
        if let Some(hop) = f["hop"].as_str() {
            let by_hop = (rule.clone(), hop.to_string());
            if !judged.contains_key(&key) && judged.contains_key(&by_hop) {
                key = by_hop;
            }
        }
        fig.reported += 1;
        reported_keys.insert(key.clone());
        match judged.get(&key) {
            Some(j) if j.act => fig.acted_on += 1,
            Some(_) => fig.noise.push(format!("{rule} {}", key.1)),
            None => {
                fig.noise.push(format!("{rule} {} (not judged)", key.1));
                bad.push(format!(
                    "{name}: finding {rule} at {} reported but not judged: {}",
                    key.1,
                    f["message"].as_str().unwrap_or("")
                ));
            }
        }
    }
    for (key, j) in &judged {
        if j.act {
            fig.act_judged += 1;
            let covered = j
                .covered_by
                .as_ref()
                .is_some_and(|other| reported_keys.contains(&(other.clone(), key.1.clone())));
            if !reported_keys.contains(key) && !covered {
                fig.act_missing += 1;
                if let Some(reason) = &j.known_miss {
                    fig.known_misses
                        .push(format!("{name}: {} at {}: {reason}", key.0, key.1));
                    continue;
                }
                bad.push(format!(
                    "{name}: finding {} at {} worth acting on is not reported ({})",
                    key.0, key.1, j.why
                ));
            }
        }
    }
    fig
}

// ---------------------------------------------------------------------------
// Real nginx
// ---------------------------------------------------------------------------

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create copy dir");
    for e in fs::read_dir(from).expect("read case dir").flatten() {
        let p = e.path();
        let dst = to.join(e.file_name());
        if p.is_dir() {
            copy_tree(&p, &dst);
        } else if e.file_name() != "case.toml" {
            fs::copy(&p, &dst).expect("copy case file");
        }
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The SNI a TLS request through nginx produced, as "none" or the name.
fn ask(req: &Request, port: u16) -> Result<String, String> {
    let body = if req.tls {
        let url = format!("https://{}:{port}{}", req.host, req.path);
        let run = run_bounded(
            Command::new("curl")
                .args(["-sk", "--max-time", "5", "--resolve"])
                .arg(format!("{}:{port}:127.0.0.1", req.host))
                .args(["-H", &format!("Host: {}", req.host)])
                .arg(&url),
            None,
            Duration::from_secs(8),
        );
        if run.code != Some(0) {
            return Err(format!("curl {url}: exit {:?} {}", run.code, run.stderr));
        }
        run.stdout
    } else {
        let r = http_request("GET", port, &req.path, Some(&req.host))?;
        r.body
    };
    match oracle_between(&body) {
        Some("") => Ok("none".into()),
        Some(s) => Ok(s.to_string()),
        None => Err(format!(
            "no SNI echo in the answer: {:?}",
            body.chars().take(160).collect::<String>()
        )),
    }
}

fn oracle_between(body: &str) -> Option<&str> {
    common::oracle::between(body, "sni=[", "]")
}

/// Run one case through real nginx; returns (checked, right).
fn nginx_case(
    bin: &Path,
    name: &str,
    dir: &Path,
    c: &Case,
    deadline: Instant,
    bad: &mut Vec<String>,
) -> (usize, usize) {
    let reqs: Vec<&JudgedHop> = c.hops.iter().filter(|h| h.request.is_some()).collect();
    let dns = common::dns::Dns::start();
    let echo_port = free_port();
    let up = Prefix::new("corpus-echo");
    // the echo's certificate names every host the case may verify against
    let tree = Prefix::new(&format!("corpus-{name}"));
    let copy = tree.path().join("case");
    copy_tree(dir, &copy);
    let mut files = Vec::new();
    walk(&copy, &mut files);
    let texts: Vec<(String, String)> = files
        .iter()
        .filter_map(|p| {
            fs::read_to_string(p)
                .ok()
                .map(|t| (p.to_string_lossy().into_owned(), t))
        })
        .collect();
    let groups = adapt::groups(&texts);
    let pki = TestCa::new(&tree.path().join("pki"));
    let leaf = pki.leaf("front", &["localhost"]);
    // the echo: its own CA; the front trusts it through *_ssl_trusted_certificate
    let mut names: BTreeSet<String> = ["localhost".to_string()].into();
    for h in &c.hops {
        for n in [Some(&h.sni), h.verify_name.as_ref()].into_iter().flatten() {
            if n != "none" && n != "per-request" && !n.is_empty() {
                names.insert(n.clone());
            }
        }
        if let Some(r) = &h.request {
            names.insert(r.host.clone());
        }
    }
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let echo_ca = sni_upstream(&up, &[echo_port], &name_refs);
    let env = adapt::Env {
        echo_port,
        dns_port: dns.port,
        server_cert: leaf.cert.to_string_lossy().into_owned(),
        server_key: leaf.key.to_string_lossy().into_owned(),
        ca_cert: echo_ca.to_string_lossy().into_owned(),
        stream_module: stream_load_module(bin).filter(|l| !l.is_empty()),
    };
    let mut adapted = adapt::Adapted::default();
    let mut added = BTreeSet::new();
    let mut ports: BTreeMap<u16, u16> = BTreeMap::new();
    let mut port_of = |p: u16| *ports.entry(p).or_insert_with(free_port);
    let main_path = copy.join(&c.main);
    let mut out: BTreeMap<PathBuf, String> = BTreeMap::new();
    for (p, t) in &texts {
        let new = adapt::adapt_file(t, &env, &groups, &mut added, &mut adapted, &mut port_of);
        out.insert(PathBuf::from(p), new);
    }
    // resolver, added upstream blocks and the stream module, in the main file
    // a resolver at the top of an included file is taken for http level
    let has_resolver = |top: &str| {
        out.values().any(|t| {
            adapt::directives(t).iter().any(|d| {
                d.name == "resolver" && (d.ctx == [top] || (top == "http" && d.ctx.is_empty()))
            })
        })
    };
    let resolver_there = [has_resolver("http"), has_resolver("stream")];
    let main_text = out.entry(main_path.clone()).or_default();
    for (i, top) in ["http", "stream"].into_iter().enumerate() {
        if !adapt::has_block(main_text, top) {
            if added.iter().any(|(ctx, _)| ctx == top) {
                bad.push(format!(
                    "{name}: nginx: no top-level {top} block in {} for the added upstreams",
                    c.main
                ));
            }
            continue;
        }
        let mut ins = String::new();
        if !resolver_there[i] {
            let _ = write!(ins, "resolver 127.0.0.1:{} ipv6=off valid=10s;", dns.port);
        }
        for (ctx, host) in &added {
            if ctx == top {
                let _ = write!(ins, " upstream {host} {{ server 127.0.0.1:{echo_port}; }}");
            }
        }
        if !ins.is_empty() && !adapt::insert_into_block(main_text, top, &ins) {
            bad.push(format!(
                "{name}: nginx: no top-level {top} block in {} to add {ins:?}",
                c.main
            ));
        }
    }
    if adapt::has_block(main_text, "stream") && !main_text.contains("ngx_stream_module") {
        if let Some(l) = &env.stream_module {
            main_text.insert_str(0, &format!("{l}\n"));
        }
    }
    for (p, t) in &out {
        fs::write(p, t).expect("write adapted file");
    }
    let prefix = main_path.parent().unwrap_or(&copy).to_path_buf();
    for sub in ["logs", "tmp"] {
        let _ = fs::create_dir_all(prefix.join(sub));
    }
    if main_path.file_name().and_then(|n| n.to_str()) != Some("nginx.conf") {
        fs::copy(&main_path, prefix.join("nginx.conf")).expect("copy main to nginx.conf");
    }
    let (ok, err) = nginx_test(bin, &prefix);
    if !ok {
        bad.push(format!(
            "{name}: nginx: the adapted copy fails nginx -t:\n{err}"
        ));
        return (0, 0);
    }
    if reqs.is_empty() {
        return (0, 0);
    }
    let mut echo = match Nginx::start(bin, up.path(), &[echo_port]) {
        Ok(n) => n,
        Err(e) => {
            bad.push(format!("{name}: nginx: the SNI echo did not start: {e}"));
            return (0, 0);
        }
    };
    let listen: Vec<u16> = ports.values().copied().collect();
    let mut front = match Nginx::start(bin, &prefix, &listen) {
        Ok(n) => n,
        Err(e) => {
            bad.push(format!(
                "{name}: nginx: the adapted copy did not start: {e}"
            ));
            return (0, 0);
        }
    };
    let (mut checked, mut right) = (0, 0);
    for h in reqs {
        let req = h.request.clone().expect("filtered");
        if Instant::now() > deadline {
            bad.push(format!(
                "{name}: nginx: request budget used up before {}",
                h.at
            ));
            break;
        }
        // without a port: 443/80, or the one port the case listens on
        let orig = req.port.unwrap_or_else(|| {
            let d = if req.tls { 443 } else { 80 };
            match ports.keys().collect::<Vec<_>>()[..] {
                [only] if !ports.contains_key(&d) => *only,
                _ => d,
            }
        });
        let Some(&port) = ports.get(&orig) else {
            bad.push(format!(
                "{name}: nginx: hop {}: no listen on port {orig} in the case",
                h.at
            ));
            continue;
        };
        checked += 1;
        match ask(&req, port) {
            Ok(sni) if sni == h.sni => right += 1,
            Ok(sni) => bad.push(format!(
                "{name}: nginx: hop {} sent SNI {sni:?}, judged {:?}",
                id_of(&h.at, &h.via),
                h.sni
            )),
            Err(e) => bad.push(format!(
                "{name}: nginx: hop {}: {e}\n{}",
                id_of(&h.at, &h.via),
                tail(&front.logs(), 1200)
            )),
        }
    }
    front.stop();
    echo.stop();
    (checked, right)
}

fn tail(s: &str, n: usize) -> String {
    let start = s.len().saturating_sub(n);
    let start = (start..s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(s.len());
    s[start..].to_string()
}

fn pct(a: usize, b: usize) -> String {
    if b == 0 {
        "-".into()
    } else {
        format!("{:.0}%", 100.0 * a as f64 / b as f64)
    }
}

fn table(figs: &[Figures]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<34} {:>4} {:>11} {:>8} {:>9} {:>13} {:>9} {:>9}",
        "case", "prod", "hops f/j", "unjudged", "SNI r/j", "acted/report", "act miss", "nginx r/c"
    );
    let mut tot = Figures::default();
    let mut prod = (0, 0);
    for f in figs {
        let ng = f
            .nginx
            .map(|(c, r)| format!("{r}/{c}"))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "{:<34} {:>4} {:>11} {:>8} {:>9} {:>13} {:>9} {:>9}",
            f.name,
            if f.production { "yes" } else { "no" },
            format!("{}/{}", f.found, f.judged),
            f.unjudged,
            format!("{}/{}", f.sni_right, f.found),
            format!("{}/{}", f.acted_on, f.reported),
            format!("{}/{}", f.act_missing, f.act_judged),
            ng
        );
        tot.judged += f.judged;
        tot.found += f.found;
        tot.unjudged += f.unjudged;
        tot.sni_right += f.sni_right;
        tot.reported += f.reported;
        tot.acted_on += f.acted_on;
        tot.act_judged += f.act_judged;
        tot.act_missing += f.act_missing;
        tot.host_added += f.host_added;
        tot.host_rewritten += f.host_rewritten;
        if let Some((c, r)) = f.nginx {
            let (c0, r0) = tot.nginx.unwrap_or((0, 0));
            tot.nginx = Some((c0 + c, r0 + r));
        }
        if f.production {
            prod.0 += f.acted_on;
            prod.1 += f.reported;
        }
    }
    let (nc, nr) = tot.nginx.unwrap_or((0, 0));
    let _ = writeln!(
        s,
        "\ncases {}; hops found/judged {}/{} ({}); listed but not judged {}; \
         SNI right {}/{} of judged ({}); findings acted-on/reported: all {}/{} ({}), \
         production {}/{} ({}); worth acting on but not reported {}/{}; \
         real nginx SNI as judged {}/{}; with every fix applied, Host headers \
         added by host-sni-mismatch {}, other Host changes {}",
        figs.len(),
        tot.found,
        tot.judged,
        pct(tot.found, tot.judged),
        tot.unjudged,
        tot.sni_right,
        tot.judged,
        pct(tot.sni_right, tot.judged),
        tot.acted_on,
        tot.reported,
        pct(tot.acted_on, tot.reported),
        prod.0,
        prod.1,
        pct(prod.0, prod.1),
        tot.act_missing,
        tot.act_judged,
        nr,
        nc,
        tot.host_added,
        tot.host_rewritten
    );
    let noise: Vec<String> = figs
        .iter()
        .flat_map(|f| f.noise.iter().map(move |n| format!("  {}: {n}", f.name)))
        .collect();
    if !noise.is_empty() {
        let _ = writeln!(
            s,
            "reported findings not worth acting on:\n{}",
            noise.join("\n")
        );
    }
    let known: Vec<String> = figs
        .iter()
        .flat_map(|f| f.known_misses.iter().map(|m| format!("  {m}")))
        .collect();
    if !known.is_empty() {
        let _ = writeln!(
            s,
            "worth acting on, not detected yet (known misses):\n{}",
            known.join("\n")
        );
    }
    s
}

#[test]
fn corpus() {
    let cases = load_cases();
    assert!(!cases.is_empty(), "no cases under tests/corpus");
    let nginx = nginx_or_skip();
    let curl_missing = (!Path::new("/usr/bin/curl").is_file()
        && std::env::var_os("PATH")
            .is_none_or(|p| !std::env::split_paths(&p).any(|d| d.join("curl").is_file())))
    .then(|| "curl is not installed (TLS requests to the adapted copy)".to_string());
    let run_nginx = nginx.is_some() && required("the corpus's real-nginx checks", curl_missing);
    let deadline = Instant::now() + NGINX_BUDGET;
    let mut bad = Vec::new();
    let mut figs = Vec::new();
    for (name, dir, case) in &cases {
        let c = match case {
            Ok(c) => c,
            Err(e) => {
                bad.push(format!("{name}: case.toml: {e}"));
                continue;
            }
        };
        let errs = case_errors(dir, c);
        let clean = errs.is_empty();
        bad.extend(errs.into_iter().map(|e| format!("{name}: case.toml: {e}")));
        let mut fig = judge_case(name, dir, c, &mut bad);
        if c.nginx && clean && run_nginx {
            if let Some(bin) = &nginx {
                fig.nginx = Some(nginx_case(bin, name, dir, c, deadline, &mut bad));
            }
        }
        figs.push(fig);
    }
    let t = table(&figs);
    println!("{t}");
    let (mut a, mut r) = (0, 0);
    for f in figs.iter().filter(|f| f.production) {
        a += f.acted_on;
        r += f.reported;
    }
    if r > 0 && (a as f64) < ACTED_ON_TARGET * r as f64 {
        bad.push(format!(
            "production cases: {a}/{r} reported findings worth acting on ({}), target {:.0}%",
            pct(a, r),
            ACTED_ON_TARGET * 100.0
        ));
    }
    if !bad.is_empty() {
        eprintln!("{t}");
        panic!(
            "{} corpus mismatch(es):\n{}",
            bad.len(),
            bad.iter()
                .map(|b| format!("- {b}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// The adaptation's claim: pointing a literal `https://HOST:PORT` target at
/// an `upstream HOST {}` block (port dropped) keeps the SNI nginx sends.
/// `localhost` resolves to 127.0.0.1 here, so the original form can run
/// unchanged next to the adapted one.
#[test]
fn adaptation_keeps_the_sni() {
    let Some(bin) = nginx_or_skip() else { return };
    if !common::oracle::localhost_is_only_127() {
        let why = "localhost does not resolve to 127.0.0.1 only".to_string();
        if !required("adaptation_keeps_the_sni", Some(why)) {
            return;
        }
    }
    let echo_port = free_port();
    let up = Prefix::new("corpus-claim-echo");
    let _ca = sni_upstream(&up, &[echo_port], &["localhost"]);
    let mut echo = Nginx::start(&bin, up.path(), &[echo_port]).expect("echo starts");
    let mut got = Vec::new();
    for (label, adapted) in [("original", false), ("adapted", true)] {
        let front = Prefix::new("corpus-claim");
        let port = free_port();
        let mut f = ConfFile::new("nginx.conf");
        write_main_preamble(&mut f);
        f.open("http");
        write_http_preamble(&mut f);
        if adapted {
            f.line(format!(
                "upstream localhost {{ server 127.0.0.1:{echo_port}; }}"
            ));
        }
        f.open("server");
        f.line(format!("listen 127.0.0.1:{port};"));
        for (path, ssl_name) in [("/a/", None), ("/b/", Some("$proxy_host"))] {
            f.open(format!("location {path}"));
            f.line("proxy_ssl_server_name on;");
            if let Some(n) = ssl_name {
                f.line(format!("proxy_ssl_name {n};"));
            }
            if adapted {
                f.line("proxy_pass https://localhost/;");
            } else {
                f.line(format!("proxy_pass https://localhost:{echo_port}/;"));
            }
            f.close();
        }
        f.close();
        f.close();
        front.write_conf(&f);
        let mut n = Nginx::start(&bin, front.path(), &[port]).expect("front starts");
        for path in ["/a/", "/b/"] {
            let body = http_get(port, path, Some("front.test"))
                .map(|r| r.body)
                .unwrap_or_else(|e| e);
            got.push(format!("{label} {path}: {body}"));
        }
        n.stop();
    }
    echo.stop();
    assert_eq!(
        got,
        vec![
            "original /a/: sni=[localhost]",
            "original /b/: sni=[localhost]",
            "adapted /a/: sni=[localhost]",
            "adapted /b/: sni=[localhost]",
        ],
        "the SNI of a literal target and of its adapted upstream form differ"
    );
}
