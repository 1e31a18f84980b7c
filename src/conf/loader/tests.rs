//! The loader against nginx's include rules.

use super::*;

fn mem(files: &[(&str, &str)]) -> Config {
    let fs = MemFiles::new(
        files
            .iter()
            .map(|(n, t)| {
                (
                    PathBuf::from(format!("/etc/nginx/{n}")),
                    t.as_bytes().to_vec(),
                )
            })
            .collect(),
    );
    load_tree(&fs, Path::new("/etc/nginx/nginx.conf"), LoadedFrom::Demo)
}

#[test]
fn globs_sorted_and_relative_to_prefix() {
    let cfg = mem(&[
        (
            "nginx.conf",
            "http { include conf.d/*.conf; include missing/*.conf; }",
        ),
        ("conf.d/b.conf", "include snippets/x;"),
        ("conf.d/a.conf", ""),
        ("conf.d/.hidden.conf", ""),
        ("snippets/x", ""),
    ]);
    assert!(cfg.errors.is_empty(), "{:?}", cfg.errors);
    let names: Vec<&str> = cfg.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["nginx.conf", "conf.d/a.conf", "conf.d/b.conf", "snippets/x"]
    );
}

#[test]
fn missing_file_is_an_error_at_the_include() {
    let cfg = mem(&[("nginx.conf", "events {}\nhttp {\n include nope.conf;\n}")]);
    assert_eq!(cfg.errors.len(), 1);
    assert_eq!(cfg.errors[0].file, "nginx.conf");
    assert_eq!(cfg.errors[0].line, 3);
    assert!(cfg.errors[0]
        .message
        .starts_with("cannot include \"/etc/nginx/nope.conf\""));
}

#[test]
fn cycles_are_reported_and_broken() {
    let cfg = mem(&[
        ("nginx.conf", "include a.conf;"),
        ("a.conf", "include b.conf;"),
        ("b.conf", "\ninclude *.conf;"),
    ]);
    // `*.conf` matches a.conf, b.conf and nginx.conf: three cycles.
    let shown: Vec<String> = cfg.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        shown,
        [
            "b.conf:2: include cycle: a.conf -> b.conf -> a.conf",
            "b.conf:2: include cycle: b.conf -> b.conf",
            "b.conf:2: include cycle: nginx.conf -> a.conf -> b.conf -> nginx.conf",
        ]
    );
}

#[test]
fn normalize_keeps_leading_parents_and_stops_at_the_root() {
    let n = |p: &str| normalize(Path::new(p)).to_string_lossy().into_owned();
    assert_eq!(n("../../etc/passwd"), "../../etc/passwd");
    assert_eq!(n("a/../../b"), "../b");
    assert_eq!(n("/../etc/./x/../passwd"), "/etc/passwd");
    assert_eq!(n("/etc/nginx/../../../x"), "/x");
}

#[test]
fn one_file_included_twice_is_not_a_cycle() {
    let cfg = mem(&[
        ("nginx.conf", "include s.conf; include s.conf;"),
        ("s.conf", "a;"),
    ]);
    assert!(cfg.errors.is_empty());
    assert_eq!(cfg.files.len(), 2);
}
