//! Scenarios: the phones and the schedule of operations, drawn from a seed, and printed
//! back as Rust a regression test can replay.

use std::fmt::Write as _;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::phone::Kind;
use crate::upstream::Armed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncKind {
    TwoWay,
    Slow,
    RefreshFromServer,
    RefreshFromClient,
    OneWayFromClient,
    OneWayFromServer,
}

/// What goes wrong during one sync; message numbers count the phone's messages from 1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// The answer to this message is lost: the phone sends it again.
    pub resend_at: Option<u32>,
    /// The phone gives up before this message (a timeout).
    pub give_up_at: Option<u32>,
    /// The phone starts the session over before this message.
    pub start_over_at: Option<u32>,
    /// The bridge restarts before this message.
    pub restart_at: Option<u32>,
    /// Another client edits the pick-th item before this message.
    pub server_edit_at: Option<(u32, usize)>,
    /// The user edits the pick-th item on the phone before this message.
    pub phone_edit_at: Option<(u32, usize)>,
    pub upstream: Armed,
}

impl Faults {
    pub fn is_clean(&self) -> bool {
        *self == Faults::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    PhoneAdd(usize),
    PhoneEdit(usize, usize),
    PhoneDelete(usize, usize),
    ServerAdd,
    ServerEdit(usize),
    ServerDelete(usize),
    Sync(usize, SyncKind, Faults),
    Restart,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    pub phones: Vec<Kind>,
    pub ops: Vec<Op>,
}

fn faults(r: &mut StdRng) -> Faults {
    let mut f = Faults::default();
    for _ in 0..r.gen_range(1..=2) {
        match r.gen_range(0..8) {
            0 => f.resend_at = Some(r.gen_range(1..=4)),
            1 => f.give_up_at = Some(r.gen_range(2..=5)),
            2 => f.start_over_at = Some(r.gen_range(2..=5)),
            3 => f.restart_at = Some(r.gen_range(2..=5)),
            4 => f.server_edit_at = Some((r.gen_range(1..=5), r.gen_range(0..8))),
            5 => f.phone_edit_at = Some((r.gen_range(2..=5), r.gen_range(0..8))),
            6 => f.upstream.fail_request = Some(r.gen_range(1..=8)),
            _ => f.upstream.edit_before_write = Some(r.gen_range(1..=3)),
        }
    }
    f
}

impl Scenario {
    /// The scenario of `seed`: one to three phones, eight to thirty operations.
    pub fn generate(seed: u64) -> Scenario {
        let mut r = StdRng::seed_from_u64(seed);
        let phones: Vec<Kind> = (0..r.gen_range(1..=3))
            .map(|_| Kind {
                v12: r.gen_bool(0.6),
                wbxml: r.gen_bool(0.4),
                max_msg_size: r.gen_range(1500..6000),
                per_message: r.gen_range(1..=4),
                holds_note: r.gen_bool(0.6),
            })
            .collect();
        let n = phones.len();
        let ops = (0..r.gen_range(8..=30))
            .map(|_| {
                let p = r.gen_range(0..n);
                let pick = r.gen_range(0..8);
                match r.gen_range(0..100) {
                    0..=19 => Op::PhoneAdd(p),
                    20..=33 => Op::PhoneEdit(p, pick),
                    34..=39 => Op::PhoneDelete(p, pick),
                    40..=47 => Op::ServerAdd,
                    48..=55 => Op::ServerEdit(pick),
                    56..=59 => Op::ServerDelete(pick),
                    60..=62 => Op::Restart,
                    _ => {
                        let kind = match r.gen_range(0..100) {
                            0..=69 => SyncKind::TwoWay,
                            70..=81 => SyncKind::Slow,
                            82..=87 => SyncKind::RefreshFromServer,
                            88..=91 => SyncKind::RefreshFromClient,
                            92..=95 => SyncKind::OneWayFromClient,
                            _ => SyncKind::OneWayFromServer,
                        };
                        let f = if r.gen_bool(0.4) {
                            faults(&mut r)
                        } else {
                            Faults::default()
                        };
                        Op::Sync(p, kind, f)
                    }
                }
            })
            .collect();
        Scenario { phones, ops }
    }

    /// The scenario as Rust source, for a regression test.
    pub fn to_rust(&self) -> String {
        let mut s = String::from("Scenario {\n    phones: vec![\n");
        for k in &self.phones {
            let _ = writeln!(
                s,
                "        Kind {{ v12: {}, wbxml: {}, max_msg_size: {}, per_message: {}, holds_note: {} }},",
                k.v12, k.wbxml, k.max_msg_size, k.per_message, k.holds_note
            );
        }
        s += "    ],\n    ops: vec![\n";
        for op in &self.ops {
            let _ = writeln!(s, "        {},", op_rust(op));
        }
        s + "    ],\n}"
    }
}

fn opt<T: std::fmt::Debug>(name: &str, v: &Option<T>) -> Option<String> {
    v.as_ref().map(|v| format!("{name}: Some({v:?})"))
}

fn op_rust(op: &Op) -> String {
    match op {
        Op::PhoneAdd(p) => format!("Op::PhoneAdd({p})"),
        Op::PhoneEdit(p, i) => format!("Op::PhoneEdit({p}, {i})"),
        Op::PhoneDelete(p, i) => format!("Op::PhoneDelete({p}, {i})"),
        Op::ServerAdd => "Op::ServerAdd".into(),
        Op::ServerEdit(i) => format!("Op::ServerEdit({i})"),
        Op::ServerDelete(i) => format!("Op::ServerDelete({i})"),
        Op::Restart => "Op::Restart".into(),
        Op::Sync(p, k, f) => {
            let mut parts: Vec<String> = [
                opt("resend_at", &f.resend_at),
                opt("give_up_at", &f.give_up_at),
                opt("start_over_at", &f.start_over_at),
                opt("restart_at", &f.restart_at),
                opt("server_edit_at", &f.server_edit_at),
                opt("phone_edit_at", &f.phone_edit_at),
            ]
            .into_iter()
            .flatten()
            .collect();
            let mut up: Vec<String> = [
                opt("fail_request", &f.upstream.fail_request),
                opt("edit_before_write", &f.upstream.edit_before_write),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !up.is_empty() {
                up.push("..Armed::default()".into());
                parts.push(format!("upstream: Armed {{ {} }}", up.join(", ")));
            }
            let faults = if parts.is_empty() {
                "Faults::default()".to_owned()
            } else {
                parts.push("..Faults::default()".into());
                format!("Faults {{ {} }}", parts.join(", "))
            };
            format!("Op::Sync({p}, SyncKind::{k:?}, {faults})")
        }
    }
}
