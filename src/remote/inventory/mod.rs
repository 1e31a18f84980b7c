//! The fleet: a host list or an Ansible-style INI inventory, and the
//! [`Remote`] each of its hosts becomes.

use super::error::TargetError;
use super::target::{check_destination, check_host, check_user, Remote};

/// Why an inventory cannot be read, or a host of it cannot be reached as
/// it says.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    /// A line of the inventory (counted from 1) cannot be read.
    #[error("line {line}: {problem}")]
    Line { line: usize, problem: LineProblem },
    /// `--ssh-group` names no group of the inventory.
    #[error("no group \"{group}\" in the inventory (groups: {})", group_list(.known))]
    NoGroup { group: String, known: Vec<String> },
    /// A host's variables do not make a server to reach.
    #[error("host {host}: {problem}")]
    Host { host: String, problem: HostProblem },
}

fn group_list(known: &[String]) -> String {
    if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    }
}

/// What is wrong with a line of an inventory.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineProblem {
    /// A quote that is not closed on its line.
    #[error("unclosed {0}")]
    UnclosedQuote(char),
    /// A host range with no `]`.
    #[error("unclosed [ in host pattern {0}")]
    UnclosedRange(String),
    /// A host range that is not `[01:20]`, `[a:f]` or with a step.
    #[error("bad host range [{spec}] in {pattern} (use [01:20] or [a:f])")]
    BadRange { spec: String, pattern: String },
    /// A `[` section header with no `]`.
    #[error("unclosed section header {0}")]
    UnclosedSection(String),
    /// `[]` or `[:vars]`.
    #[error("a section needs a group name")]
    NoGroupName,
    /// `[group:KIND]` with a kind other than hosts, children or vars.
    #[error("unknown section kind \"{0}\"")]
    UnknownSectionKind(String),
    /// A word after a host that is not a variable.
    #[error("\"{0}\" is not KEY=VALUE (host lines are: HOST KEY=VALUE…)")]
    HostWordNotKeyValue(String),
    /// A line of a `[group:vars]` section that is not a variable.
    #[error("\"{0}\" is not KEY=VALUE")]
    VarNotKeyValue(String),
    /// An `ansible_host` or `ansible_user` that ssh could hand a shell.
    #[error(transparent)]
    Var(BadVar),
    /// A host that is not an ssh destination.
    #[error(transparent)]
    Destination(TargetError),
}

/// What is wrong with the variables of one host.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostProblem {
    /// `ansible_port` that is not a number.
    #[error("{key}={value} is not a port number")]
    NotAPort { key: String, value: String },
    /// An `ansible_host` or `ansible_user` that ssh could hand a shell.
    #[error(transparent)]
    Var(BadVar),
    /// A value that is empty or holds a quote or a line break.
    #[error("{key}={value:?} is empty or holds a quote")]
    EmptyOrQuote { key: String, value: String },
    /// The server made of the host is refused ([`Remote::validate`]).
    #[error(transparent)]
    Target(TargetError),
}

/// An inventory variable (`key`) whose value is not a host or user name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {why}")]
pub struct BadVar {
    pub key: String,
    pub why: TargetError,
}

/// A host of an inventory, with the variables given on its own lines.
#[derive(Clone, Debug, PartialEq, Eq)]
struct InventoryHost {
    name: String,
    vars: Vec<(String, String)>,
}

/// A group of an inventory: its hosts (indexes into the hosts), the
/// groups it includes (`[NAME:children]`) and its `[NAME:vars]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct InventoryGroup {
    name: String,
    hosts: Vec<usize>,
    children: Vec<String>,
    vars: Vec<(String, String)>,
}

/// A fleet: one `[user@]host` per line (`#` comments), or an Ansible-style
/// INI inventory (`[group]`, `[group:children]`, `[group:vars]`, host lines
/// with `ansible_host=`, `ansible_user=`, `ansible_port=`,
/// `ansible_ssh_private_key_file=`, `ansible_become=`, host ranges such as
/// `web[01:20].example.com`; `hopscope_nginx=` and `hopscope_nginx_conf=`
/// set `--nginx` and `--nginx-conf` for a host or group).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    hosts: Vec<InventoryHost>,
    groups: Vec<InventoryGroup>,
}

/// Splits a line into words: whitespace separates, quotes group, a word
/// starting with `#` or `;` starts a comment.
fn split_quoted_words(line: &str) -> Result<Vec<String>, LineProblem> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                in_word = true;
                let mut closed = false;
                while let Some(q) = chars.next() {
                    if q == c {
                        closed = true;
                        break;
                    }
                    if q == '\\' && c == '"' {
                        if let Some(e) = chars.next() {
                            cur.push(e);
                        }
                        continue;
                    }
                    cur.push(q);
                }
                if !closed {
                    return Err(LineProblem::UnclosedQuote(c));
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '#' | ';' if !in_word => break,
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// Expands Ansible host ranges: `web[01:03]` → web01, web02, web03;
/// `db-[a:c]` → db-a, db-b, db-c; `[1:9:2]` steps by 2.
fn expand_host_ranges(pattern: &str) -> Result<Vec<String>, LineProblem> {
    let Some(open) = pattern.find('[') else {
        return Ok(vec![pattern.to_string()]);
    };
    let close = pattern[open..]
        .find(']')
        .map(|i| open + i)
        .ok_or_else(|| LineProblem::UnclosedRange(pattern.to_string()))?;
    let (head, spec, tail) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    let parts: Vec<&str> = spec.split(':').collect();
    let bad = || LineProblem::BadRange {
        spec: spec.to_string(),
        pattern: pattern.to_string(),
    };
    if !(2..=3).contains(&parts.len()) {
        return Err(bad());
    }
    let step: usize = match parts.get(2) {
        Some(s) => s.parse().ok().filter(|&s| s > 0).ok_or_else(bad)?,
        None => 1,
    };
    let (a, b) = (parts[0], parts[1]);
    let items: Vec<String> = if let (Ok(x), Ok(y)) = (a.parse::<u64>(), b.parse::<u64>()) {
        if x > y || y - x > 10_000 {
            return Err(bad());
        }
        let width = if a.len() > 1 && a.starts_with('0') {
            a.len()
        } else {
            0
        };
        (x..=y)
            .step_by(step)
            .map(|n| format!("{n:0width$}"))
            .collect()
    } else {
        let (Some(x), Some(y)) = (a.chars().next(), b.chars().next()) else {
            return Err(bad());
        };
        if a.len() != 1 || b.len() != 1 || !x.is_ascii_alphabetic() || x > y {
            return Err(bad());
        }
        (x..=y).step_by(step).map(String::from).collect()
    };
    let mut out = Vec::new();
    for item in items {
        for rest in expand_host_ranges(tail)? {
            out.push(format!("{head}{item}{rest}"));
        }
    }
    Ok(out)
}

/// `host:port`, as Ansible allows (not for IPv6 literals): the host and
/// the port.
fn split_port(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once(':') {
        Some((host, port))
            if !host.contains(':')
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (host, Some(port))
        }
        _ => (name, None),
    }
}

/// Refuses an inventory's `ansible_host` or `ansible_user` that is not a
/// host name (or IP address) or a user name: the person's ssh
/// configuration may hand them to a shell (`ProxyCommand … %h`).
fn check_inventory_var(key: &str, value: &str) -> Result<(), BadVar> {
    match key {
        "ansible_host" | "ansible_ssh_host" => check_host(value),
        "ansible_user" | "ansible_ssh_user" => check_user(value),
        _ => return Ok(()),
    }
    .map_err(|why| BadVar {
        key: key.to_string(),
        why,
    })
}

fn split_key_value(word: &str) -> Option<(String, String)> {
    let (k, v) = word.split_once('=')?;
    let k = k.trim();
    (!k.is_empty()).then(|| (k.to_string(), v.trim().to_string()))
}

impl Inventory {
    /// Reads an inventory; errors name the line.
    pub fn parse(text: &str) -> Result<Inventory, InventoryError> {
        enum Section {
            Hosts(usize),
            Children(usize),
            Vars(usize),
        }
        let mut inv = Inventory::default();
        let mut section = Section::Hosts(inv.group_index("ungrouped"));
        for (n, raw) in text.lines().enumerate() {
            let at = |problem: LineProblem| InventoryError::Line {
                line: n + 1,
                problem,
            };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(inner) = line.strip_prefix('[') {
                let inner = inner
                    .split_once(']')
                    .map(|(i, _)| i.trim())
                    .ok_or_else(|| at(LineProblem::UnclosedSection(line.to_string())))?;
                let (name, kind) = inner.split_once(':').unwrap_or((inner, ""));
                if name.is_empty() {
                    return Err(at(LineProblem::NoGroupName));
                }
                let g = inv.group_index(name);
                section = match kind {
                    "" | "hosts" => Section::Hosts(g),
                    "children" => Section::Children(g),
                    "vars" => Section::Vars(g),
                    other => return Err(at(LineProblem::UnknownSectionKind(other.to_string()))),
                };
                continue;
            }
            let fields = split_quoted_words(line).map_err(at)?;
            let Some(first) = fields.first() else {
                continue;
            };
            match section {
                Section::Hosts(g) => {
                    let mut vars = Vec::new();
                    for word in &fields[1..] {
                        vars.push(
                            split_key_value(word).ok_or_else(|| {
                                at(LineProblem::HostWordNotKeyValue(word.clone()))
                            })?,
                        );
                    }
                    for (k, v) in &vars {
                        check_inventory_var(k, v).map_err(|e| at(LineProblem::Var(e)))?;
                    }
                    for name in expand_host_ranges(first).map_err(at)? {
                        check_destination(split_port(&name).0)
                            .map_err(|e| at(LineProblem::Destination(e)))?;
                        let h = inv.host_index(&name);
                        inv.hosts[h].vars.extend(vars.iter().cloned());
                        if !inv.groups[g].hosts.contains(&h) {
                            inv.groups[g].hosts.push(h);
                        }
                    }
                }
                Section::Children(g) => {
                    let child = first.clone();
                    inv.group_index(&child);
                    if !inv.groups[g].children.contains(&child) {
                        inv.groups[g].children.push(child);
                    }
                }
                Section::Vars(g) => {
                    let (key, value) = split_key_value(line)
                        .ok_or_else(|| at(LineProblem::VarNotKeyValue(line.to_string())))?;
                    let value = split_quoted_words(&value).map_err(at)?.join(" ");
                    check_inventory_var(&key, &value).map_err(|e| at(LineProblem::Var(e)))?;
                    inv.groups[g].vars.push((key, value));
                }
            }
        }
        Ok(inv)
    }

    /// The index of the group `name`, added when new.
    fn group_index(&mut self, name: &str) -> usize {
        if let Some(i) = self.groups.iter().position(|g| g.name == name) {
            return i;
        }
        self.groups.push(InventoryGroup {
            name: name.to_string(),
            ..InventoryGroup::default()
        });
        self.groups.len() - 1
    }

    /// The index of the host `name`, added when new.
    fn host_index(&mut self, name: &str) -> usize {
        if let Some(i) = self.hosts.iter().position(|h| h.name == name) {
            return i;
        }
        self.hosts.push(InventoryHost {
            name: name.to_string(),
            vars: Vec::new(),
        });
        self.hosts.len() - 1
    }

    /// InventoryGroup names, in the order they appear.
    pub fn group_names(&self) -> Vec<&str> {
        self.groups
            .iter()
            .filter(|g| !g.hosts.is_empty() || !g.children.is_empty())
            .map(|g| g.name.as_str())
            .collect()
    }

    /// The hosts of a group and its children (indexes, in file order).
    fn members(&self, group: &str) -> Vec<usize> {
        let mut seen = vec![false; self.groups.len()];
        let mut out = Vec::new();
        let mut stack = vec![group.to_string()];
        while let Some(name) = stack.pop() {
            let Some(g) = self.groups.iter().position(|g| g.name == name) else {
                continue;
            };
            if std::mem::replace(&mut seen[g], true) {
                continue;
            }
            out.extend(self.groups[g].hosts.iter().copied());
            stack.extend(self.groups[g].children.iter().cloned());
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Every host's name, in file order.
    pub fn host_names(&self) -> Vec<&str> {
        self.hosts.iter().map(|h| h.name.as_str()).collect()
    }

    /// The servers to audit: every host, or those of `group` (with its
    /// children; `all` is every host, `ungrouped` those in no group), each
    /// made from `base` with its inventory variables as ssh options.
    pub fn targets(
        &self,
        group: Option<&str>,
        base: &Remote,
    ) -> Result<Vec<Remote>, InventoryError> {
        let chosen: Vec<usize> = match group {
            None | Some("all") => (0..self.hosts.len()).collect(),
            Some("ungrouped") => (0..self.hosts.len())
                .filter(|&h| {
                    !self.groups.iter().any(|g| {
                        g.name != "ungrouped"
                            && g.name != "all"
                            && self.members(&g.name).contains(&h)
                    })
                })
                .collect(),
            Some(g) => {
                if !self.groups.iter().any(|x| x.name == g) {
                    return Err(InventoryError::NoGroup {
                        group: g.to_string(),
                        known: self.group_names().into_iter().map(String::from).collect(),
                    });
                }
                self.members(g)
            }
        };
        chosen
            .into_iter()
            .map(|h| self.remote_for_host(h, base))
            .collect()
    }

    /// The variables of a host: `all`'s, then its groups' (in file order),
    /// then its own; the last value of a key wins.
    fn host_vars(&self, h: usize) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = Vec::new();
        if let Some(all) = self.groups.iter().find(|g| g.name == "all") {
            vars.extend(all.vars.iter().cloned());
        }
        for g in &self.groups {
            if g.name != "all" && self.members(&g.name).contains(&h) {
                vars.extend(g.vars.iter().cloned());
            }
        }
        vars.extend(self.hosts[h].vars.iter().cloned());
        vars
    }

    fn remote_for_host(&self, h: usize, base: &Remote) -> Result<Remote, InventoryError> {
        let name = &self.hosts[h].name;
        let refused = |problem: HostProblem| InventoryError::Host {
            host: name.clone(),
            problem,
        };
        let mut r = base.clone();
        r.host = name.clone();
        r.destination = name.clone();
        let mut opts: Vec<(&str, String)> = Vec::new();
        let mut vars = self.host_vars(h);
        // `host:port`, as Ansible allows (not for IPv6 literals): a host
        // variable, before those written on the host's line.
        if let (host, Some(port)) = split_port(name) {
            r.destination = host.to_string();
            let at = vars.len() - self.hosts[h].vars.len();
            vars.insert(at, ("ansible_port".into(), port.to_string()));
        }
        let mut escalate = None;
        for (k, v) in vars {
            let opt = match k.as_str() {
                "ansible_host" | "ansible_ssh_host" => "HostName",
                "ansible_port" | "ansible_ssh_port" => {
                    if !v.bytes().all(|b| b.is_ascii_digit()) || v.is_empty() {
                        return Err(refused(HostProblem::NotAPort { key: k, value: v }));
                    }
                    "Port"
                }
                "ansible_user" | "ansible_ssh_user" => "User",
                "ansible_ssh_private_key_file" | "ansible_private_key_file" => "IdentityFile",
                "hopscope_nginx" => {
                    r.nginx = v;
                    continue;
                }
                "hopscope_nginx_conf" => {
                    r.nginx_conf = Some(v);
                    continue;
                }
                "ansible_become" => {
                    escalate = Some(matches!(
                        v.to_ascii_lowercase().as_str(),
                        "true" | "yes" | "1" | "on"
                    ));
                    continue;
                }
                _ => continue,
            };
            check_inventory_var(&k, &v).map_err(|e| refused(HostProblem::Var(e)))?;
            if v.is_empty() || v.contains(['\n', '"']) {
                return Err(refused(HostProblem::EmptyOrQuote { key: k, value: v }));
            }
            // ssh reads `-o` like a configuration line: quote spaces.
            let v = if v.contains(char::is_whitespace) {
                format!("\"{v}\"")
            } else {
                v
            };
            opts.retain(|(o, _)| *o != opt);
            opts.push((opt, v));
        }
        r.sudo = base.sudo || escalate.unwrap_or(false);
        let mut ssh_options: Vec<String> =
            opts.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        ssh_options.extend(base.ssh_options.iter().cloned());
        r.ssh_options = ssh_options;
        r.validate().map_err(|e| refused(HostProblem::Target(e)))?;
        Ok(r)
    }
}

#[cfg(test)]
mod tests;
