//! Criterion benchmarks of the terminal UI, rendered into ratatui's
//! TestBackend at 160×48 (targets: first frame < 100 ms on a
//! 10^5-directive tree and on the demo; keystroke to frame < 16 ms on
//! 10^6 directives).
//!
//! - first frame: `App::pending` (the hops, without the rules, as the
//!   terminal UI starts) and one draw, from a built model; `startup` adds
//!   loading and `Model::build`, i.e. all the work between starting
//!   hopscope and its first screen; `findings ready` goes on until the
//!   rules, run on their own thread as the terminal UI runs them, are
//!   applied and drawn; the `rules first` rows time the same with the
//!   rules before the first frame (`App::new`), for comparison;
//! - keystroke to frame: `update(Action::Down)` and one draw, on the demo,
//!   10^5 and 10^6 directives;
//! - highlighting 50 lines of a 100,000-line file: at the top, far down
//!   with a cold and a warm cache, scrolled by one, and one very long line.
//!
//! ```sh
//! cargo bench --bench tui
//! ```

#[path = "support/generator.rs"]
mod generator;

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use hopscope::conf::loader::{load_tree, MemFiles};
use hopscope::conf::{Config, LoadedFrom};
use hopscope::model::{Model, Version};
use hopscope::tui::action::Action;
use hopscope::tui::app::App;
use hopscope::tui::app::CheckState;
use hopscope::tui::highlight::Highlighter;
use hopscope::tui::theme::Theme;
use hopscope::tui::ui::{self, Ui};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const PREFIX: &str = "/etc/nginx";

fn generated(n: usize, files: usize) -> MemFiles {
    let g = generator::generate(&generator::Options::new(n, files, 1));
    MemFiles::new(
        g.files
            .into_iter()
            .map(|(rel, text)| (Path::new(PREFIX).join(rel), text.into_bytes()))
            .collect(),
    )
}

fn load(mem: &MemFiles) -> Config {
    load_tree(mem, &Path::new(PREFIX).join("nginx.conf"), LoadedFrom::Demo)
}

struct Screen {
    term: Terminal<TestBackend>,
    theme: Theme,
    highlighter: Option<Highlighter>,
}

impl Screen {
    fn new() -> Screen {
        Screen {
            term: Terminal::new(TestBackend::new(160, 48)).expect("a test terminal"),
            theme: Theme::default(),
            highlighter: Highlighter::new().ok(),
        }
    }
    fn draw(&mut self, app: &App) {
        let ui = Ui {
            theme: &self.theme,
            highlighter: self.highlighter.as_ref(),
        };
        self.term
            .draw(|f| ui::draw(f, app, &ui))
            .expect("drawing into a TestBackend");
    }
}

fn first_frame(c: &mut Criterion, label: &str, load_cfg: &dyn Fn() -> Config) {
    let mut g = c.benchmark_group(label);
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let mut screen = Screen::new();
    g.bench_function("first frame (App::pending + draw)", |b| {
        b.iter_batched(
            || Model::build(load_cfg(), Version::NEWEST_STABLE),
            |model| {
                let app = App::pending(model, label.into(), None);
                screen.draw(&app);
                app
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("first frame, rules first (App::new + draw)", |b| {
        b.iter_batched(
            || Model::build(load_cfg(), Version::NEWEST_STABLE),
            |model| {
                let app = App::new(model, label.into());
                screen.draw(&app);
                app
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("load + Model::build", |b| {
        b.iter_batched(
            || (),
            |()| Model::build(load_cfg(), Version::NEWEST_STABLE),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("startup (load + Model::build + App::pending + draw)", |b| {
        // Batched so that freeing the app is not timed (the TUI keeps it).
        b.iter_batched(
            || (),
            |()| {
                let app = App::pending(
                    Model::build(load_cfg(), Version::NEWEST_STABLE),
                    label.into(),
                    None,
                );
                screen.draw(&app);
                app
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function(
        "findings ready (startup + rules on a thread + apply + draw)",
        |b| {
            b.iter_batched(
                || (),
                |()| {
                    let mut app = App::pending(
                        Model::build(load_cfg(), Version::NEWEST_STABLE),
                        label.into(),
                        None,
                    );
                    let work = app.take_check().expect("the rules' work");
                    let generation = work.generation;
                    let rules = std::thread::spawn(move || work.run());
                    screen.draw(&app);
                    let checked = rules.join().expect("the rules finish");
                    app.on_checked(generation, Ok(checked));
                    assert_eq!(app.check, CheckState::Ready);
                    screen.draw(&app);
                    app
                },
                BatchSize::LargeInput,
            )
        },
    );
    g.bench_function(
        "startup, rules first (load + Model::build + App::new + draw)",
        |b| {
            b.iter_batched(
                || (),
                |()| {
                    let app = App::new(
                        Model::build(load_cfg(), Version::NEWEST_STABLE),
                        label.into(),
                    );
                    screen.draw(&app);
                    app
                },
                BatchSize::LargeInput,
            )
        },
    );
    keystroke(&mut g, &mut screen, label, load_cfg);
    g.finish();
}

/// Keystroke to frame: `update(Action::Down)` and one draw, on an app
/// built once.
fn keystroke(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    screen: &mut Screen,
    label: &str,
    load_cfg: &dyn Fn() -> Config,
) {
    let mut app = App::new(
        Model::build(load_cfg(), Version::NEWEST_STABLE),
        label.into(),
    );
    screen.draw(&app);
    g.bench_function("keystroke to frame (Down + draw)", |b| {
        b.iter(|| {
            black_box(app.update(Action::Down));
            screen.draw(&app);
        })
    });
}

fn tui(c: &mut Criterion) {
    first_frame(c, "demo", &|| {
        hopscope::jobs::Source::Demo
            .config()
            .expect("the demo loads")
    });
    let mem = generated(100_000, 500);
    first_frame(c, "1e5", &|| load(&mem));
    // 10^6 directives: only the keystroke (a first frame there is the
    // load and the rules, which `bench/run` times on the binary).
    let mem = generated(1_000_000, 1000);
    let mut g = c.benchmark_group("1e6");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    keystroke(&mut g, &mut Screen::new(), "1e6", &|| load(&mem));
    g.finish();
}

fn highlighting(c: &mut Criterion) {
    let theme = Theme::default();
    let text = hopscope::test_support::nginx_lines(100_000);
    let mut g = c.benchmark_group("highlight 50 lines of 100k");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    let warm = Highlighter::new().expect("the nginx syntax loads");
    warm.highlight_lines(&text, 90_000, 50, &theme);
    g.bench_function("at 0", |b| {
        b.iter(|| black_box(warm.highlight_lines(&text, 0, 50, &theme)))
    });
    g.bench_function("at 90 000, warm cache", |b| {
        b.iter(|| black_box(warm.highlight_lines(&text, 90_000, 50, &theme)))
    });
    g.bench_function("at 90 001, scrolled by one", |b| {
        b.iter(|| black_box(warm.highlight_lines(&text, 90_001, 50, &theme)))
    });
    g.bench_function("at 90 000, cold cache", |b| {
        b.iter_batched(
            || Highlighter::new().expect("the nginx syntax loads"),
            |hl| black_box(hl.highlight_lines(&text, 90_000, 50, &theme)),
            BatchSize::PerIteration,
        )
    });
    let long = format!("return 200 \"{}\";", "ab $x ".repeat(2_700));
    g.bench_function("one 16 KB line", |b| {
        b.iter(|| black_box(warm.highlight_lines(&long, 0, 1, &theme)))
    });
    g.finish();
}

criterion_group!(benches, tui, highlighting);
criterion_main!(benches);
