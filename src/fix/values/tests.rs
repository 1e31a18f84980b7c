use std::path::PathBuf;

use super::*;
use crate::conf::LoadedFrom;
use crate::fix::engine::fix_all;
use crate::model::Version;

/// Two pools of several host names (no name to propose), an IP target, and
/// one location file included by two servers (two hops, suffixed ids).
const MAIN: &str = "events {}
http {
    upstream pool_a {
        server a1.example.com:443;
        server a2.example.net:443;
    }
    upstream pool_b {
        server b1.example.com:443;
        server b2.example.net:443;
    }
    server {
        listen 80;
        location /a/ {
            proxy_pass https://pool_a;
        }
    }
    server {
        listen 81;
        location /b/ {
            proxy_pass https://pool_b;
        }
        location /ip/ {
            proxy_pass https://10.0.0.5;
        }
    }
    server {
        listen 82;
        include common.conf;
    }
    server {
        listen 83;
        include common.conf;
    }
}
";
const COMMON: &str = "location /c/ {
    proxy_pass https://pool_a;
}
";

fn model() -> Model {
    let dir = PathBuf::from("/srv/setvals");
    let main = dir.join("nginx.conf");
    let cfg = crate::conf::load_files(
        vec![
            (main.clone(), MAIN.as_bytes().to_vec()),
            (dir.join("common.conf"), COMMON.as_bytes().to_vec()),
        ],
        &main,
        LoadedFrom::Disk,
    );
    Model::build(cfg, Version::NEWEST_STABLE)
}

fn sni_off(hops: &[&str]) -> Selection {
    Selection {
        rules: vec!["sni-off".into()],
        hops: hops.iter().map(|h| h.to_string()).collect(),
        ..Selection::default()
    }
}

fn set(specs: &[&str]) -> Values {
    let mut v = Values::default();
    for s in specs {
        v.set(s).unwrap();
    }
    v
}

const A: &str = "nginx.conf:14";
const B: &str = "nginx.conf:20";
const IP: &str = "nginx.conf:23";
const C1: &str = "common.conf:2@nginx.conf:28";
const C2: &str = "common.conf:2@nginx.conf:32";

#[test]
fn the_tree_has_the_hops_the_tests_name() {
    let m = model();
    let ids: Vec<&str> = m.hops.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, [A, B, IP, C1, C2]);
    let needs = needing(&m, &sni_off(&[]));
    let sni: Vec<&str> = needs
        .iter()
        .filter(|(_, k)| *k == "sni-name")
        .map(|(h, _)| h.as_str())
        .collect();
    assert_eq!(sni, [A, B, C1, C2]);
    // Every rule: the IP target needs a name too (sni-ip-literal).
    let all = needing(&m, &Selection::default());
    assert!(
        all.iter().any(|(h, k)| h == IP && *k == "sni-name"),
        "{all:?}"
    );
}

#[test]
fn key_value_is_applied_where_exactly_one_hop_needs_it() {
    let m = model();
    let out = fix_all(&m, &sni_off(&[B]), &set(&["sni-name=b.example.com"])).unwrap();
    assert_eq!(out.applied.len(), 1, "{:?}", out.applied);
    assert_eq!(out.applied[0].hop, B);
    let text = String::from_utf8(out.changed[0].1.clone()).unwrap();
    assert_eq!(
        text.matches("proxy_ssl_name b.example.com;").count(),
        1,
        "{text}"
    );
    // The line went into /b/'s block.
    let b = text.find("location /b/").unwrap();
    let ip = text.find("location /ip/").unwrap();
    let name = text.find("proxy_ssl_name b.example.com;").unwrap();
    assert!(b < name && name < ip, "{text}");
}

#[test]
fn key_value_needed_by_several_hops_is_refused_listing_each() {
    let m = model();
    let err = match fix_all(&m, &sni_off(&[A, B]), &set(&["sni-name=x.example.com"])) {
        Err(FixError::Unbound(u)) => u,
        Err(e) => panic!("{e}"),
        Ok(o) => panic!("applied {:?}", o.applied),
    };
    assert_eq!(err.hops, [A, B]);
    let text = err.to_string();
    assert!(text.contains("2 hops need sni-name"), "{text}");
    assert!(
        text.contains(&format!("--set {A}:sni-name=x.example.com")),
        "{text}"
    );
    assert!(
        text.contains(&format!("--set {B}:sni-name=x.example.com")),
        "{text}"
    );
    // Every hop of the tree, suffixed ids included, when none is chosen.
    let err = set(&["sni-name=x.example.com"])
        .bound(&m, &sni_off(&[]))
        .unwrap_err();
    assert_eq!(err.hops, [A, B, C1, C2]);
    assert!(err
        .to_string()
        .contains(&format!("--set {C2}:sni-name=x.example.com")));
}

#[test]
fn key_value_no_selected_hop_needs_is_refused() {
    let m = model();
    let v = set(&["ca-file=/etc/ssl/ca.pem"]);
    let err = v.bound(&m, &sni_off(&[])).unwrap_err();
    assert!(err.hops.is_empty());
    assert!(err.to_string().contains("used nowhere"), "{err}");
    // A hop with a value of its own does not count.
    let v = set(&[
        &format!("{B}:sni-name=b.example.com"),
        "sni-name=x.example.com",
    ]);
    let bound = v.bound(&m, &sni_off(&[A, B])).unwrap();
    assert_eq!(bound.get(A, "sni-name"), Some("x.example.com"));
    assert_eq!(bound.get(B, "sni-name"), Some("b.example.com"));
}

#[test]
fn hop_key_value_reaches_only_that_hop() {
    let m = model();
    let out = fix_all(
        &m,
        &sni_off(&[]),
        &set(&[&format!("{B}:sni-name=b.example.com")]),
    )
    .unwrap();
    let hops: Vec<&str> = out.applied.iter().map(|a| a.hop.as_str()).collect();
    assert_eq!(hops, [B]);
    let text = String::from_utf8(out.changed[0].1.clone()).unwrap();
    assert_eq!(text.matches("b.example.com").count(), 1, "{text}");
    for other in [A, C1, C2] {
        assert!(out.skipped.iter().any(|s| s.hop == other), "{other}");
    }
}

#[test]
fn a_suffixed_id_names_one_include_path() {
    let m = model();
    let v = set(&[&format!("{C2}:sni-name=c.example.com")]);
    let bound = v.bound(&m, &sni_off(&[])).unwrap();
    assert_eq!(bound.get(C2, "sni-name"), Some("c.example.com"));
    assert_eq!(bound.get(C1, "sni-name"), None);
    // A bare KEY=VALUE with only that path chosen binds to it.
    let bound = set(&["sni-name=c.example.com"])
        .bound(&m, &sni_off(&[C2]))
        .unwrap();
    assert_eq!(bound.get(C2, "sni-name"), Some("c.example.com"));
    assert_eq!(bound.get(C1, "sni-name"), None);
}

#[test]
fn a_bound_value_never_reaches_another_hop() {
    // Bound before any fix, the value is that hop's alone: a hop a later
    // round makes need the key finds nothing (it is reported as missing).
    let m = model();
    let bound = set(&["sni-name=b.example.com"])
        .bound(&m, &sni_off(&[B]))
        .unwrap();
    for other in [A, IP, C1, C2, "nginx.conf:99"] {
        assert_eq!(bound.get(other, "sni-name"), None, "{other}");
    }
    assert_eq!(bound.get(B, "sni-name"), Some("b.example.com"));
}

#[test]
fn set_specs_parse_by_key_name() {
    let s = SetSpec::parse("common.conf:2@nginx.conf:28:sni-name=a=b").unwrap();
    assert_eq!(s.hop.as_deref(), Some("common.conf:2@nginx.conf:28"));
    assert_eq!((s.key, s.value.as_str()), ("sni-name", "a=b"));
    let s = SetSpec::parse("ca-file=/etc/x:y.pem").unwrap();
    assert_eq!((s.hop, s.key), (None, "ca-file"));
    assert_eq!(
        SetSpec::parse("x.conf:3:sni=a"),
        Err(ValueError::UnknownKey("x.conf:3:sni".into()))
    );
    assert_eq!(
        SetSpec::parse("sni-name="),
        Err(ValueError::EmptyPart("sni-name=".into()))
    );
    assert_eq!(
        SetSpec::parse("x.conf:3:sni-name="),
        Err(ValueError::EmptyPart("x.conf:3:sni-name=".into()))
    );
}
