//! The command line's arguments: clap's structs, their help text and
//! examples, and the checks of their values.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::error::fail;
use crate::diagnostic::{Finding, Severity};
use crate::jobs::Source;
use crate::model::{Model, Version};
use crate::rules::{self, Rule};
use crate::settings::{self, ProjectFile, Settings};

const EXAMPLES: &str = "\
Examples:
  hopscope                              explore the built-in demo in the terminal UI
  hopscope /etc/nginx                   explore a live configuration
  nginx -T | hopscope -                 explore what nginx really loaded (works over SSH)
  hopscope --ssh web1 --sudo            explore a server's configuration over SSH
  hopscope --exec 'docker exec web nginx -T'   explore a container's configuration
  hopscope hops /etc/nginx --json       every upstream TLS hop with effective settings
  hopscope check /etc/nginx             findings, as compiler-style diagnostics
  hopscope explain sni-off              what a rule flags, why, and how to fix it
  hopscope hops --nginx-version 1.22.1  the demo with nginx 1.22's defaults";

const HOPS_EXAMPLES: &str = "\
Examples:
  hopscope hops                         the hops of the built-in demo
  hopscope hops /etc/nginx              every hop: target, SNI, verify name, settings
  hopscope hops /etc/nginx --json       the same as JSON (hopscope.hops/1), with findings
  nginx -T 2>/dev/null | hopscope hops -   what nginx really loaded";

const CHECK_EXAMPLES: &str = "\
Examples:
  hopscope check /etc/nginx                       diagnostics for every finding at low or above
  hopscope check /etc/nginx --min-severity high   only high and error findings (and exit code)
  hopscope check --rule sni-off --rule verify-off only these rules
  hopscope check /etc/nginx --ignore verify-off   every rule but one
  hopscope check /etc/nginx --probe               probe first, and let the answers weigh in
  hopscope check . --format sarif > hopscope.sarif   for GitHub code scanning
  hopscope check . --format github                annotations in a GitHub Actions job
  hopscope check . --format gitlab > gl-code-quality-report.json   GitLab Code Quality
  hopscope check /etc/nginx --profile cis-nginx   CIS NGINX Benchmark items, per hop
  nginx -T 2>/dev/null | hopscope check - --format json
  hopscope check --ssh deploy@web1 --sudo         a server over SSH (runs nginx -T there)
  hopscope check --ssh-hosts hosts.ini --ssh-group web --format json   a fleet, 8 hosts at a time
  hopscope check nginx/ --show-settings          the settings in effect, and where each comes from
  hopscope check nginx/ --update-baseline hopscope-baseline.json   accept today's findings
  hopscope check nginx/ --baseline hopscope-baseline.json          fail only on new findings

Settings: hopscope.toml (or .hopscope.toml) in the tree's directory or above
(select, ignore, min-severity, nginx-version, root, baseline, [severity],
[per-file-ignores]); flags win over it. See the README.

Exit status: 0 no finding at or above --min-severity that is neither
suppressed nor in the baseline; 1 some;
2 usage error, or part of the configuration could not be loaded (the
findings are still printed).

Suppress a finding with a comment on the directive's line or the line above:
  proxy_pass https://backend;  # hopscope: ignore sni-off backend has one name";

const EXPLAIN_EXAMPLES: &str = "\
Examples:
  hopscope explain --list               every rule with its severity and summary
  hopscope explain sni-off              the teaching text of one rule";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  hopscope completions bash > /etc/bash_completion.d/hopscope
  hopscope completions zsh > \"${fpath[1]}/_hopscope\"
  hopscope completions fish > ~/.config/fish/completions/hopscope.fish";

const FIX_EXAMPLES: &str = "\
Examples:
  hopscope fix /etc/nginx                              the diff of every fix (nothing is written)
  hopscope fix /etc/nginx --rule sni-off --write       turn SNI on where it is off, and save
  hopscope fix /etc/nginx --hop conf.d/api.conf:12 --set sni-name=api.example.com --write --validate
  nginx -T | hopscope fix - > fix.diff                 a patch for a remote server (apply with patch -p1 in /etc/nginx)
  hopscope fix --ssh web1 --sudo --rule sni-off --apply --reload   fix on the server: backups, nginx -t, rollback

Exit status: 0 something was fixed; 1 nothing to fix; 2 error.
Values: sni-name (host name the upstream's certificate is for), ca-file (CA bundle),
client-key (key of the client certificate). HOP:KEY=VALUE gives one hop its value (ids as
`hopscope hops` prints them, e.g. common.conf:2@nginx.conf:13:sni-name=api.example.com).
KEY=VALUE is used only when exactly one hop's selected fixes need KEY (narrow them with --hop
or --rule); otherwise it is refused with the HOP:KEY=VALUE of each hop that needs it. It is
bound to that hop before any fix: a hop a later round makes need KEY is left unfixed and listed.
Values are checked as given: a host name without scheme, path, spaces, quotes or wildcard, not
an IP address (a :port is cut by nginx, and noted); a file path that exists where the tree's
files are on this machine (noted as not looked up for a dump or a copy).
A proposed value (e.g. the system CA bundle for ca-file) is used only for a rule named with --rule.";

/// Where `fix` puts new lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlacementArg {
    /// The hop's own block (location, or stream server): changes only that block.
    Hop,
    /// The block that sets the value today (may be http or a shared include).
    Defining,
}

impl From<PlacementArg> for crate::fix::Placement {
    fn from(p: PlacementArg) -> Self {
        match p {
            PlacementArg::Hop => crate::fix::Placement::Hop,
            PlacementArg::Defining => crate::fix::Placement::Defining,
        }
    }
}

const PROBE_EXAMPLES: &str = "\
Examples:
  hopscope probe /etc/nginx                        every peer of every hop, as nginx would connect
  hopscope probe /etc/nginx --hop conf.d/api.conf:12 --format json
  hopscope fix /etc/nginx --hop conf.d/api.conf:12 --set sni-name=api.example.com --probe
  hopscope probe --ssh web1 --sudo --deadline 60   from the server: its network, names and CA files

Per peer: connected or not and why in plain words, protocol and cipher, the
certificate chain, whether the verify name matches, and whether the chain
passes with the hop's CA and depth. Only the peers the configuration names
are contacted. A dump or standard input names files on another machine:
their client certificates, CA files and unix sockets are left out (with a
note) unless --local-files says they are this machine's. With --ssh the
peers are dialled from the server (ssh -W over one connection), its CA and
CRL files read there; client keys stay there (probed without) and unix
sockets are not probed. Exit status: 0 every probed peer works as
configured; 1 some do not; 2 error.";

const MAN_EXAMPLES: &str = "\
Examples:
  hopscope man > /usr/local/share/man/man1/hopscope.1
  hopscope man | man -l -";

#[derive(Parser, Debug)]
#[command(
    name = "hopscope",
    version,
    long_version = long_version(),
    about = "Audit the TLS hops nginx makes to its upstreams: effective settings, the SNI nginx really sends, risks that teach, safe fixes.",
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Terminal UI theme: dark, light, high-contrast, or a TOML file
    /// (default: `theme` in ~/.config/hopscope/config.toml, else dark;
    /// monochrome when NO_COLOR is set).
    #[arg(long, value_name = "NAME|FILE")]
    pub theme: Option<String>,
    /// Terminal UI: save without first running `nginx -t` on a test copy of
    /// the unchanged and the fixed tree (by default it runs when nginx is found).
    #[arg(long)]
    pub no_validate: bool,
}

#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// nginx.conf, a directory holding one, a file with `nginx -T` output, or
    /// `-` for standard input. Without it: the built-in demo.
    pub path: Option<PathBuf>,
    /// The nginx version whose defaults and directives apply [default:
    /// `nginx -v` on PATH for a tree here, the server's for --ssh, a
    /// dump's `nginx version:` line, else the newest stable release
    /// hopscope knows].
    #[arg(long, value_name = "X.Y.Z", value_parser = parse_version, global = true)]
    pub nginx_version: Option<Version>,
    /// A copy of the server's file system: certificate, key, CA and
    /// password files are looked up under DIR (`/etc/ssl/x.pem` is
    /// DIR/etc/ssl/x.pem), never outside it. Without it they are looked up
    /// only for a tree in its installed place (/etc/nginx, …), or inside the
    /// tree's own directory.
    #[arg(long, value_name = "DIR", global = true)]
    pub root: Option<PathBuf>,
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// The project file to use [default: hopscope.toml or .hopscope.toml in
    /// the tree's directory or the nearest one above it; the current
    /// directory's for the demo, standard input, a dump or --ssh].
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Use no project file (flags and defaults only).
    #[arg(long, global = true, conflicts_with = "config")]
    pub no_config: bool,
}

/// `--version`: hopscope's version and the nginx releases it models.
fn long_version() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        format!(
            "{}\n{}",
            env!("CARGO_PKG_VERSION"),
            crate::model::directives::known_versions_text()
        )
    })
}

fn parse_version(s: &str) -> Result<Version, String> {
    s.parse()
        .map_err(|e: crate::model::VersionError| e.to_string())
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
        .map_err(|e: crate::diagnostic::SeverityError| e.to_string())
}

/// A known rule id, or an error that lists the valid ones.
fn parse_rule(s: &str) -> Result<&'static str, String> {
    rules::find(s).map(|r| r.id).ok_or_else(|| unknown_rule(s))
}

pub use crate::rules::unknown_rule;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List every upstream TLS hop with the effective value and origin of each *_ssl_* directive.
    #[command(after_help = HOPS_EXAMPLES)]
    Hops {
        #[command(flatten)]
        load: LoadArgs,
        /// Print the JSON document of the output contract (hopscope.hops/1).
        #[arg(long)]
        json: bool,
    },
    /// Report findings: hops that send no or the wrong SNI, skip certificate checks, and more.
    #[command(after_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Explain a rule: what it flags, why it matters, an example and its fix.
    #[command(after_help = EXPLAIN_EXAMPLES)]
    Explain {
        /// The rule id (see `hopscope explain --list`).
        #[arg(value_name = "RULE", value_parser = parse_rule, required_unless_present = "list")]
        rule: Option<&'static str>,
        /// List every rule: id, severity, summary.
        #[arg(long, conflicts_with = "rule")]
        list: bool,
    },
    /// Apply proposed fixes: print a unified diff, or save safely.
    #[command(after_help = FIX_EXAMPLES)]
    Fix(FixArgs),
    /// Open TLS to every peer of each hop exactly as nginx would, and report what it answers.
    #[command(after_help = PROBE_EXAMPLES)]
    Probe(ProbeArgs),
    /// Print a shell completion script.
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    #[command(after_help = MAN_EXAMPLES)]
    Man,
}

/// Output format of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Diagnostics like a compiler's, with the source line underlined.
    Text,
    /// The JSON document of the output contract (hopscope.check/1).
    Json,
    /// SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// GitHub Actions workflow commands (annotations): error for high and
    /// error findings, warning for medium, notice for low and info.
    Github,
    /// GitLab Code Quality JSON: blocker (error), critical (high), major
    /// (medium), minor (low), info (info).
    Gitlab,
}

/// When to colour text output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When standard output is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// `always`/`never` win; `auto` colours a terminal unless `NO_COLOR`
    /// is set to a non-empty value.
    pub fn resolve(self, is_terminal: bool, no_color: Option<&str>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && !matches!(no_color, Some(v) if !v.is_empty()),
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Report (and fail on) findings at or above this severity:
    /// error, high, medium, low or info [default: `min-severity` of
    /// hopscope.toml, else low].
    #[arg(long, value_name = "S", value_parser = parse_severity)]
    pub min_severity: Option<Severity>,
    /// Run only this rule (repeatable; replaces `select` of hopscope.toml).
    #[arg(long = "rule", value_name = "ID", value_parser = parse_rule)]
    pub rules: Vec<&'static str>,
    /// Skip this rule (repeatable; replaces `ignore` of hopscope.toml).
    #[arg(long = "ignore", value_name = "ID", value_parser = parse_rule)]
    pub ignore: Vec<&'static str>,
    /// Colour the text output.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Probe the peers of the hops whose findings a handshake can back
    /// (no or wrong SNI, verify-off) first, and let what they answer weigh
    /// in: confirmed is high, contradicted one step lower (see README).
    #[arg(long, conflicts_with = "ssh_hosts")]
    pub probe: bool,
    /// With --probe: seconds each peer gets in all (connect, handshake, the
    /// wait after it).
    #[arg(long, value_name = "S", default_value_t = 5.0, requires = "probe")]
    pub probe_timeout: f64,
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// Also report a compliance profile: per benchmark item, pass or fail
    /// for every hop with the effective values and where they come from
    /// (text, json and sarif).
    #[arg(long, value_enum, value_name = "NAME")]
    pub profile: Option<ProfileArg>,
    /// Print the settings in effect and where each comes from (flag, the
    /// project file's line, default), then exit.
    #[arg(long, conflicts_with = "ssh_hosts")]
    pub show_settings: bool,
    /// Report (and fail on) only findings not in this baseline file, and
    /// list its entries that no longer occur [default: `baseline` of hopscope.toml].
    #[arg(long, value_name = "FILE", conflicts_with = "ssh_hosts")]
    pub baseline: Option<PathBuf>,
    /// Write the current findings to FILE as the baseline, then exit.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["baseline", "show_settings", "ssh_hosts"])]
    pub update_baseline: Option<PathBuf>,
}

/// A compliance profile of `check --profile`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// CIS NGINX Benchmark v3.0.0, its upstream TLS items.
    CisNginx,
}

impl CheckArgs {
    /// The rules selected by `--rule` and `--ignore`, in registry order.
    pub fn selected_rules(&self) -> Vec<&'static Rule> {
        rules::registry()
            .iter()
            .copied()
            .filter(|r| self.rules.is_empty() || self.rules.contains(&r.id))
            .filter(|r| !self.ignore.contains(&r.id))
            .collect()
    }

    /// Whether a finding passes the rule and severity filters.
    pub fn keeps(&self, f: &Finding) -> bool {
        (self.rules.is_empty() || self.rules.contains(&f.rule))
            && !self.ignore.contains(&f.rule)
            && f.severity >= self.min_severity.unwrap_or(Severity::Low)
    }

    /// The command line's part of the settings.
    pub fn flags(&self) -> crate::settings::Flags {
        crate::settings::Flags {
            select: self.rules.clone(),
            ignore: self.ignore.clone(),
            min_severity: self.min_severity,
            nginx_version: self.load.nginx_version,
            root: self.load.root.clone(),
            baseline: self.baseline.clone(),
        }
    }
}

impl LoadArgs {
    /// What to load: `--ssh`'s server, else the path (none: the demo,
    /// `-`: standard input).
    pub fn source(&self) -> Result<Source, String> {
        if let Some(exec) = self.remote.exec_command()? {
            return Ok(Source::Exec(exec));
        }
        Ok(match self.remote.target()? {
            Some(remote) => Source::Ssh(remote),
            None => Source::from_arg(self.path.as_deref()),
        })
    }

    /// The project file that applies: `--config`, else the one found from
    /// the tree's directory upwards; none with `--no-config`.
    pub fn project_file(&self) -> Result<Option<ProjectFile>, String> {
        if self.no_config {
            return Ok(None);
        }
        let path = match &self.config {
            Some(p) => Some(p.clone()),
            None => settings::file::discover(&settings::search_start(self.path.as_deref()))
                .map_err(|e| e.to_string())?,
        };
        path.map(|p| ProjectFile::read(&p).map_err(|e| e.to_string()))
            .transpose()
    }

    /// `flags` over the project file over the defaults (this struct's
    /// `--nginx-version` and `--root` are flags too).
    pub fn settings(&self, mut flags: settings::Flags) -> Result<Settings, String> {
        flags.nginx_version = flags.nginx_version.or(self.nginx_version);
        flags.root = flags.root.or_else(|| self.root.clone());
        Ok(Settings::resolve(&flags, self.project_file()?.as_ref()))
    }

    /// Loads and analyses, or explains on stderr why it cannot.
    pub fn model(&self) -> Result<Model, ExitCode> {
        let settings = self.settings(settings::Flags::default()).map_err(fail)?;
        self.model_with(&settings)
    }

    /// [`Self::model`] with the nginx version and root of `settings`.
    pub fn model_with(&self, settings: &Settings) -> Result<Model, ExitCode> {
        let source = self.source().map_err(fail)?;
        let mut model = source
            .load_rooted(settings.nginx_version.value, settings.root.value.as_deref())
            .map_err(fail)?;
        settings.label_version(&mut model);
        Ok(model)
    }
}

/// Output format of `probe`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProbeFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Probe only this hop, by id FILE:LINE (FILE:LINE@INCLUDE… for one include path of a file included in several places; repeatable).
    #[arg(long, value_name = "ID")]
    pub hop: Vec<String>,
    /// Seconds each peer gets in all: connect, handshake and the wait for a
    /// refusal after it (one deadline, however slowly the peer answers).
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    pub timeout: f64,
    /// How many peers to probe at once.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub concurrency: usize,
    /// Seconds the whole run may take: peers still going then end, and
    /// peers not started are reported as not probed (default: no bound
    /// beyond each peer's --timeout).
    #[arg(long, value_name = "S")]
    pub deadline: Option<f64>,
    #[arg(long, value_enum, default_value_t = ProbeFormat::Text)]
    pub format: ProbeFormat,
    /// The files and unix sockets the configuration names are on this machine:
    /// present its client certificates, read its CA files and connect to its
    /// unix sockets even for a dump, standard input or --ssh (a tree loaded
    /// from disk always does).
    #[arg(long)]
    pub local_files: bool,
}

#[derive(Args, Debug)]
pub struct FixArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Fix only findings of this rule (repeatable).
    #[arg(long, value_name = "ID")]
    pub rule: Vec<String>,
    /// Fix only this hop, by id FILE:LINE (FILE:LINE@INCLUDE… for one include path of a file included in several places; repeatable).
    #[arg(long, value_name = "ID")]
    pub hop: Vec<String>,
    /// A value a fix needs: sni-name, ca-file, client-key (HOP:KEY=VALUE for one hop; KEY=VALUE only when exactly one hop needs KEY).
    #[arg(long, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Where lines go: the hop's own block, or the block that sets the value today.
    #[arg(long, value_enum, default_value_t = PlacementArg::Hop)]
    pub placement: PlacementArg,
    /// Leave out fixes that need review (e.g. turning verification on).
    #[arg(long)]
    pub safe_only: bool,
    /// Print the unified diff (the default).
    #[arg(long, conflicts_with = "write")]
    pub diff: bool,
    /// Save the files: atomically, with a backup, refusing files changed since loading.
    #[arg(long)]
    pub write: bool,
    /// Run `nginx -t` on a temporary copy with the fix applied first (and on the
    /// unchanged tree, to tell "already failing" from "broken by this fix");
    /// refuse when the fix breaks it. With --write this is the default when
    /// nginx is found; --validate makes a missing nginx an error.
    #[arg(long, conflicts_with = "no_validate")]
    pub validate: bool,
    /// With --write: skip the `nginx -t` check that runs by default when nginx is found.
    #[arg(long)]
    pub no_validate: bool,
    /// Also probe the fixed hops' peers as nginx would connect after the fix
    /// (what-if: nothing needs to be written for this).
    #[arg(long)]
    pub probe: bool,
    /// With --probe: the files and unix sockets the configuration names are on
    /// this machine; use them even for a dump, standard input or --ssh.
    #[arg(long, requires = "probe")]
    pub local_files: bool,
    /// The diff (text), or a JSON document: the fixes applied and not, the
    /// diff, and with --probe each fixed hop's peers before and after.
    #[arg(long, value_enum, default_value_t = ProbeFormat::Text, conflicts_with_all = ["write", "apply"])]
    pub format: ProbeFormat,
    /// With --ssh: write the fixed files on the server (backups kept), run
    /// `nginx -t` there, and put every file back if it fails.
    #[arg(long)]
    pub apply: bool,
    /// With --apply: reload nginx on the server once `nginx -t` accepts the fix.
    #[arg(long, requires = "apply")]
    pub reload: bool,
}

/// `--ssh` and its companions: load the configuration from a server, with
/// the system ssh client.
#[derive(Args, Debug, Clone, Default)]
pub struct RemoteArgs {
    /// Audit a server over SSH: run `nginx -T` there with the system ssh
    /// client (~/.ssh/config, agents and jump hosts apply; batch mode: no prompts).
    #[arg(
        long,
        help_heading = "Over SSH",
        value_name = "[USER@]HOST",
        conflicts_with = "path"
    )]
    pub ssh: Option<String>,
    /// Run nginx (and fix --apply) on the server under `sudo -n` (passwordless sudo).
    #[arg(long, help_heading = "Over SSH")]
    pub sudo: bool,
    /// The ssh configuration file (`ssh -F FILE`).
    #[arg(long, help_heading = "Over SSH", value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
    /// An ssh option (`ssh -o OPT`, e.g. Port=2222); repeatable.
    #[arg(long = "ssh-option", help_heading = "Over SSH", value_name = "OPT")]
    pub ssh_option: Vec<String>,
    /// The nginx binary on the server [default: nginx].
    #[arg(long, help_heading = "Over SSH", value_name = "CMD")]
    pub nginx: Option<String>,
    /// The main configuration file on the server (`nginx -c PATH`; default: nginx's own).
    #[arg(long, help_heading = "Over SSH", value_name = "PATH")]
    pub nginx_conf: Option<String>,
    /// Seconds one ssh run may take (connecting, nginx, answering).
    #[arg(
        long,
        help_heading = "Over SSH",
        value_name = "S",
        default_value_t = 30.0
    )]
    pub ssh_timeout: f64,
    /// Read the configuration from any command that prints `nginx -T`
    /// output, run here with `sh -c` (e.g. 'docker exec web nginx -T');
    /// read as --ssh reads a server's: its files are not this machine's,
    /// and nothing is written through it.
    #[arg(
        long,
        help_heading = "From a command",
        value_name = "CMD",
        conflicts_with_all = ["path", "ssh"]
    )]
    pub exec: Option<String>,
    /// Seconds the --exec command may take.
    #[arg(
        long,
        help_heading = "From a command",
        value_name = "S",
        default_value_t = 30.0
    )]
    pub exec_timeout: f64,
}

impl RemoteArgs {
    /// A server reached as `destination`, with these options.
    pub fn base(&self, destination: &str) -> Result<crate::remote::Remote, String> {
        let t = self.ssh_timeout;
        if !(t.is_finite() && t > 0.0 && t <= 3600.0) {
            return Err(format!(
                "--ssh-timeout must be between 0 and 3600 seconds, got {t}"
            ));
        }
        let mut r = crate::remote::Remote::new(destination);
        r.sudo = self.sudo;
        r.ssh_config.clone_from(&self.ssh_config);
        r.ssh_options.clone_from(&self.ssh_option);
        if let Some(n) = &self.nginx {
            r.nginx.clone_from(n);
        }
        r.nginx_conf.clone_from(&self.nginx_conf);
        r.timeout = std::time::Duration::from_secs_f64(t);
        r.validate().map_err(|e| e.to_string())?;
        Ok(r)
    }

    /// The `--exec` command, if any, with its timeout.
    pub fn exec_command(&self) -> Result<Option<crate::remote::Exec>, String> {
        let Some(command) = &self.exec else {
            return Ok(None);
        };
        let t = self.exec_timeout;
        if !(t.is_finite() && t > 0.0 && t <= 3600.0) {
            return Err(format!(
                "--exec-timeout must be between 0 and 3600 seconds, got {t}"
            ));
        }
        let mut exec = crate::remote::Exec::new(command).map_err(|e| e.to_string())?;
        exec.timeout = std::time::Duration::from_secs_f64(t);
        Ok(Some(exec))
    }

    /// Whether the configuration comes from elsewhere: `--ssh` or `--exec`.
    pub fn fetched(&self) -> bool {
        self.ssh.is_some() || self.exec.is_some()
    }

    /// The `--ssh` server, if any; the companions alone are a usage error.
    pub fn target(&self) -> Result<Option<crate::remote::Remote>, String> {
        match &self.ssh {
            Some(host) => self.base(host).map(Some),
            None if self.sudo
                || self.ssh_config.is_some()
                || !self.ssh_option.is_empty()
                || self.nginx.is_some()
                || self.nginx_conf.is_some() =>
            {
                Err(
                    "--sudo, --ssh-config, --ssh-option, --nginx and --nginx-conf go with --ssh HOST (or check --ssh-hosts FILE)"
                        .into(),
                )
            }
            None => Ok(None),
        }
    }
}

/// `check --ssh-hosts`: many servers, one report.
#[derive(Args, Debug, Clone, Default)]
pub struct FleetArgs {
    /// Audit every host of FILE over SSH: one [user@]host per line (# comments),
    /// or an Ansible INI inventory (ansible_host/user/port become ssh options).
    #[arg(long, help_heading = "Fleet", value_name = "FILE", conflicts_with_all = ["path", "ssh", "exec"])]
    pub ssh_hosts: Option<PathBuf>,
    /// Only the hosts of this inventory group (and of its children).
    #[arg(
        long,
        help_heading = "Fleet",
        value_name = "NAME",
        requires = "ssh_hosts"
    )]
    pub ssh_group: Option<String>,
    /// How many hosts to audit at once.
    #[arg(
        long,
        help_heading = "Fleet",
        value_name = "N",
        default_value_t = 8,
        requires = "ssh_hosts",
        value_parser = clap::value_parser!(u16).range(1..=256)
    )]
    pub parallel: u16,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn color_choice() {
        use ColorChoice::*;
        assert!(Always.resolve(false, Some("1")));
        assert!(!Never.resolve(true, None));
        assert!(Auto.resolve(true, None));
        assert!(Auto.resolve(true, Some("")), "an empty NO_COLOR is ignored");
        assert!(!Auto.resolve(true, Some("1")));
        assert!(!Auto.resolve(false, None));
    }
}
