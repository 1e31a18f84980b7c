//! The project file (`hopscope.toml`) and the baseline, through the real
//! binary on a copy of the demo tree: discovery, errors with file:line,
//! precedence, `--show-settings`, per-path ignores, and a baseline that
//! survives unrelated edits, notices fixes and fails on new findings.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn hopscope(cwd: &Path, args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .args(args)
        .env("PATH", "/nonexistent")
        .env_remove("NO_COLOR")
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A temporary directory holding `repo/tree`, a copy of the demo.
fn repo() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo"),
        &repo.join("tree"),
    );
    (dir, repo)
}

fn json(out: &Out) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

fn findings(out: &Out) -> Vec<Value> {
    json(out)["findings"].as_array().unwrap().clone()
}

fn rules_of(out: &Out) -> Vec<String> {
    findings(out)
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

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
        let expected = format!("{}{want}", file.canonicalize().unwrap().display());
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
    let f = file.display();
    let dir = file.parent().unwrap().display();
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
         baseline = \"{dir}/hopscope-baseline.json\"  # {f}:4\n\
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

fn text_findings(out: &Out) -> Vec<String> {
    // The header of each diagnostic, then its `--> file:line:col` line.
    out.stdout
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("--> "))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_baseline_survives_unrelated_edits_notices_fixes_and_fails_on_new_findings() {
    let (_t, repo) = repo();
    let tree = repo.join("tree");
    let out = hopscope(&repo, &["check", "tree", "--update-baseline", "base.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let base: Value =
        serde_json::from_str(&std::fs::read_to_string(repo.join("base.json")).unwrap()).unwrap();
    assert_eq!(base["schema"], "hopscope.baseline/1");
    assert_eq!(base["version"], 1);
    let entries = base["findings"].as_array().unwrap().len();
    assert!(entries > 10, "{base}");
    assert!(out.stderr.contains(&format!(
        "wrote {entries} findings to the baseline base.json"
    )));

    // Every line of every file moves down one line.
    for rel in [
        "nginx.conf",
        "conf.d/api-gateway.conf",
        "conf.d/ingest.conf",
        "conf.d/intranet.conf",
        "conf.d/payments.conf",
    ] {
        let p = tree.join(rel);
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, format!("# reviewed by the platform team\n{text}")).unwrap();
    }
    let out = hopscope(&repo, &["check", "tree", "--baseline", "base.json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(text_findings(&out).is_empty(), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!(
            "baseline base.json: 0 new, {entries} unchanged (not shown)\n"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("; {entries} in the baseline")),
        "{}",
        out.stdout
    );

    // Findings a filter hides are not fixed.
    let out = hopscope(
        &repo,
        &[
            "check",
            "tree",
            "--baseline",
            "base.json",
            "--min-severity",
            "high",
            "--ignore",
            "sni-off",
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("fixed"), "{}", out.stdout);

    // A real fix: the weak protocols of one hop.
    let fix = hopscope(
        &repo,
        &[
            "fix",
            "tree",
            "--rule",
            "weak-protocols",
            "--write",
            "--no-validate",
        ],
    );
    assert_eq!(fix.code, 0, "{}{}", fix.stdout, fix.stderr);
    let out = hopscope(&repo, &["check", "tree", "--baseline", "base.json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "fixed: 1 entry no longer occurs; run --update-baseline to shrink the file\n"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("  fixed: weak-protocols conf.d/intranet.conf:58: "),
        "{}",
        out.stdout
    );

    // A new risky hop fails the run, and only it is reported.
    std::fs::write(
        tree.join("conf.d/new.conf"),
        "server {\n    listen 443 ssl;\n    server_name new.example.com;\n    location / {\n        proxy_pass https://new.internal.example.com;\n    }\n}\n",
    )
    .unwrap();
    let out = hopscope(&repo, &["check", "tree", "--baseline", "base.json"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(" = note: new: not in the baseline\n"),
        "{}",
        out.stdout
    );
    let shown = text_findings(&out);
    assert!(
        !shown.is_empty() && shown.iter().all(|s| s.starts_with("conf.d/new.conf:5:")),
        "{shown:?}"
    );
    assert!(
        out.stdout
            .contains(&format!(", {} unchanged (not shown)", entries - 1)),
        "{}",
        out.stdout
    );

    let out = hopscope(
        &repo,
        &[
            "check",
            "tree",
            "--baseline",
            "base.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 1);
    let doc = json(&out);
    for f in doc["findings"].as_array().unwrap() {
        let new = f["file"] == "conf.d/new.conf";
        assert_eq!(f["baseline"], if new { "new" } else { "unchanged" }, "{f}");
    }
    assert_eq!(doc["baseline"]["unchanged"], entries - 1);
    assert_eq!(doc["baseline"]["fixed"][0]["rule"], "weak-protocols");

    let out = hopscope(
        &repo,
        &[
            "check",
            "tree",
            "--baseline",
            "base.json",
            "--format",
            "sarif",
        ],
    );
    assert_eq!(out.code, 1);
    let sarif = json(&out);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    for r in results {
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        let state = if uri.ends_with("conf.d/new.conf") {
            "new"
        } else {
            "unchanged"
        };
        assert_eq!(r["baselineState"], state, "{r}");
    }
    // The baseline named in the project file works the same way.
    std::fs::write(repo.join("hopscope.toml"), "baseline = \"base.json\"\n").unwrap();
    let out = hopscope(&repo, &["check", "tree", "--format", "json"]);
    assert_eq!(json(&out)["baseline"]["unchanged"], entries - 1);
    // Without a baseline the output is as before: no baseline fields.
    let out = hopscope(&repo, &["check", "tree", "--no-config", "--format", "json"]);
    assert!(json(&out).get("baseline").is_none());
    assert!(findings(&out).iter().all(|f| f.get("baseline").is_none()));
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
    let here = repo.join("hopscope.toml").canonicalize().unwrap();
    let want = format!("# project file: {}\n", here.display());
    let out = hopscope(&repo, &["check", "dumps/web1.txt", "--show-settings"]);
    assert!(out.stdout.starts_with(&want), "{}", out.stdout);
    // From a subdirectory: the nearest file above it.
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

/// The README's section, run as written on a copy of the demo in `nginx/`.
#[test]
fn the_readme_example_file_and_commands_work() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("### In a repository: hopscope.toml and a baseline\n")
        .nth(1)
        .and_then(|rest| rest.split("\n### ").next())
        .expect("README.md has the section");
    let block = |lang: &str| -> String {
        let start = section.find(&format!("```{lang}\n")).expect(lang) + lang.len() + 4;
        let len = section[start..].find("```").unwrap();
        section[start..start + len].to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo"),
        &dir.path().join("nginx"),
    );
    std::fs::write(dir.path().join("hopscope.toml"), block("toml")).unwrap();
    let commands: Vec<String> = block("sh")
        .lines()
        .map(|l| l.split(" #").next().unwrap().trim().to_string())
        .collect();
    assert_eq!(commands.len(), 3, "{commands:?}");
    let mut outs = Vec::new();
    for c in &commands {
        let args: Vec<&str> = c.split_whitespace().collect();
        assert_eq!(args[0], "hopscope");
        let out = hopscope(dir.path(), &args[1..]);
        assert_eq!(out.code, 0, "{c}: {}{}", out.stdout, out.stderr);
        outs.push(out);
    }
    assert!(
        outs[0]
            .stdout
            .contains("severity.verify-off = \"high\"  # "),
        "{}",
        outs[0].stdout
    );
    assert!(outs[1]
        .stderr
        .contains("to the baseline hopscope-baseline.json"));
    assert!(
        outs[2]
            .stdout
            .contains("baseline hopscope-baseline.json: 0 new, "),
        "{}",
        outs[2].stdout
    );
}
