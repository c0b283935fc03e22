//! The sync simulator: seeded scenarios of phones, another DAV client and faults, run
//! against the real session and engine code with an in-memory store and upstream, then
//! checked against a model of everything anyone wrote. docs/testing.md describes it.
//!
//! `cargo test --test simulator` runs a fixed set of seeds and the replayed regression
//! scenarios; `scripts/simulate.sh` runs as many scenarios as asked (the `big_run` test).

mod model;
mod phone;
#[cfg(test)]
mod regressions;
mod script;
mod shrink;
mod upstream;
mod world;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use script::Scenario;
use world::World;

/// Runs one scenario to its end and checks the invariants.
pub fn run(s: &Scenario) -> Result<(), String> {
    let scenario = s.clone();
    let outcome = std::panic::catch_unwind(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .map_err(|e| format!("runtime: {e}"))?;
        // SIM_LOG=<filter> shows the bridge's log of a replayed scenario.
        let _log = std::env::var("SIM_LOG").ok().map(|filter| {
            tracing::subscriber::set_default(
                tracing_subscriber::fmt()
                    .with_env_filter(filter)
                    .with_test_writer()
                    .finish(),
            )
        });
        rt.block_on(async {
            let mut w = World::new(&scenario);
            for op in &scenario.ops {
                w.run(op).await;
            }
            let failures = w.settle().await;
            w.check(&failures)
        })
    });
    match outcome {
        Ok(r) => r,
        Err(p) => Err(format!(
            "panic: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    }
}

/// A failure, shrunk, as a report a regression test can be written from.
fn report(seed: u64, s: &Scenario, error: &str) -> String {
    let small = shrink::shrink(s, error, run);
    let small_error = run(&small).err().unwrap_or_default();
    format!(
        "seed {seed}: {error}\nshrunk to {} of {} operations: {small_error}\n{}\n",
        small.ops.len(),
        s.ops.len(),
        small.to_rust()
    )
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs the scenarios of `seeds` on `jobs` threads; the (shrunk) failures.
fn run_seeds(seeds: Vec<u64>, jobs: usize) -> Vec<String> {
    let seeds = Arc::new(seeds);
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..jobs.max(1))
        .map(|_| {
            let (seeds, next, failures) = (seeds.clone(), next.clone(), failures.clone());
            std::thread::spawn(move || {
                while let Some(&seed) = seeds.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let s = Scenario::generate(seed);
                    if let Err(e) = run(&s) {
                        let r = if shrinking() {
                            report(seed, &s, &e)
                        } else {
                            format!("seed {seed}: {e}\n")
                        };
                        eprintln!("{r}");
                        failures.lock().unwrap_or_else(|p| p.into_inner()).push(r);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let mut f = failures.lock().unwrap_or_else(|p| p.into_inner());
    std::mem::take(&mut *f)
}

/// Failures are shrunk unless SIM_SHRINK=0 (a big run that only counts them).
fn shrinking() -> bool {
    env_u64("SIM_SHRINK", 1) != 0
}

/// The fixed seeds of the normal test run.
#[test]
fn seeded_scenarios_keep_every_write_and_converge() {
    let count = env_u64("SIM_CI_SCENARIOS", 250);
    let failures = run_seeds((0..count).collect(), 2);
    println!("{count} scenarios");
    assert!(
        failures.is_empty(),
        "{} of {count} scenarios failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The big run of `scripts/simulate.sh`: SIM_SCENARIOS, SIM_SEED, SIM_JOBS.
#[test]
#[ignore = "long: run through scripts/simulate.sh"]
fn big_run() {
    let count = env_u64("SIM_SCENARIOS", 100_000);
    let first = env_u64("SIM_SEED", 1_000_000);
    let jobs = env_u64("SIM_JOBS", 2) as usize;
    // SIM_SEEDS="1 2 3" runs those seeds instead (failures of an earlier run, say).
    let (seeds, which): (Vec<u64>, String) = match std::env::var("SIM_SEEDS") {
        Ok(list) => {
            let seeds: Vec<u64> = list
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter_map(|w| w.parse().ok())
                .collect();
            (seeds, "listed seeds".into())
        }
        Err(_) => (
            (first..first + count).collect(),
            format!("seeds {first}..{}", first + count),
        ),
    };
    let count = seeds.len();
    let started = Instant::now();
    let failures = run_seeds(seeds, jobs);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "scenarios run: {count} ({which}), jobs: {jobs}, time: {secs:.1} s, scenarios/second: {:.0}, failures: {}",
        count as f64 / secs.max(1e-9),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs one seed (SIM_ONE), printing the shrunk failure.
#[test]
#[ignore = "for looking at one seed"]
fn one_seed() {
    let seed = env_u64("SIM_ONE", 0);
    let s = Scenario::generate(seed);
    println!("{}", s.to_rust());
    if let Err(e) = run(&s) {
        panic!("{}", report(seed, &s, &e));
    }
}
