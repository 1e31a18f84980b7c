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

/// Loads `nginx.conf` (with `files` beside it) from a temporary directory
/// on disk; returns the directory too, so that it outlives the checks.
fn disk(main: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    let main_path = dir.path().join("nginx.conf");
    std::fs::write(&main_path, main).expect("write main");
    let cfg = load_tree(&DiskFiles, &main_path, LoadedFrom::Disk);
    (dir, cfg)
}

fn names(cfg: &Config) -> Vec<&str> {
    cfg.files.iter().map(|f| f.name.as_str()).collect()
}

#[test]
fn double_star_is_two_stars_within_one_component() {
    assert_eq!(files::nginx_pattern("/**/*.conf"), "/*/*.conf");
    assert_eq!(files::nginx_pattern("a***b[**]"), "a*b[*]");
    let tree = [
        ("a/b.conf", ""),
        ("a/c/d.conf", ""),
        ("a/c/e/f.conf", ""),
        ("ax.conf", ""),
        ("top.conf", ""),
    ];
    let main = "include **/*.conf;\ninclude a**.conf;\n";
    // On disk and in a dump alike: `**/*.conf` is `*/*.conf`, one level
    // down, never a/c/d.conf; `a**.conf` is `a*.conf`, not an error.
    let (_dir, on_disk) = disk(main, &tree);
    assert!(on_disk.errors.is_empty(), "{:?}", on_disk.errors);
    assert_eq!(names(&on_disk), ["nginx.conf", "a/b.conf", "ax.conf"]);
    let mut all = vec![("nginx.conf", main)];
    all.extend(tree);
    let in_memory = mem(&all);
    assert!(in_memory.errors.is_empty(), "{:?}", in_memory.errors);
    assert_eq!(names(&in_memory), ["nginx.conf", "a/b.conf", "ax.conf"]);
}

#[test]
fn root_double_star_pattern_stays_one_level_deep() {
    // `include /**/*.conf` must not walk the whole file system: it lists
    // the root and each directory under it, once. A recursive walk of /
    // would not finish in this time on any machine with /proc mounted.
    let started = std::time::Instant::now();
    let (_dir, cfg) = disk("include /**/*.nohopscope;\n", &[]);
    assert!(cfg.errors.is_empty(), "{:?}", cfg.errors);
    assert_eq!(names(&cfg), ["nginx.conf"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_at_its_include_line_without_blocking() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("fifos")).expect("mkdir");
    for name in ["blocks.conf", "fifos/f.conf"] {
        let st = std::process::Command::new("mkfifo")
            .arg(dir.path().join(name))
            .status()
            .expect("run mkfifo");
        assert!(st.success(), "mkfifo failed");
    }
    let main = dir.path().join("nginx.conf");
    let text = "events {}\n\ninclude blocks.conf;\ninclude **/*.conf;\n";
    std::fs::write(&main, text).expect("write");
    let cfg = in_thread(move || load_tree(&DiskFiles, &main, LoadedFrom::Disk));
    let shown: Vec<String> = cfg.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(
        shown[0].starts_with("nginx.conf:3: cannot include"),
        "{shown:?}"
    );
    assert!(
        shown[0].ends_with("blocks.conf\": not a regular file"),
        "{shown:?}"
    );
    assert!(
        shown[1].ends_with("f.conf\": not a regular file"),
        "{shown:?}"
    );
    assert!(
        shown[1].starts_with("nginx.conf:4: cannot include"),
        "{shown:?}"
    );
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
fn files_of_proc_are_refused_with_the_reason() {
    // /proc/kmsg blocks a reader until the kernel logs (as root); any
    // /proc file looks regular. Neither is read; the error says why.
    let (_dir, cfg) = disk(
        "events {}\ninclude /proc/self/status;\ninclude /proc/kmsg;\n",
        &[],
    );
    let cfg = in_thread(move || cfg);
    let shown: Vec<String> = cfg.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        shown[0],
        "nginx.conf:2: cannot include \"/proc/self/status\": is a file of the kernel's \
         proc (/proc) file system, whose reads may wait forever: not read (nginx would read it)"
    );
    if std::path::Path::new("/proc/kmsg").exists() {
        assert!(shown[1].starts_with("nginx.conf:3: cannot include \"/proc/kmsg\""));
    }
    assert_eq!(names(&cfg), ["nginx.conf"]);
}

/// Runs a load on another thread: a load that blocks fails the test after
/// a while instead of hanging the suite.
fn in_thread(load: impl FnOnce() -> Config + Send + 'static) -> Config {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(load());
    });
    rx.recv_timeout(std::time::Duration::from_secs(20))
        .expect("the load blocked")
}

#[cfg(unix)]
#[test]
fn a_glob_read_at_once_loads_and_fails_in_nginx_order() {
    // Enough matches for the files to be read several at a time: ids,
    // names and errors still come in the order of the includes.
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("conf.d/c.conf")).expect("mkdir");
    for (name, text) in [
        ("conf.d/a.conf", "a;\ninclude z.conf;\n"),
        ("conf.d/b.conf", "b {\n"),
        ("conf.d/e.conf", "e;"),
        ("conf.d/f.conf", "include nginx.conf;\n"),
        ("conf.d/g.conf", "g }"),
        ("z.conf", "z;"),
    ] {
        std::fs::write(d.join(name), text).expect("write");
    }
    std::os::unix::fs::symlink(d.join("conf.d/a.conf"), d.join("conf.d/d.conf")).expect("link");
    std::os::unix::fs::symlink(d.join("nope"), d.join("conf.d/h.conf")).expect("link");
    let main = d.join("nginx.conf");
    let text = "include z.conf;\ninclude conf.d/*.conf;\ninclude conf.d/h.conf;\n";
    std::fs::write(&main, text).expect("write");
    let cfg = in_thread(move || load_tree(&DiskFiles, &main, LoadedFrom::Disk));
    assert_eq!(
        names(&cfg),
        [
            "nginx.conf",
            "z.conf",
            "conf.d/a.conf",
            "conf.d/b.conf",
            "conf.d/e.conf",
            "conf.d/f.conf",
            "conf.d/g.conf"
        ]
    );
    let shown: Vec<String> = cfg.errors.iter().map(|e| e.to_string()).collect();
    let h = d.join("conf.d/h.conf");
    assert_eq!(
        shown,
        [
            "conf.d/b.conf:2: unexpected end of file, expecting \"}\"".to_string(),
            format!(
                "nginx.conf:2: cannot include \"{}\": is a directory",
                d.join("conf.d/c.conf").display()
            ),
            "conf.d/g.conf:1: unexpected \"}\"".to_string(),
            format!(
                "nginx.conf:2: cannot include \"{}\": No such file or directory",
                h.display()
            ),
            format!(
                "nginx.conf:3: cannot include \"{}\": No such file or directory",
                h.display()
            ),
            "conf.d/f.conf:1: include cycle: nginx.conf -> conf.d/f.conf -> nginx.conf".to_string(),
        ]
    );
    // The link to a.conf is the same file, loaded once.
    let node = cfg.ast(Config::MAIN).roots[1];
    let ids: Vec<u32> = cfg
        .included(Config::MAIN, node)
        .iter()
        .map(|f| f.0)
        .collect();
    assert_eq!(ids, [2, 3, 2, 4, 5, 6]);
}
