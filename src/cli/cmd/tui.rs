//! `hopscope` in a terminal: the terminal UI.

use std::process::ExitCode;

use crate::cli::args::Cli;
use crate::cli::error::fail;

/// The terminal UI.
pub fn run(cli: &Cli) -> ExitCode {
    use crate::tui::theme::{self, Theme};
    let config = match crate::config::theme() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let term = std::env::var("TERM").ok();
    let support = theme::color_support(term.as_deref(), std::env::var("COLORTERM").ok().as_deref());
    let no_color = theme::no_color() || support == theme::ColorSupport::None;
    let theme = match Theme::resolve(cli.theme.as_deref(), config.as_deref(), no_color) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    // Only worth saying when the colours in use depend on the terminal.
    let note = (!theme::no_color() && cli.theme.is_none())
        .then(|| theme::color_note(support, term.as_deref()))
        .flatten();
    // The project file's nginx-version and root apply here too.
    let settings = match cli.load.settings(crate::settings::Flags::default()) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let source = match cli.load.source() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    // --ssh: `nginx -T` of the server, fetched before the UI starts and
    // held in memory for it.
    let dump = match (source.remote(), source.exec()) {
        (Some(remote), _) => {
            say!("hopscope: running nginx -T on {} over ssh…", remote.host);
            match crate::jobs::fetch(remote) {
                Ok(dump) => Some(dump),
                Err(e) => return fail(e),
            }
        }
        // --exec: the command's `nginx -T`, run once before the UI starts.
        (None, Some(exec)) => {
            say!("hopscope: running {}…", exec.label());
            match crate::jobs::fetch_exec(exec) {
                Ok(dump) => Some(dump),
                Err(e) => return fail(e),
            }
        }
        (None, None) => None,
    };
    let opts = crate::tui::run::Options {
        source,
        version: settings.nginx_version.value,
        theme,
        note,
        dump,
        root: settings.root.value.clone(),
        validate: !cli.no_validate,
        settings: settings.file.is_some().then(|| settings.for_view()),
    };
    match crate::tui::run::run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format_args!("the terminal failed: {e}")),
    }
}
