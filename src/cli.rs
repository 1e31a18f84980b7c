//! The command line: argument parsing and the scriptable commands.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::diagnostic::{self, Applicability, Finding, Severity};
use crate::fix;
use crate::jobs::Source;
use crate::model::{Model, Version};
use crate::report;
use crate::report::text::Paint;
use crate::rules::{self, Rule};
use crate::visible::{visible, visible_lines};

/// A line for people on stderr, like `eprintln!`, with every control
/// character (from a file name, a config value, what a server said) shown
/// as a visible escape.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::say_text(&format!("{}\n", format_args!($($arg)*)))
    };
}

const EXAMPLES: &str = "\
Examples:
  hopscope                              explore the built-in demo in the terminal UI
  hopscope /etc/nginx                   explore a live configuration
  nginx -T | hopscope -                 explore what nginx really loaded (works over SSH)
  hopscope --ssh web1 --sudo            explore a server's configuration over SSH
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
  hopscope check . --format sarif > hopscope.sarif   for GitHub code scanning
  nginx -T 2>/dev/null | hopscope check - --format json
  hopscope check --ssh deploy@web1 --sudo         a server over SSH (runs nginx -T there)
  hopscope check --ssh-hosts hosts.ini --ssh-group web --format json   a fleet, 8 hosts at a time

Exit status: 0 no unsuppressed finding at or above --min-severity; 1 some;
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
client-key (key of the client certificate); KEY=VALUE applies to every hop, HOP:KEY=VALUE to one.
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
  hopscope fix /etc/nginx --set sni-name=api.example.com --probe   would the fixed hops connect?

Per peer: connected or not and why in plain words, protocol and cipher, the
certificate chain, whether the verify name matches, and whether the chain
passes with the hop's CA and depth. Only the peers the configuration names
are contacted. A dump, standard input or --ssh names files on another
machine: their client certificates, CA files and unix sockets are left out
(with a note) unless --local-files says they are this machine's. Exit
status: 0 every probed peer works as configured; 1 some do not; 2 error.";

const MAN_EXAMPLES: &str = "\
Examples:
  hopscope man > /usr/local/share/man/man1/hopscope.1
  hopscope man | man -l -";

#[derive(Parser, Debug)]
#[command(
    name = "hopscope",
    version,
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
}

#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// nginx.conf, a directory holding one, a file with `nginx -T` output, or
    /// `-` for standard input. Without it: the built-in demo.
    pub path: Option<PathBuf>,
    /// The nginx version whose defaults and directives apply.
    #[arg(long, value_name = "X.Y.Z", default_value_t = Version::NEWEST_STABLE, value_parser = parse_version, global = true)]
    pub nginx_version: Version,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

fn parse_version(s: &str) -> Result<Version, String> {
    s.parse()
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// A known rule id, or an error that lists the valid ones.
fn parse_rule(s: &str) -> Result<&'static str, String> {
    rules::find(s).map(|r| r.id).ok_or_else(|| unknown_rule(s))
}

fn unknown_rule(id: &str) -> String {
    let ids: Vec<&str> = rules::registry().iter().map(|r| r.id).collect();
    if ids.is_empty() {
        return format!("unknown rule \"{id}\" (no rules are registered)");
    }
    let guess = ids
        .iter()
        .map(|known| (edit_distance(id, known), *known))
        .filter(|&(d, _)| d <= 3)
        .min();
    let hint = guess.map_or(String::new(), |(_, g)| format!(" (did you mean \"{g}\"?)"));
    format!(
        "unknown rule \"{id}\"{hint}; valid rules: {}",
        ids.join(", ")
    )
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

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
    /// error, high, medium, low or info.
    #[arg(long, value_name = "S", default_value_t = Severity::Low, value_parser = parse_severity)]
    pub min_severity: Severity,
    /// Run only this rule (repeatable).
    #[arg(long = "rule", value_name = "ID", value_parser = parse_rule)]
    pub rules: Vec<&'static str>,
    /// Skip this rule (repeatable).
    #[arg(long = "ignore", value_name = "ID", value_parser = parse_rule)]
    pub ignore: Vec<&'static str>,
    /// Colour the text output.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(flatten)]
    pub fleet: FleetArgs,
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
            && f.severity >= self.min_severity
    }
}

impl LoadArgs {
    /// What to load: `--ssh`'s server, else the path (none: the demo,
    /// `-`: standard input).
    pub fn source(&self) -> Result<Source, String> {
        Ok(match self.remote.target()? {
            Some(remote) => Source::Ssh(remote),
            None => Source::from_arg(self.path.as_deref()),
        })
    }

    /// Loads and analyses, or explains on stderr why it cannot.
    pub fn model(&self) -> Result<Model, ExitCode> {
        let source = self.source().map_err(|e| {
            say!("hopscope: error: {e}");
            ExitCode::from(2)
        })?;
        source.load(self.nginx_version).map_err(|e| {
            say!("hopscope: error: {e}");
            ExitCode::from(2)
        })
    }
}

/// Writes text for people to stdout, every control character from the
/// configuration, a dump or a server shown as a visible escape; a closed
/// pipe (`| head`) is not an error.
pub fn emit(text: &str) {
    emit_bytes(crate::visible::visible_lines(text).as_bytes());
}

/// Writes text to stdout as it is: a machine document (JSON escapes by
/// itself), or a report whose renderer escaped every untrusted part and
/// styled the rest.
pub fn emit_raw(text: &str) {
    emit_bytes(text.as_bytes());
}

/// Writes bytes to stdout as they are (a diff of files that are not UTF-8).
pub fn emit_bytes(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// Text for people on stderr, control characters shown as visible escapes
/// (line feeds and tabs kept).
pub fn say_text(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(crate::visible::visible_lines(text).as_bytes());
}

/// Buffered standard output (a concrete type, so that writers of large
/// documents inline its writes).
pub type Stdout = std::io::BufWriter<std::io::StdoutLock<'static>>;

/// Streams a document to stdout through a buffer; a closed pipe is not
/// an error.
pub fn emit_with(write: impl FnOnce(&mut Stdout) -> std::io::Result<()>) {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let _ = write(&mut out).and_then(|()| out.flush());
}

fn print_load_errors(model: &Model) {
    for e in model.errors() {
        say!("hopscope: error: {e}");
    }
}

/// Exit code for a finished analysis: load errors make it 2.
fn load_status(model: &Model) -> ExitCode {
    if model.errors().next().is_some() {
        print_load_errors(model);
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// The hops table with each hop's unsuppressed findings.
fn hops_table(model: &Model, findings: &[Finding]) -> String {
    let by_hop = diagnostic::by_hop(model, findings);
    report::hops::table(model, |i, _| {
        by_hop
            .get(i)
            .into_iter()
            .flatten()
            .map(|&k| &findings[k])
            .filter(|f| f.suppressed.is_none())
            .map(|f| (format!("{}[{}]", f.severity, f.rule), f.message.clone()))
            .collect()
    })
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        None if std::io::stdout().is_terminal() => tui(&cli),
        None => {
            // Not a terminal (a pipe, CI): print what the TUI would show first.
            let model = match cli.load.model() {
                Ok(m) => m,
                Err(code) => return code,
            };
            emit(&hops_table(&model, &rules::check(&model)));
            load_status(&model)
        }
        Some(Command::Hops { load, json }) => {
            let model = match load.model() {
                Ok(m) => m,
                Err(code) => return code,
            };
            let findings = rules::check(&model);
            if json {
                emit_with(|out| report::hops::write_document(&model, &findings, out));
            } else {
                emit(&hops_table(&model, &findings));
            }
            let code = load_status(&model);
            exit_without_freeing(model, findings);
            code
        }
        Some(Command::Check(args)) => check(&args),
        Some(Command::Explain { rule, list }) => explain(rule, list),
        Some(Command::Fix(args)) => run_fix(args),
        Some(Command::Probe(args)) => run_probe(args),
        Some(Command::Completions { shell }) => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "hopscope", &mut out);
            emit_raw(&String::from_utf8_lossy(&out));
            ExitCode::SUCCESS
        }
        Some(Command::Man) => {
            let mut out = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut out) {
                Ok(()) => {
                    emit_raw(&String::from_utf8_lossy(&out));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    say!("hopscope: error: cannot render the manual page: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

/// The terminal UI.
fn tui(cli: &Cli) -> ExitCode {
    use crate::tui::theme::{self, Theme};
    let config = match crate::config::theme() {
        Ok(c) => c,
        Err(e) => {
            say!("hopscope: error: {e}");
            return ExitCode::from(2);
        }
    };
    let term = std::env::var("TERM").ok();
    let support = theme::color_support(term.as_deref(), std::env::var("COLORTERM").ok().as_deref());
    let no_color = theme::no_color() || support == theme::ColorSupport::None;
    let theme = match Theme::resolve(cli.theme.as_deref(), config.as_deref(), no_color) {
        Ok(t) => t,
        Err(e) => {
            say!("hopscope: error: {e}");
            return ExitCode::from(2);
        }
    };
    // Only worth saying when the colours in use depend on the terminal.
    let note = (!theme::no_color() && cli.theme.is_none())
        .then(|| theme::color_note(support, term.as_deref()))
        .flatten();
    let source = match cli.load.source() {
        Ok(s) => s,
        Err(e) => {
            say!("hopscope: error: {e}");
            return ExitCode::from(2);
        }
    };
    // --ssh: `nginx -T` of the server, fetched before the UI starts and
    // held in memory for it.
    let dump = match source.remote() {
        Some(remote) => {
            say!("hopscope: running nginx -T on {} over ssh…", remote.host);
            match crate::jobs::fetch(remote) {
                Ok(dump) => Some(dump),
                Err(e) => {
                    say!("hopscope: error: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        None => None,
    };
    let opts = crate::tui::run::Options {
        source,
        version: cli.load.nginx_version,
        theme,
        note,
        dump,
    };
    match crate::tui::run::run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say!("hopscope: error: the terminal failed: {e}");
            ExitCode::from(2)
        }
    }
}

/// `check`: findings at or above the threshold, in the chosen format.
pub fn check(args: &CheckArgs) -> ExitCode {
    if let Some(file) = &args.fleet.ssh_hosts {
        return check_fleet(args, file);
    }
    let model = match args.load.model() {
        Ok(m) => m,
        Err(code) => return code,
    };
    let selected = args.selected_rules();
    let findings: Vec<Finding> = rules::check(&model)
        .into_iter()
        .filter(|f| args.keeps(f))
        .collect();
    match args.format {
        Format::Text => {
            let color = args.color.resolve(
                std::io::stdout().is_terminal(),
                std::env::var("NO_COLOR").ok().as_deref(),
            );
            emit_raw(&report::text::render(&model, &findings, Paint::new(color)));
        }
        Format::Json => {
            emit_with(|out| report::findings::write_check_document(&model, &findings, out));
            print_load_errors(&model);
        }
        Format::Sarif => {
            let cwd = std::env::current_dir().ok();
            let doc = report::sarif::to_json(&model, &selected, &findings, cwd.as_deref());
            emit_raw(&format!("{doc:#}\n"));
            print_load_errors(&model);
        }
    }
    let code = ExitCode::from(check_status(&model, &findings));
    exit_without_freeing(model, findings);
    code
}

/// The command is done and the process is about to exit: leave the model
/// and the findings to the OS instead of freeing their millions of small
/// allocations one by one (a tenth of the run on a large configuration).
fn exit_without_freeing(model: Model, findings: Vec<Finding>) {
    std::mem::forget(model);
    std::mem::forget(findings);
}

/// 2 when part of the configuration could not be loaded, else 1 when an
/// unsuppressed finding remains, else 0.
pub fn check_status(model: &Model, findings: &[Finding]) -> u8 {
    if model.errors().next().is_some() {
        2
    } else if findings.iter().any(|f| f.suppressed.is_none()) {
        1
    } else {
        0
    }
}

fn explain(rule: Option<&'static str>, list: bool) -> ExitCode {
    if list {
        emit(&report::text::rule_list(rules::registry()));
        return ExitCode::SUCCESS;
    }
    match rule.and_then(rules::find) {
        Some(r) => {
            emit(&r.explain());
            ExitCode::SUCCESS
        }
        None => {
            say!("hopscope: error: {}", unknown_rule(rule.unwrap_or("")));
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("sni-of", "sni-off"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}

/// `fix`: applies proposed fixes, prints a diff or saves.
/// Why `--write` refuses standard input that is not `nginx -T` output.
const STDIN_NOT_WRITTEN: &str = "standard input is not nginx -T output, so it owns no files on this machine: nothing is written to the files it includes (run without --write to print the diff, and apply it with `patch -p1` where the files are)";

fn run_fix(args: FixArgs) -> ExitCode {
    if let Err(code) = remote_fix_guard(&args) {
        return code;
    }
    let model = match args.load.model() {
        Ok(m) => m,
        Err(code) => return code,
    };
    for r in args.rule.iter() {
        if crate::rules::find(r).is_none() {
            say!("hopscope: error: unknown rule \"{r}\" (see `hopscope explain --list`)");
            return ExitCode::from(2);
        }
    }
    for h in args.hop.iter() {
        if !model.hops.iter().any(|x| &x.id == h) {
            say!("hopscope: error: no hop \"{h}\" (ids are FILE:LINE, see `hopscope hops`)");
            return ExitCode::from(2);
        }
    }
    let mut values = fix::Values::default();
    for s in &args.set {
        if let Err(e) = values.set(s) {
            say!("hopscope: error: {e}");
            return ExitCode::from(2);
        }
    }
    let sel = fix::Selection {
        rules: args.rule.clone(),
        hops: args.hop.clone(),
        safe_only: args.safe_only,
        placement: args.placement.into(),
    };
    let outcome = match fix::fix_all(&model, &sel, &values) {
        Ok(o) => o,
        Err(e) => {
            say!("hopscope: error: {e}");
            return ExitCode::from(2);
        }
    };
    for a in &outcome.applied {
        let review = if a.applicability == Applicability::NeedsReview {
            " (needs review)"
        } else {
            ""
        };
        say!("fixed: {} [{}] {}{review}", a.hop, a.rule, a.summary);
    }
    for s in &outcome.skipped {
        match &s.missing {
            Some(m) if m.proposal.is_some() => say!(
                "not fixed: {} [{}] {} (give it with --set {}:{}=VALUE, or accept the proposal with --rule {})",
                s.hop, s.rule, s.reason, s.hop, m.key, s.rule
            ),
            Some(m) => say!(
                "not fixed: {} [{}] {} (give it with --set {}:{}=VALUE)",
                s.hop, s.rule, s.reason, s.hop, m.key
            ),
            None => say!("not fixed: {} [{}] {}", s.hop, s.rule, s.reason),
        }
    }
    if outcome.changed.is_empty() {
        if model.errors().next().is_some() {
            // Hops inside blocks a syntax error left open get no fix: say
            // why, with the errors.
            print_load_errors(&model);
            say!("nothing to fix (no fix is offered inside a block a syntax error left open)");
        } else {
            say!("nothing to fix");
        }
        return ExitCode::from(1);
    }
    if args.probe {
        let ids: Vec<String> = outcome.applied.iter().map(|a| a.hop.clone()).collect();
        let after = fix::engine::ids_after(&model, &outcome.after, &ids);
        say!(
            "probing the {} fixed hop(s) as nginx would connect after the fix:",
            after.len()
        );
        // The policy follows where the configuration came from, not the
        // fixed model (which is held in memory).
        let files = crate::probe::LocalFiles::choose(
            &model,
            args.load.remote.ssh.is_some(),
            args.local_files,
        );
        let results = crate::probe::prepare(&outcome.after, &after, files)
            .run(crate::probe::Options::default());
        say_text(&crate::report::probe::text(&results));
    }
    if args.validate {
        let Some(nginx) = fix::validate::find_nginx() else {
            say!("hopscope: error: --validate needs nginx (set HOPSCOPE_NGINX or install it)");
            return ExitCode::from(2);
        };
        match fix::validate::nginx_test(&model, &outcome.changed, &nginx) {
            Ok(notes) => {
                for n in notes {
                    say!("note: {n}");
                }
            }
            Err(e) => {
                say!(
                    "hopscope: error: {}; nothing was written",
                    crate::visible::visible_lines(&e)
                );
                return ExitCode::from(2);
            }
        }
        say!("nginx -t accepts the fixed configuration");
    }
    if args.apply {
        return apply_remote(&args, &model, &outcome);
    }
    if !args.write {
        let diff = match fix::diff::unified_bytes(&model, &outcome.changed) {
            Ok(d) => d,
            Err(e) => {
                say!("hopscope: error: {e}");
                return ExitCode::from(2);
            }
        };
        if std::io::stdout().is_terminal() {
            // Shown to a person: the configuration's control characters
            // are escaped (piped, the diff keeps every byte for patch).
            emit(&crate::visible::visible_lines(&String::from_utf8_lossy(
                &diff,
            )));
        } else {
            emit_bytes(&diff);
        }
        return ExitCode::SUCCESS;
    }
    if model.config.from_stdin {
        say!("hopscope: error: {STDIN_NOT_WRITTEN}");
        return ExitCode::from(2);
    }
    if let Some((id, _)) = outcome
        .changed
        .iter()
        .find(|(id, _)| !model.config.file(*id).on_disk)
    {
        say!(
            "hopscope: error: {} is not a file on this machine (demo or nginx -T input): use --diff and apply it with `patch -p1` in {}",
            model.config.file(*id).name,
            model.config.prefix.display()
        );
        return ExitCode::from(2);
    }
    let pending: Vec<fix::save::Pending> = outcome
        .changed
        .iter()
        .map(|(id, new)| {
            let f = model.config.file(*id);
            fix::save::Pending {
                path: &f.path,
                loaded: &f.text,
                new,
            }
        })
        .collect();
    match fix::save::save_all(&pending) {
        Ok(saved) => {
            for s in saved {
                say!(
                    "wrote {} (backup: {})",
                    s.path.display(),
                    s.backup.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            say!("hopscope: error: {e}");
            ExitCode::from(2)
        }
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
    /// Probe only this hop, by id FILE:LINE (repeatable).
    #[arg(long, value_name = "ID")]
    pub hop: Vec<String>,
    /// Seconds each peer gets in all: connect, handshake and the wait for a
    /// refusal after it (one deadline, however slowly the peer answers).
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    pub timeout: f64,
    /// How many peers to probe at once.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub concurrency: usize,
    #[arg(long, value_enum, default_value_t = ProbeFormat::Text)]
    pub format: ProbeFormat,
    /// The files and unix sockets the configuration names are on this machine:
    /// present its client certificates, read its CA files and connect to its
    /// unix sockets even for a dump, standard input or --ssh (a tree loaded
    /// from disk always does).
    #[arg(long)]
    pub local_files: bool,
}

fn probe_options(timeout: f64, concurrency: usize) -> Result<crate::probe::Options, String> {
    if !(timeout.is_finite() && timeout > 0.0 && timeout <= 600.0) {
        return Err(format!(
            "--timeout must be between 0 and 600 seconds, got {timeout}"
        ));
    }
    Ok(crate::probe::Options {
        timeout: std::time::Duration::from_secs_f64(timeout),
        concurrency: concurrency.clamp(1, 256),
    })
}

/// Prints probe results; the exit status says whether every probed peer works.
fn report_probe(results: &[crate::probe::PeerResult], format: ProbeFormat) -> ExitCode {
    match format {
        ProbeFormat::Text => emit(&crate::report::probe::text(results)),
        ProbeFormat::Json => {
            let doc = serde_json::json!({"schema": "hopscope.probe/1", "results": results});
            emit_raw(&format!("{doc:#}\n"));
        }
    }
    let failing = results.iter().filter(|r| r.probeable && !r.ok()).count();
    if failing > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `probe`: handshakes with every peer, as nginx would make them.
fn run_probe(args: ProbeArgs) -> ExitCode {
    let opts = match probe_options(args.timeout, args.concurrency) {
        Ok(o) => o,
        Err(e) => {
            say!("hopscope: error: {e}");
            return ExitCode::from(2);
        }
    };
    let model = match args.load.model() {
        Ok(m) => m,
        Err(code) => return code,
    };
    for h in &args.hop {
        if !model.hops.iter().any(|x| &x.id == h) {
            say!("hopscope: error: no hop \"{h}\" (ids are FILE:LINE, see `hopscope hops`)");
            return ExitCode::from(2);
        }
    }
    let files =
        crate::probe::LocalFiles::choose(&model, args.load.remote.ssh.is_some(), args.local_files);
    let results = crate::probe::prepare(&model, &args.hop, files).run(opts);
    let code = report_probe(&results, args.format);
    if model.errors().next().is_some() {
        return load_status(&model);
    }
    code
}

#[derive(Args, Debug)]
pub struct FixArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Fix only findings of this rule (repeatable).
    #[arg(long, value_name = "ID")]
    pub rule: Vec<String>,
    /// Fix only this hop, by id FILE:LINE (repeatable).
    #[arg(long, value_name = "ID")]
    pub hop: Vec<String>,
    /// A value a fix needs: sni-name, ca-file, client-key (KEY=VALUE for every hop, HOP:KEY=VALUE for one).
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
    /// Run `nginx -t` on a temporary copy with the fix applied first; refuse on failure.
    #[arg(long)]
    pub validate: bool,
    /// Also probe the fixed hops' peers as nginx would connect after the fix
    /// (what-if: nothing needs to be written for this).
    #[arg(long)]
    pub probe: bool,
    /// With --probe: the files and unix sockets the configuration names are on
    /// this machine; use them even for a dump, standard input or --ssh.
    #[arg(long, requires = "probe")]
    pub local_files: bool,
    /// With --ssh: write the fixed files on the server (backups kept), run
    /// `nginx -t` there, and put every file back if it fails.
    #[arg(long)]
    pub apply: bool,
    /// With --apply: reload nginx on the server once `nginx -t` accepts the fix.
    #[arg(long, requires = "apply")]
    pub reload: bool,
}

// ---------------------------------------------------------------------------
// Over SSH and across a fleet: --ssh, fix --apply, check --ssh-hosts
// ---------------------------------------------------------------------------

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
}

impl RemoteArgs {
    /// A server reached as `destination`, with these options.
    fn base(&self, destination: &str) -> Result<crate::remote::Remote, String> {
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
        r.validate()?;
        Ok(r)
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
    #[arg(long, help_heading = "Fleet", value_name = "FILE", conflicts_with_all = ["path", "ssh"])]
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

/// `check --ssh-hosts FILE`: every host audited (a bounded number at a
/// time), one report; exit 2 when a host could not be audited.
fn check_fleet(args: &CheckArgs, file: &std::path::Path) -> ExitCode {
    use crate::report::fleet::{self, Audited, HostAudit};
    let fail = |m: String| {
        say!("hopscope: error: {m}");
        ExitCode::from(2)
    };
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: {e}", file.display())),
    };
    let inventory = match crate::remote::Inventory::parse(&text) {
        Ok(i) => i,
        Err(e) => return fail(format!("{}: {e}", file.display())),
    };
    let base = match args.load.remote.base("fleet") {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let targets = match inventory.targets(args.fleet.ssh_group.as_deref(), &base) {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: {e}", file.display())),
    };
    if targets.is_empty() {
        return fail(format!("{}: no hosts to audit", file.display()));
    }
    let version = args.load.nginx_version;
    let audits =
        crate::remote::parallel_map(&targets, usize::from(args.fleet.parallel), |r| HostAudit {
            host: r.host.clone(),
            result: Source::Ssh(r.clone())
                .load(version)
                .map_err(|e| e.to_string())
                .map(|model| {
                    let findings = rules::check(&model)
                        .into_iter()
                        .filter(|f| args.keeps(f))
                        .collect();
                    Audited { model, findings }
                }),
        });
    let selected = args.selected_rules();
    match args.format {
        Format::Text => {
            let color = args.color.resolve(
                std::io::stdout().is_terminal(),
                std::env::var("NO_COLOR").ok().as_deref(),
            );
            emit_raw(&fleet::text(&audits, &selected, Paint::new(color)));
        }
        Format::Json | Format::Sarif => {
            let doc = if args.format == Format::Json {
                fleet::json(&audits)
            } else {
                fleet::sarif(&audits, &selected)
            };
            emit_raw(&format!("{doc:#}\n"));
            for a in &audits {
                match &a.result {
                    Err(e) => say!("hopscope: error: {}", visible_lines(e)),
                    Ok(done) => {
                        for e in done.model.errors() {
                            say!("hopscope: error: {}: {e}", a.host);
                        }
                    }
                }
            }
        }
    }
    ExitCode::from(fleet::status(&audits))
}

/// `fix` options that make no sense with (or without) `--ssh`.
fn remote_fix_guard(args: &FixArgs) -> Result<(), ExitCode> {
    let ssh = args.load.remote.ssh.is_some();
    let refused = if args.apply && !ssh {
        Some("--apply writes on a server and needs --ssh HOST (for files on this machine, use --write)")
    } else if ssh && args.write {
        Some("--write saves files on this machine; with --ssh use --apply: it writes the files on the server (with backups), runs nginx -t there and rolls back if it fails")
    } else if ssh && args.validate {
        Some("--validate runs nginx -t on this machine; with --ssh, --apply runs nginx -t on the server and rolls back if it fails")
    } else {
        None
    };
    match refused {
        Some(m) => {
            say!("hopscope: error: {m}");
            Err(ExitCode::from(2))
        }
        None => Ok(()),
    }
}

/// `fix --ssh HOST --apply [--reload]`: writes the fixed files on the
/// server, all or nothing, checked by nginx -t there.
fn apply_remote(args: &FixArgs, model: &Model, outcome: &fix::Outcome) -> ExitCode {
    let remote = match args.load.remote.target() {
        Ok(Some(r)) => r,
        Ok(None) => {
            say!("hopscope: error: --apply needs --ssh HOST");
            return ExitCode::from(2);
        }
        Err(e) => {
            say!("hopscope: error: {e}");
            return ExitCode::from(2);
        }
    };
    let paths: Vec<String> = outcome
        .changed
        .iter()
        .map(|(id, _)| model.config.file(*id).path.to_string_lossy().into_owned())
        .collect();
    let files: Vec<crate::remote::RemoteFile> = outcome
        .changed
        .iter()
        .zip(&paths)
        .map(|((id, new), path)| crate::remote::RemoteFile {
            path,
            loaded: &model.config.file(*id).text,
            new,
        })
        .collect();
    let host = &remote.host;
    match crate::remote::apply(&remote, &files, args.reload) {
        Ok(done) => {
            for w in &done.written {
                say!(
                    "ssh {host}: wrote {} (backup: {})",
                    visible(&w.path),
                    visible(&w.backup)
                );
            }
            say!("ssh {host}: nginx -t accepts the fixed configuration");
            match &done.reload {
                None => {
                    say!(
                        "ssh {host}: nginx was not reloaded (add --reload, or reload it yourself)"
                    );
                    ExitCode::SUCCESS
                }
                Some(Ok(_)) => {
                    say!("ssh {host}: nginx reloaded");
                    ExitCode::SUCCESS
                }
                Some(Err(e)) => {
                    say!(
                        "hopscope: error: ssh {host}: the fix is saved and nginx -t accepts it, but the reload failed: {}",
                        visible_lines(e)
                    );
                    ExitCode::from(2)
                }
            }
        }
        Err(e) => {
            // What the server said (nginx, ssh, the script), escaped.
            say!("hopscope: error: {}", visible_lines(&e.to_string()));
            ExitCode::from(2)
        }
    }
}
