use std::path::Path;

use super::*;
use crate::conf::LoadedFrom;

fn model_at(prefix: &Path, from: LoadedFrom) -> Model {
    let main = prefix.join("nginx.conf");
    let cfg = crate::conf::load_files(vec![(main.clone(), b"events {}".to_vec())], &main, from);
    Model::build(cfg, crate::model::Version::NEWEST_STABLE)
}

fn demo() -> Model {
    model_at(Path::new("/srv/copy"), LoadedFrom::Demo)
}

fn refused(key: &str, value: &str) -> Refused {
    check(&demo(), key, value).expect_err(value)
}

#[test]
fn a_plain_host_name_is_accepted_without_notes() {
    for v in [
        "api.example.com",
        "backend",
        "svc_1.internal",
        "xn--bcher-kva.example",
    ] {
        assert_eq!(check(&demo(), "sni-name", v), Ok(Checked::default()), "{v}");
    }
}

#[test]
fn a_url_is_refused_with_its_host_as_the_suggestion() {
    let r = refused("sni-name", "https://api.example.com/");
    assert_eq!(r.suggestion.as_deref(), Some("api.example.com"));
    let text = r.to_string();
    assert!(text.contains("is a URL"), "{text}");
    assert!(text.contains("send the scheme as SNI"), "{text}");
    assert!(text.ends_with("give api.example.com"), "{text}");
    let r = refused("sni-name", "https://user@api.example.com:8443/v1?x=1");
    assert_eq!(r.suggestion.as_deref(), Some("api.example.com"));
}

#[test]
fn a_path_spaces_quotes_semicolons_and_wildcards_are_refused() {
    let r = refused("sni-name", "api.example.com/v1");
    assert!(r.reason.contains("holds a path"), "{r}");
    assert_eq!(r.suggestion.as_deref(), Some("api.example.com"));
    assert!(refused("sni-name", "api example.com")
        .reason
        .contains("a space"));
    for (v, c) in [
        ("\"api.example.com\"", "`\"`"),
        ("'api.example.com'", "`'`"),
        ("api.example.com;", "`;`"),
        ("a{b", "`{`"),
        ("a$b", "`$`"),
    ] {
        let r = refused("sni-name", v);
        assert!(r.reason.contains(c), "{v}: {r}");
    }
    assert!(refused("sni-name", "*.example.com")
        .reason
        .contains("wildcard"));
    assert!(refused("sni-name", "api.exa!mple.com")
        .reason
        .contains("`!`"));
    assert!(refused("sni-name", "a..b").reason.contains("empty label"));
    assert_eq!(
        refused("sni-name", "api.example.com.")
            .suggestion
            .as_deref(),
        Some("api.example.com")
    );
    assert!(refused("sni-name", "bücher.example")
        .reason
        .contains("xn--"));
    assert!(refused("sni-name", &"a".repeat(64))
        .reason
        .contains("too long"));
    assert!(refused("sni-name", "").reason.contains("is empty"));
}

#[test]
fn a_control_character_is_refused_and_shown_escaped() {
    let r = refused("sni-name", "api\u{1b}]52;x\u{7}.example.com");
    let text = r.to_string();
    assert!(text.contains("control character"), "{text}");
    assert!(text.contains("api\\x1b]52;x\\x07.example.com"), "{text}");
    assert!(!text.chars().any(crate::visible::is_unsafe), "{text:?}");
    let r = refused("ca-file", "/etc/ca\u{202e}.pem");
    assert!(r.to_string().contains("\\u{202e}"), "{r}");
}

#[test]
fn a_port_is_accepted_and_noted_as_cut() {
    let c = check(&demo(), "sni-name", "api.example.com:8443").unwrap();
    assert_eq!(c.notes.len(), 1);
    assert!(
        c.notes[0].contains("nginx sends and verifies api.example.com"),
        "{:?}",
        c.notes
    );
    for v in [
        "api.example.com:",
        "api.example.com:http",
        "api.example.com:70000",
    ] {
        let r = refused("sni-name", v);
        assert!(r.reason.contains("not a port"), "{v}: {r}");
        assert_eq!(r.suggestion.as_deref(), Some("api.example.com"));
    }
}

#[test]
fn an_ip_address_is_refused_because_nginx_sends_no_sni_for_it() {
    for v in [
        "10.0.0.5",
        "10.0.0.5:443",
        "::1",
        "[::1]:443",
        "2001:db8::1",
    ] {
        let r = refused("sni-name", v);
        assert!(r.reason.contains("is an IP address"), "{v}: {r}");
        assert!(
            r.reason.contains("nginx sends no SNI for an address"),
            "{r}"
        );
    }
}

#[test]
fn one_variable_is_nginx_s_to_work_out() {
    let c = check(&demo(), "sni-name", "$host").unwrap();
    assert!(c.notes[0].contains("variable"), "{:?}", c.notes);
    assert!(check(&demo(), "sni-name", "${proxy_host}").is_ok());
    assert!(check(&demo(), "sni-name", "$host.example").is_err());
}

#[test]
fn a_file_that_exists_in_a_local_tree_is_accepted_and_a_missing_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("certs")).unwrap();
    std::fs::write(dir.path().join("certs/ca.pem"), "pem").unwrap();
    let m = model_at(dir.path(), LoadedFrom::Disk);
    let abs = dir.path().join("certs/ca.pem").display().to_string();
    assert_eq!(check(&m, "ca-file", &abs), Ok(Checked::default()));
    let rel = check(&m, "ca-file", "certs/ca.pem").unwrap();
    assert!(
        rel.notes[0].contains("relative: nginx reads it from its prefix"),
        "{:?}",
        rel.notes
    );
    let r = check(&m, "client-key", "certs/client.key").unwrap_err();
    assert!(r.reason.contains("does not exist here"), "{r}");
    let r = check(&m, "ca-file", "certs").unwrap_err();
    assert!(r.reason.contains("is not a file"), "{r}");
    // Outside a copied tree, a server path is not looked up: a note.
    let c = check(&m, "ca-file", "/etc/hopscope-none/ca.pem").unwrap();
    assert!(c.notes[0].starts_with("not looked up:"), "{:?}", c.notes);
}

#[test]
fn a_file_in_a_dump_is_noted_as_not_looked_up() {
    let m = model_at(Path::new("/etc/nginx"), LoadedFrom::Dump);
    let c = check(&m, "ca-file", "/etc/hopscope-none/ca.pem").unwrap();
    assert!(
        c.notes.iter().any(|n| n.contains("nginx -T output")),
        "{:?}",
        c.notes
    );
}

#[test]
fn a_file_path_with_a_scheme_tilde_or_directory_is_refused() {
    let r = refused("ca-file", "file:///etc/ssl/ca.pem");
    assert_eq!(r.suggestion.as_deref(), Some("/etc/ssl/ca.pem"));
    assert!(refused("ca-file", "~/ca.pem").reason.contains("`~`"));
    assert!(refused("ca-file", "/etc/ssl/").reason.contains("directory"));
    assert!(refused("ca-file", "/etc/$x.pem").reason.contains("`$`"));
    let c = check(&demo(), "client-key", "/etc/keys/$ssl_server_name.key").unwrap();
    assert!(c.notes[0].contains("variable"), "{:?}", c.notes);
}

#[test]
fn an_unknown_key_is_refused() {
    let r = refused("sni", "x");
    assert!(r.reason.contains("sni-name, ca-file, client-key"), "{r}");
}
