//! The benchmark tree generator (`examples/gen.rs`,
//! `benches/support/generator.rs`) writes configurations that real
//! `nginx -t` accepts, with exactly the hops and directives it says.

mod common;

#[path = "../benches/support/generator.rs"]
mod generator;

use std::path::Path;
use std::process::Command;

use common::*;
use hopscope::conf::{self, Input};
use hopscope::model::{Model, Version};
use hopscope::rules;
use hopscope::test_support::check_document;

const STREAM_MODULE: &str = "/usr/lib/nginx/modules/ngx_stream_module.so";

/// The certificates the generated directives name (`tls/…`).
fn write_certs(dir: &Path) {
    std::fs::create_dir_all(dir.join("tls")).expect("create tls/");
    let out = Command::new(openssl_bin())
        .current_dir(dir)
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "tls/client.key",
            "-out",
            "tls/client.pem",
            "-subj",
            "/CN=hopscope-bench",
            "-days",
            "30",
        ])
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::copy(dir.join("tls/client.pem"), dir.join("tls/ca.pem")).expect("copy the CA");
}

#[test]
fn the_generator_is_deterministic_and_counts_what_it_writes() {
    let opts = generator::Options::new(4_000, 30, 7);
    let a = generator::generate(&opts);
    let b = generator::generate(&opts);
    assert_eq!(a.files, b.files, "same options, same bytes");
    assert_eq!(a.files.len(), 30);
    assert_eq!(a.files[0].0, "nginx.conf");
    let other = generator::generate(&generator::Options::new(4_000, 30, 8));
    assert_ne!(a.files, other.files, "another seed, another tree");
    assert!(
        (4_000..4_400).contains(&a.directives),
        "{} directives",
        a.directives
    );
    for (n, files) in [(1_000, 1), (1_000, 10), (20_000, 200)] {
        let g = generator::generate(&generator::Options::new(n, files, 1));
        assert_eq!(g.files.len(), files);
        assert!(g.hops > 0 && g.passes >= g.hops);
    }
}

#[test]
fn nginx_accepts_a_generated_tree_and_hopscope_finds_every_hop() {
    let opts = generator::Options::new(3_000, 25, 42);
    let g = generator::generate(&opts);
    let prefix = Prefix::new("bench-gen");
    g.write_to(prefix.path()).expect("write the tree");
    write_certs(prefix.path());

    // hopscope: every file loads, every directive parses, every hop is found.
    let cfg = conf::load(&Input::Path(prefix.conf_path())).expect("the tree loads");
    let model = Model::build(cfg, Version::NEWEST_STABLE);
    let errors: Vec<String> = model.errors().map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(model.config.files.len(), g.files.len());
    let parsed: usize = model.config.asts.iter().map(|a| a.nodes.len()).sum();
    assert_eq!(parsed, g.directives, "directives parsed vs written");
    assert_eq!(model.hops.len(), g.hops, "hops found vs generated");
    let modules: std::collections::BTreeSet<&str> =
        model.hops.iter().map(|h| h.module.as_str()).collect();
    assert_eq!(
        modules.into_iter().collect::<Vec<_>>(),
        ["grpc", "proxy", "stream", "uwsgi"],
        "the tree has hops of every module"
    );

    // The rules share two threads on a tree this size: the findings must
    // not depend on which thread ran which rule.
    let first = check_document(&model, &rules::check(&model));
    for _ in 0..3 {
        let again = check_document(&model, &rules::check(&model));
        assert_eq!(first, again, "the findings are the same on every run");
    }
    assert!(first["findings"].as_array().is_some_and(|f| f.len() > 100));

    // nginx: the same tree passes `nginx -t`.
    let Some(nginx) = nginx_or_skip() else { return };
    let missing = (!Path::new(STREAM_MODULE).exists())
        .then(|| format!("{STREAM_MODULE} is not installed (libnginx-mod-stream)"));
    if !required("nginx -t of the generated tree", missing) {
        return;
    }
    let (ok, stderr) = nginx_test(&nginx, prefix.path());
    assert!(ok, "nginx -t rejected the generated tree:\n{stderr}");
}
