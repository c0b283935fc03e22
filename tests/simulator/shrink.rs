//! Shrinking a failing scenario: delta debugging over its operations, then each sync's
//! faults dropped one by one, keeping every step that still fails the same way.

use crate::script::{Faults, Op, Scenario};

/// What a failure is about, without the numbers that change as the scenario shrinks.
pub fn signature(error: &str) -> String {
    let words: String = error
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .collect();
    words
        .split_whitespace()
        .take(6)
        .collect::<Vec<_>>()
        .join(" ")
}

fn still_fails(s: &Scenario, sig: &str, run: &impl Fn(&Scenario) -> Result<(), String>) -> bool {
    matches!(run(s), Err(e) if signature(&e) == sig)
}

/// The smallest scenario found that fails like `failing` does.
pub fn shrink(
    failing: &Scenario,
    error: &str,
    run: impl Fn(&Scenario) -> Result<(), String>,
) -> Scenario {
    let sig = signature(error);
    let mut best = failing.clone();
    let mut n = 2;
    // ddmin: drop chunks of the operations, then their complements, at finer grains.
    while best.ops.len() >= 2 {
        let len = best.ops.len();
        let chunk = len.div_ceil(n);
        let mut reduced = false;
        for start in (0..len).step_by(chunk) {
            let end = (start + chunk).min(len);
            let mut without = best.clone();
            without.ops.drain(start..end);
            if still_fails(&without, &sig, &run) {
                best = without;
                n = (n - 1).max(2);
                reduced = true;
                break;
            }
            let mut only = best.clone();
            only.ops = best.ops[start..end].to_vec();
            if n > 2 && still_fails(&only, &sig, &run) {
                best = only;
                n = 2;
                reduced = true;
                break;
            }
        }
        if !reduced {
            if n >= len {
                break;
            }
            n = (n * 2).min(len);
        }
    }
    // Each fault of each sync that is not needed goes.
    for i in 0..best.ops.len() {
        for drop in 0..8 {
            let Op::Sync(p, kind, current) = best.ops[i] else {
                break;
            };
            let fewer_faults = without_fault(current, drop);
            if fewer_faults == current {
                continue;
            }
            let mut fewer = best.clone();
            fewer.ops[i] = Op::Sync(p, kind, fewer_faults);
            if still_fails(&fewer, &sig, &run) {
                best = fewer;
            }
        }
    }
    best
}

/// `f` without fault number `drop`.
fn without_fault(mut f: Faults, drop: usize) -> Faults {
    match drop {
        0 => f.resend_at = None,
        1 => f.give_up_at = None,
        2 => f.start_over_at = None,
        3 => f.restart_at = None,
        4 => f.server_edit_at = None,
        5 => f.phone_edit_at = None,
        6 => f.upstream.fail_request = None,
        _ => f.upstream.edit_before_write = None,
    }
    f
}
