//! `hopscope probe`: TLS to every peer of each hop, as nginx would
//! connect.

use std::process::ExitCode;

use crate::cli::args::{ProbeArgs, ProbeFormat};
use crate::cli::error::{fail, load_status};
use crate::cli::output::{emit, emit_raw};

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
pub fn run(args: &ProbeArgs) -> ExitCode {
    let opts = match probe_options(args.timeout, args.concurrency) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    let deadline = match args.deadline {
        None => None,
        Some(d) if d.is_finite() && d > 0.0 && d <= 3600.0 => {
            Some(std::time::Duration::from_secs_f64(d))
        }
        Some(d) => {
            return fail(format!(
                "--deadline must be between 0 and 3600 seconds, got {d}"
            ))
        }
    };
    let source = match args.load.source() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let model = match source.load_rooted(args.load.nginx_version, args.load.root.as_deref()) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    if !crate::probe::on_network(&model) {
        return fail(format!(
            "{} (hopscope probe /etc/nginx)",
            crate::probe::DEMO_OFFLINE
        ));
    }
    for h in &args.hop {
        if model.hop_by_id(h).is_none() {
            return fail(crate::cli::error::no_hop(&model, h));
        }
    }
    if let Some(exec) = source.exec() {
        say!(
            "note: probing from this machine, not from where {} runs (its network, names and files may differ)",
            exec.label()
        );
    }
    let files = source.local_files(&model, args.local_files);
    // With --ssh the peers are dialled from the server (one ssh
    // connection), its CA and CRL files read there.
    let through = match args.load.remote.target() {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let results = crate::probe::prepare(&model, &args.hop, files)
        .through(through)
        .within(deadline)
        .run(opts);
    let code = report_probe(&results, args.format);
    if model.errors().next().is_some() {
        return load_status(&model);
    }
    code
}
