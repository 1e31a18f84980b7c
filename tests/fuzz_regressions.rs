//! The fuzz targets' checks in the normal test suite: every seed under
//! fuzz/seeds/<target>/ and every input a fuzzer found a bug with (below,
//! minimised, with what was wrong) is run through the same check the fuzz
//! target runs (tests/fuzz_checks/mod.rs), so a fixed bug stays fixed
//! without cargo-fuzz.

mod fuzz_checks;

use std::path::Path;
use std::time::{Duration, Instant};

/// Bound for one check of one input, in a debug build.
const PER_INPUT: Duration = Duration::from_secs(20);

type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 5] = [
    ("lexer_parser", fuzz_checks::lexer_parser),
    ("dump", fuzz_checks::dump),
    ("loader", fuzz_checks::loader),
    ("model_rules", fuzz_checks::model_rules),
    ("fix", fuzz_checks::fix),
];

fn check(name: &str, f: Check, input: &[u8]) {
    let t = Instant::now();
    f(input);
    assert!(
        t.elapsed() < PER_INPUT,
        "{name}: took {:?} (bound {PER_INPUT:?})",
        t.elapsed()
    );
}

/// Runs `input` through every target's check.
fn all(input: &[u8]) {
    for (name, f) in TARGETS {
        check(name, f, input);
    }
}

#[test]
fn seeds_pass_their_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let mut n = 0;
    for (name, f) in TARGETS {
        let dir = root.join(name);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        assert!(!entries.is_empty(), "no seeds in {}", dir.display());
        for p in entries {
            let bytes = std::fs::read(&p).expect("read seed");
            let t = Instant::now();
            let r = std::panic::catch_unwind(|| f(&bytes));
            assert!(r.is_ok(), "{name}: seed {} fails its check", p.display());
            assert!(
                t.elapsed() < PER_INPUT,
                "{name}: seed {} took {:?}",
                p.display(),
                t.elapsed()
            );
            n += 1;
        }
    }
    eprintln!("{n} seeds checked");
}

#[test]
fn the_diff_applier_of_the_checks_works() {
    use std::collections::BTreeMap;
    let mut files = BTreeMap::new();
    files.insert("a.conf".to_string(), b"one\ntwo\nthree".to_vec());
    let diff = b"diff --git a/a.conf b/a.conf\n--- a/a.conf\n+++ b/a.conf\n@@ -2,2 +2,3 @@\n two\n-three\n\\ No newline at end of file\n+three\n+four\n";
    let order = fuzz_checks::apply_unified(diff, &mut files).expect("applies");
    assert_eq!(order, ["a.conf"]);
    assert_eq!(files["a.conf"], b"one\ntwo\nthree\nfour\n");
    let bad = b"diff --git a/a.conf b/a.conf\n--- a/a.conf\n+++ b/a.conf\n@@ -1 +1 @@\n-nope\n+x\n";
    assert!(fuzz_checks::apply_unified(bad, &mut files).is_err());
}

// ---------------------------------------------------------------------------
// Inputs the fuzzers found (minimised). Each names the target that found
// it, what broke, and the fix.
// ---------------------------------------------------------------------------

/// Found by `fix` (and `loader`-shaped input): two files of a tree name
/// the same file once normalized (`stream.d/x.conf` twice here; in a dump,
/// `/etc/nginx/./a.conf` and `/etc/nginx/a.conf`). `MemFiles` kept both,
/// so the glob `stream.d/*` matched the file twice and its hops were
/// modelled twice; the fix engine's re-analysis (which holds each file
/// once) then saw a different configuration, and fixing the result again
/// changed more. Fixed in `MemFiles::new`: one entry per normalized path.
#[test]
fn a_file_named_twice_in_a_virtual_tree_is_one_file() {
    let input = b"stream{include stream.d/*;\x1e@stream.d/tls-backends.conf\nserver{proxy_pass p;proxy_ssl on d;}server{proxy_pass l;proxy_ssl on;\x1e@stream.d/tls-backends.conf";
    all(input);
    // The tree as the loader sees it: the glob includes the file once.
    let cfg = fuzz_checks::load_virtual(input, hopscope::conf::LoadedFrom::Demo);
    assert_eq!(cfg.files.len(), 2);
    let included: Vec<_> = cfg.includes.values().flatten().collect();
    assert_eq!(included.len(), 1, "{included:?}");
}

/// Found by `fix`: a pass directive that opens a block (`proxy_pass
/// https://x {`, which nginx rejects) in a block left open at the end of
/// the file. The fix engine anchored its new lines after the pass
/// directive, which put them inside the pass's own (never closed) block,
/// where they set nothing: the finding stayed, every round and every run
/// of `fix` added the lines again (fixing twice changed more). Fixed in
/// `fix::plan::insert_lines`: a pass directive with a block is no anchor,
/// the lines go at the top of the hop's block.
#[test]
fn a_pass_directive_that_opens_a_block_is_no_anchor() {
    all(b"http{c;server{proxy_pass https://{");
    all(b"http {\n    server {\n        listen 443;\n        proxy_pass https://backend.example {\n");
    all(b"http { server { proxy_pass https://x { } } }");
}

/// Found by `lexer_parser` (a bug of the check, not of hopscope): a file
/// holding only a byte order mark and whitespace. The BOM is whitespace to
/// the lexer; the check now says so too.
#[test]
fn a_bom_and_whitespace_only() {
    check(
        "lexer_parser",
        fuzz_checks::lexer_parser,
        b"\xEF\xBB\xBF\r\r ",
    );
    all(b"\xEF\xBB\xBF \n");
}

/// Found by `fix`: a `proxy_set_header` that opens a block (nginx rejects
/// it; here never closed) among the lines a hop inherits. A fix that sets
/// the Host header in the hop's block carries the inherited lines along
/// (a block with one such line drops the others), and copied this one as
/// written, unclosed brace and all: the hop's file no longer parsed, and
/// the new lines landed inside the bogus block. Fixed in
/// `fix::plan::set_header`: only lines ending with `;` are carried.
#[test]
fn an_inherited_header_line_that_opens_a_block_is_not_copied() {
    all(b"http {\n    proxy_ssl_server_name on;\n    proxy_ssl_name backend.example;\n    include headers.conf;\n    server {\n        location / { proxy_pass https://10.0.0.1; }\n    }\n}\n\x1e@headers.conf\nproxy_set_header X-Trace {\n");
    all(b"http{include conf.d/*;\x1e\x1eserver{ proxy_pass https://;}\x1e\x1eproxy_ssl_name r;proxy_set_header {f");
}

/// Found by `fix` after 902,575 executions: a stray word after the last
/// directive of a location, then `}` (`unexpected "}"`: the parser stops
/// there, leaving the location and every block around it open). A fix for
/// the hop in that location put its lines after the `proxy_set_header`
/// line, that is inside the stray, unterminated directive: nginx would
/// read them as its parameters, and the `}` after them closed the block
/// instead, so the error moved to the end of the file. Fixed in
/// `rules::check`: a hop inside a block a syntax error left open gets no
/// automatic fix (`Model::blocks_closed`).
#[test]
fn no_fix_inside_a_block_a_syntax_error_left_open() {
    all(b"http {\nserver {\nlocation / {\n    proxy_pass https://pool;\n    proxy_set_header Host $host; stray\n}\n}\n}\n");
    all(b"http {\nserver {\nlocation / {\n    proxy_pass https://a.example;\n    \x0c\x0c # x\n}\n}\n}\n");
    // A syntax error leaves open the blocks around it, in its own file:
    // the hop there has no fix, a hop in another file keeps its fix.
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "nginx.conf",
        "http {\n    include a.conf;\n    include b.conf;\n}\n",
    );
    write(
        "a.conf",
        "server { location / { proxy_pass https://a.example; } }\n",
    );
    write(
        "b.conf",
        "server {\n    location / {\n        proxy_pass https://b.example;\n        stray\n    }\n}\n",
    );
    let input = hopscope::conf::Input::Path(dir.path().join("nginx.conf"));
    let cfg = hopscope::conf::load(&input).expect("loads");
    let model = hopscope::model::Model::build(cfg, hopscope::model::Version::NEWEST_STABLE);
    assert_eq!(model.errors().count(), 1, "the stray word is an error");
    let findings = hopscope::rules::check(&model);
    let fixes = |id: &str| {
        findings
            .iter()
            .filter(|f| f.hop.is_some_and(|h| model.hops[h].id == id))
            .map(|f| (f.rule, f.fix.is_some()))
            .collect::<Vec<_>>()
    };
    let a = fixes("a.conf:1");
    assert!(a.iter().any(|&(r, has)| r == "sni-off" && has), "{a:?}");
    let b = fixes("b.conf:3");
    assert!(b.iter().any(|&(r, _)| r == "sni-off"), "{b:?}");
    assert!(b.iter().all(|&(_, has)| !has), "{b:?}");
}
