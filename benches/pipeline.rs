//! Criterion benchmarks of each stage on a generated 10^5-directive,
//! 500-file tree held in memory (no disk I/O): the lexer alone, lexer +
//! parser, the include loader, `Model::build`, `rules::check` and the
//! `hops --json` writer.
//! Results are freed outside the timing, as the CLI never frees them.
//!
//! ```sh
//! cargo bench --bench pipeline
//! HOPSCOPE_BENCH_DIRECTIVES=1000000 HOPSCOPE_BENCH_FILES=1000 cargo bench --bench pipeline
//! ```

#[path = "support/generator.rs"]
mod generator;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use hopscope::conf::lexer::{Lexer, TokenKind};
use hopscope::conf::loader::{load_tree, MemFiles};
use hopscope::conf::{parser, Config, LoadedFrom};
use hopscope::model::{Model, Version};
use hopscope::{report, rules};

const PREFIX: &str = "/etc/nginx";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The generated tree as in-memory files below `/etc/nginx`.
fn tree() -> (Vec<(PathBuf, Vec<u8>)>, usize) {
    let n = env_or("HOPSCOPE_BENCH_DIRECTIVES", 100_000);
    let files = env_or("HOPSCOPE_BENCH_FILES", 500);
    let g = generator::generate(&generator::Options::new(n, files, 1));
    let bytes = g.bytes();
    let files = g
        .files
        .into_iter()
        .map(|(rel, text)| (Path::new(PREFIX).join(rel), text.into_bytes()))
        .collect();
    (files, bytes)
}

fn load(mem: &MemFiles) -> Config {
    load_tree(mem, &Path::new(PREFIX).join("nginx.conf"), LoadedFrom::Demo)
}

fn stages(c: &mut Criterion) {
    let (files, bytes) = tree();
    let mut g = c.benchmark_group("1e5");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Bytes(bytes as u64));

    g.bench_function("lexer", |b| {
        b.iter(|| {
            let mut tokens = 0usize;
            for (_, text) in &files {
                let mut lx = Lexer::new(text);
                while let Ok(t) = lx.next_token() {
                    if t.kind == TokenKind::Eof {
                        break;
                    }
                    tokens += 1;
                }
            }
            black_box(tokens)
        })
    });

    g.bench_function("lexer+parser", |b| {
        b.iter_batched(
            || (),
            |()| {
                files
                    .iter()
                    .map(|(_, text)| parser::parse(text))
                    .collect::<Vec<_>>()
            },
            BatchSize::LargeInput,
        )
    });

    let mem = MemFiles::new(files.clone());
    g.bench_function("loader (MemFiles + load_tree)", |b| {
        b.iter_batched(|| (), |()| load(&mem), BatchSize::LargeInput)
    });

    g.bench_function("Model::build", |b| {
        b.iter_batched(
            || load(&mem),
            |cfg| black_box(Model::build(cfg, Version::NEWEST_STABLE)),
            BatchSize::LargeInput,
        )
    });

    let model = Model::build(load(&mem), Version::NEWEST_STABLE);
    g.bench_function("rules::check", |b| {
        b.iter_batched(|| (), |()| rules::check(&model), BatchSize::LargeInput)
    });

    let findings = rules::check(&model);
    g.bench_function("hops --json writer", |b| {
        b.iter(|| {
            report::hops::write_document(&model, &findings, &mut std::io::sink())
                .expect("writing to a sink")
        })
    });
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
