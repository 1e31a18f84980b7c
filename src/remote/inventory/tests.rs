//! Host lists and Ansible INI inventories, and what is refused in them.

use super::*;

#[test]
fn plain_host_lists() {
    let inv =
        Inventory::parse("# web\nweb1\ndeploy@web2.example.com  # comment\n\nweb1\n").unwrap();
    assert_eq!(inv.host_names(), ["web1", "deploy@web2.example.com"]);
    let t = inv.targets(None, &Remote::new("x")).unwrap();
    assert_eq!(t[1].destination, "deploy@web2.example.com");
    assert!(t[0].ssh_options.is_empty());
}

#[test]
fn ansible_inventories() {
    let text = "\
bastion ansible_host=10.0.0.1

[web]
web[01:03].example.com ansible_user=deploy
edge ansible_host=127.0.0.1 ansible_port=2222 ansible_user=root

[db]
db1:2200 ansible_become=true hopscope_nginx=/usr/local/nginx/sbin/nginx hopscope_nginx_conf=/srv/nginx.conf

[prod:children]
web
db

[web:vars]
ansible_user=www
ansible_ssh_private_key_file=\"/keys/web key\"

[all:vars]
ansible_port=22
";
    let inv = Inventory::parse(text).unwrap();
    let mut base = Remote::new("x");
    base.ssh_options = vec!["StrictHostKeyChecking=no".into()];
    let names = |g: Option<&str>| -> Vec<String> {
        inv.targets(g, &base)
            .unwrap()
            .into_iter()
            .map(|r| r.host)
            .collect()
    };
    assert_eq!(
        names(Some("web")),
        [
            "web01.example.com",
            "web02.example.com",
            "web03.example.com",
            "edge"
        ]
    );
    assert_eq!(names(Some("prod")).len(), 5);
    assert_eq!(names(Some("ungrouped")), ["bastion"]);
    assert_eq!(names(None).len(), 6);
    let err = inv.targets(Some("nope"), &base).unwrap_err().to_string();
    assert!(
        err.contains("no group \"nope\"") && err.contains("web, db, prod"),
        "{err}"
    );

    let edge = &inv.targets(Some("web"), &base).unwrap()[3];
    assert_eq!(edge.destination, "edge");
    assert_eq!(
        edge.ssh_options,
        [
            "IdentityFile=\"/keys/web key\"",
            "HostName=127.0.0.1",
            "Port=2222",
            "User=root",
            "StrictHostKeyChecking=no"
        ]
    );
    let web01 = &inv.targets(Some("web"), &base).unwrap()[0];
    assert!(
        web01.ssh_options.contains(&"User=deploy".to_string()),
        "host vars win"
    );
    let db1 = &inv.targets(Some("db"), &base).unwrap()[0];
    assert_eq!(db1.destination, "db1");
    assert!(db1.sudo);
    assert_eq!(db1.nginx, "/usr/local/nginx/sbin/nginx");
    assert_eq!(db1.nginx_conf.as_deref(), Some("/srv/nginx.conf"));
    assert!(!edge.sudo);
    assert_eq!(db1.ssh_options[0], "Port=2200");

    assert!(Inventory::parse("[web\nx")
        .unwrap_err()
        .to_string()
        .starts_with("line 1:"));
    // What ssh could hand a shell is refused, with its line.
    for (text, line) in [
        ("web1 ansible_host='$(touch /tmp/x)'\n", 1),
        ("# fleet\nweb1 ansible_ssh_host=`id`\n", 2),
        ("web1\n[all:vars]\nansible_user=\"a;b\"\n", 3),
        ("web1 ansible_ssh_user=-oProxyCommand=x\n", 1),
        ("ok\nweb$(id)\n", 2),
        ("ok\n-oProxyCommand=x\n", 2),
    ] {
        let e = Inventory::parse(text).unwrap_err().to_string();
        assert!(e.starts_with(&format!("line {line}: ")), "{text:?}: {e}");
    }
    let e = Inventory::parse("web1 ansible_host='$(touch /tmp/x)'\n").unwrap_err();
    assert_eq!(
        e,
        InventoryError::Line {
            line: 1,
            problem: LineProblem::Var(BadVar {
                key: "ansible_host".into(),
                why: TargetError::NotAHost("$(touch /tmp/x)".into()),
            }),
        }
    );
    assert_eq!(
        e.to_string(),
        "line 1: ansible_host: \"$(touch /tmp/x)\" is not a host name or an IP address"
    );
    assert!(Inventory::parse("[web]\nx novalue")
        .unwrap_err()
        .to_string()
        .starts_with("line 2:"));
    assert!(Inventory::parse("[web:weird]").is_err());
    assert!(Inventory::parse("a[3:1]").is_err());
    assert!(Inventory::parse("-oProxyCommand=x").is_err());
    let bad_port = Inventory::parse("a ansible_port=x").unwrap();
    assert!(bad_port.targets(None, &base).is_err());
}

#[test]
fn host_ranges() {
    assert_eq!(expand_host_ranges("a[1:3]").unwrap(), ["a1", "a2", "a3"]);
    assert_eq!(
        expand_host_ranges("a[08:10]b").unwrap(),
        ["a08b", "a09b", "a10b"]
    );
    assert_eq!(expand_host_ranges("[a:c]-[1:2]").unwrap().len(), 6);
    assert_eq!(expand_host_ranges("n[0:8:4]").unwrap(), ["n0", "n4", "n8"]);
}
