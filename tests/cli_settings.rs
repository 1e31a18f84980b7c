//! The project file (`hopscope.toml`) and the baseline, through the real
//! binary on a copy of the demo tree: discovery, errors with file:line,
//! precedence, `--show-settings`, per-path ignores, and a baseline that
//! survives unrelated edits, notices fixes and fails on new findings.

#[path = "common/settings_repo.rs"]
mod support;

use serde_json::Value;
use support::{findings, hopscope, json, repo, rules_of};

#[test]
fn the_project_file_is_found_upwards_and_applies() {
    let (_t, repo) = repo();
    let all = hopscope(&repo, &["check", "tree", "--format", "json"]);
    assert!(rules_of(&all).iter().any(|r| r == "weak-protocols"));
    // Found in the directory above the tree, from another working directory.
    std::fs::write(
        repo.join("hopscope.toml"),
        "ignore = [\"weak-protocols\"]\n",
    )
    .unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let tree = repo.join("tree");
    let out = hopscope(
        elsewhere.path(),
        &["check", tree.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let rules = rules_of(&out);
    assert!(
        !rules.is_empty() && !rules.iter().any(|r| r == "weak-protocols"),
        "{rules:?}"
    );
    // A file given by name of nginx.conf: its directory counts.
    let conf = tree.join("nginx.conf");
    let out = hopscope(
        elsewhere.path(),
        &["check", conf.to_str().unwrap(), "--format", "json"],
    );
    assert!(!rules_of(&out).iter().any(|r| r == "weak-protocols"));
    // The text report names the file and counts what it hides.
    let out = hopscope(elsewhere.path(), &["check", tree.to_str().unwrap()]);
    let file = repo.join("hopscope.toml").canonicalize().unwrap();
    let want = format!(
        "project file: {} (hides 1 finding; --no-config shows it)\n",
        file.display()
    );
    assert!(out.stdout.ends_with(&want), "{}", out.stdout);
    // --no-config: the file is not read.
    let out = hopscope(&repo, &["check", "tree", "--no-config", "--format", "json"]);
    assert!(rules_of(&out).iter().any(|r| r == "weak-protocols"));
    // .hopscope.toml too; both names at once is an error.
    std::fs::rename(repo.join("hopscope.toml"), repo.join(".hopscope.toml")).unwrap();
    let out = hopscope(&repo, &["check", "tree", "--format", "json"]);
    assert!(!rules_of(&out).iter().any(|r| r == "weak-protocols"));
    std::fs::write(repo.join("hopscope.toml"), "").unwrap();
    let out = hopscope(&repo, &["check", "tree"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("both hopscope.toml and .hopscope.toml"),
        "{}",
        out.stderr
    );
    // --config names one anywhere; the demo uses the current directory's.
    let other = elsewhere.path().join("team.toml");
    std::fs::write(&other, "select = [\"sni-off\"]\n").unwrap();
    let out = hopscope(
        &repo,
        &[
            "check",
            "tree",
            "--config",
            other.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let rules = rules_of(&out);
    assert!(
        !rules.is_empty() && rules.iter().all(|r| r == "sni-off"),
        "{rules:?}"
    );
    std::fs::write(
        elsewhere.path().join("hopscope.toml"),
        "select = [\"verify-off\"]\n",
    )
    .unwrap();
    let out = hopscope(elsewhere.path(), &["check", "--format", "json"]);
    let rules = rules_of(&out);
    assert!(
        !rules.is_empty() && rules.iter().all(|r| r == "verify-off"),
        "{rules:?}"
    );
}

#[test]
fn mistakes_in_the_file_name_its_line_and_column() {
    let (_t, repo) = repo();
    let file = repo.join("hopscope.toml");
    let cases = [
        (
            "select = [\"sni-off\"]\nmin-severty = \"high\"\n",
            ":2:1: unknown field `min-severty`",
        ),
        (
            "\n\nignore = [\"verify-of\"]\n",
            ":3:11: unknown rule \"verify-of\" (did you mean \"verify-off\"?)",
        ),
        (
            "[severity]\nverify-off = \"urgent\"\n",
            ":2:14: unknown severity \"urgent\"",
        ),
        (
            "[severity]\nverify-offf = \"high\"\n",
            ":2:15: unknown rule \"verify-offf\"",
        ),
        (
            "[per-file-ignores]\n\"legacy/*\" = [\"sni\"]\n",
            ":2:15: unknown rule \"sni\"",
        ),
    ];
    for (text, want) in cases {
        std::fs::write(&file, text).unwrap();
        let out = hopscope(&repo, &["check", "tree"]);
        assert_eq!(out.code, 2, "{text}");
        // Named relative to the current directory, which holds it.
        let expected = format!("hopscope.toml{want}");
        assert!(out.stderr.contains(&expected), "{text}: {}", out.stderr);
        assert!(
            out.stdout.is_empty(),
            "nothing is reported with a broken file"
        );
    }
    // A missing --config file is an error too, naming it.
    let out = hopscope(&repo, &["check", "tree", "--config", "nope.toml"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("nope.toml: cannot read"),
        "{}",
        out.stderr
    );
}

#[test]
fn flags_win_and_show_settings_says_where_each_value_comes_from() {
    let (_t, repo) = repo();
    std::fs::write(
        repo.join("hopscope.toml"),
        "# team settings\nmin-severity = \"medium\"\nnginx-version = \"1.24.0\"\n\
         baseline = \"hopscope-baseline.json\"\n\n[severity]\nverify-off = \"high\"\n\
         [per-file-ignores]\n\"conf.d/intranet.conf\" = [\"*\"]\n",
    )
    .unwrap();
    let file = repo.join("hopscope.toml").canonicalize().unwrap();
    // Paths inside the current directory are shown relative to it.
    let f = "hopscope.toml";
    let out = hopscope(
        &repo,
        &["check", "tree", "--show-settings", "--min-severity", "info"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let want = format!(
        "# project file: {f}\n\
         select = all rules  # default\n\
         ignore = []  # default\n\
         min-severity = \"info\"  # flag\n\
         nginx-version = \"1.24.0\"  # {f}:3\n\
         root = none  # default\n\
         baseline = \"hopscope-baseline.json\"  # {f}:4\n\
         severity.verify-off = \"high\"  # {f}:7\n\
         per-file-ignores.\"conf.d/intranet.conf\" = [\"*\"]  # {f}:9\n"
    );
    assert_eq!(out.stdout, want);

    // The settings at work (no baseline file yet: name none).
    let out = hopscope(
        &repo,
        &[
            "check",
            "tree",
            "--format",
            "json",
            "--baseline",
            "/dev/null",
        ],
    );
    assert_eq!(
        out.code, 2,
        "an unreadable baseline is an error: {}",
        out.stderr
    );
    std::fs::write(
        repo.join("hopscope.toml"),
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("baseline = \"hopscope-baseline.json\"\n", ""),
    )
    .unwrap();
    let out = hopscope(&repo, &["check", "tree", "--format", "json"]);
    let doc = json(&out);
    assert_eq!(doc["nginx_version"], "1.24.0");
    let fs = findings(&out);
    assert!(
        fs.iter().all(|f| f["file"] != "conf.d/intranet.conf"),
        "per-path ignore"
    );
    assert!(
        fs.iter().all(|f| f["severity"] != "low"),
        "min-severity from the file"
    );
    let verify: Vec<&Value> = fs.iter().filter(|f| f["rule"] == "verify-off").collect();
    assert!(!verify.is_empty() && verify.iter().all(|f| f["severity"] == "high"));
    // The flag lowers the threshold the file sets.
    let out = hopscope(
        &repo,
        &["check", "tree", "--format", "json", "--min-severity", "low"],
    );
    assert!(findings(&out).iter().any(|f| f["severity"] == "low"));
    // The version flag wins over the file's.
    let out = hopscope(
        &repo,
        &["hops", "tree", "--json", "--nginx-version", "1.22.1"],
    );
    assert_eq!(json(&out)["nginx_version"], "1.22.1");
    let out = hopscope(&repo, &["hops", "tree", "--json"]);
    assert_eq!(
        json(&out)["nginx_version"],
        "1.24.0",
        "hops reads the file too"
    );
    assert_eq!(json(&out)["nginx_version_source"], "option");
    let out = hopscope(&repo, &["check", "tree"]);
    let want = format!("defaults: nginx 1.24.0, from nginx-version in the project file; {f}:3\n");
    assert!(out.stdout.contains(&want), "{}", out.stdout);
}

#[test]
fn a_dump_uses_the_current_directorys_file() {
    let (_t, repo) = repo();
    // An `nginx -T` dump kept elsewhere: the file next to it does not count.
    let dumps = repo.join("dumps");
    std::fs::create_dir_all(&dumps).unwrap();
    let dump = "# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp {\n  server {\n    location / { proxy_pass https://api.example.com; }\n  }\n}\n";
    std::fs::write(dumps.join("web1.txt"), dump).unwrap();
    std::fs::write(dumps.join("hopscope.toml"), "select = [\"verify-off\"]\n").unwrap();
    std::fs::write(repo.join("hopscope.toml"), "select = [\"sni-off\"]\n").unwrap();
    let out = hopscope(&repo, &["check", "dumps/web1.txt", "--format", "json"]);
    assert_eq!(rules_of(&out), ["sni-off"], "{}", out.stderr);
    let out = hopscope(&repo, &["check", "dumps/web1.txt", "--show-settings"]);
    assert!(
        out.stdout.starts_with("# project file: hopscope.toml\n"),
        "{}",
        out.stdout
    );
    // From a subdirectory: the nearest file above it (outside the current
    // directory: shown whole).
    let here = repo.join("hopscope.toml").canonicalize().unwrap();
    let want = format!("# project file: {}\n", here.display());
    let sub = repo.join("tree/conf.d");
    let out = hopscope(&sub, &["check", "../../dumps/web1.txt", "--show-settings"]);
    assert!(out.stdout.starts_with(&want), "{}", out.stdout);
    // A plain nginx.conf in that directory would use the file next to it.
    std::fs::write(dumps.join("nginx.conf"), "events {}\n").unwrap();
    let out = hopscope(
        &sub,
        &["check", "../../dumps/nginx.conf", "--show-settings"],
    );
    let next_to_it = dumps.join("hopscope.toml").canonicalize().unwrap();
    assert!(
        out.stdout
            .starts_with(&format!("# project file: {}\n", next_to_it.display())),
        "{}",
        out.stdout
    );
}

#[test]
fn control_characters_from_the_file_are_shown_escaped() {
    let (_t, repo) = repo();
    std::fs::write(
        repo.join("hopscope.toml"),
        "[per-file-ignores]\n\"conf.d/\\u001b]0;t\\u0007*.conf\" = [\"sni-off\"]\n",
    )
    .unwrap();
    let out = hopscope(&repo, &["check", "tree", "--show-settings"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains('\u{1b}'), "{:?}", out.stdout);
    assert!(
        out.stdout
            .contains("per-file-ignores.\"conf.d/\\u{1b}]0;t\\u{7}*.conf\" = [\"sni-off\"]"),
        "{}",
        out.stdout
    );
    std::fs::write(repo.join("hopscope.toml"), "\"\\u001b[2J\" = 1\n").unwrap();
    let out = hopscope(&repo, &["check", "tree"]);
    assert_eq!(out.code, 2);
    assert!(
        !out.stderr.contains('\u{1b}') && out.stderr.contains("unknown field"),
        "{:?}",
        out.stderr
    );
}
