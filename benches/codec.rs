//! Codec throughput on a realistic package-3 message (~20 KB of XML): a Sync with
//! vCard Adds and Replaces, a few Deletes, statuses, Meta and anchors.
//! Run with `cargo bench --bench codec`; prints MB/s for each direction.

use std::hint::black_box;
use std::time::{Duration, Instant};
use syncml_bridge::syncml::codes::StatusCode;
use syncml_bridge::syncml::model::{
    Command, Data, Delete, Item, ItemCommand, Location, Message, Meta, Sync, SyncBody,
};
use syncml_bridge::syncml::{decode, encode, reply, Encoding};

fn vcard(i: usize) -> String {
    format!(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Lastname{i};Firstname{i};;;\r\nFN:Firstname{i} Lastname{i}\r\n\
         TEL;CELL:+49 170 555{i:04}\r\nTEL;HOME:+49 30 555{i:04}\r\nTEL;WORK:+49 89 555{i:04}\r\n\
         EMAIL;INTERNET:person{i}@example.org\r\nADR;HOME:;;Hauptstra\u{00df}e {i};Berlin;;10115;Germany\r\n\
         ORG:Example & Sons GmbH\r\nTITLE:Engineer\r\nBDAY:19800101\r\nURL:http://example.org/~p{i}\r\n\
         NOTE:Met at the conference in {i}; likes <b>coffee</b>, prefers calls after 10.\r\n\
         ADR;WORK:;;Industriestra\u{00df}e {i};M\u{00fc}nchen;;80331;Germany\r\n\
         EMAIL;WORK:person{i}@work.example.com\r\nNICKNAME:P{i}\r\n\
         NOTE:Second line of notes about person {i}, kept long enough to look like a real card.\r\n\
         X-IRMC-LUID:{i:06}\r\nEND:VCARD\r\n"
    )
}

fn message() -> Message {
    let typed = Meta {
        content_type: Some("text/x-vcard".into()),
        ..Default::default()
    };
    let mut changes = Vec::new();
    for i in 0..24 {
        let item = Item {
            source: Some(Location::new(format!("{}", 1000 + i))),
            data: Some(Data::Text(vcard(i))),
            ..Default::default()
        };
        let cmd = ItemCommand {
            cmd_id: format!("{}", 10 + i),
            meta: Some(typed.clone()),
            items: vec![item],
            ..Default::default()
        };
        changes.push(if i % 2 == 0 {
            Command::Add(cmd)
        } else {
            Command::Replace(cmd)
        });
    }
    for i in 0..4 {
        changes.push(Command::Delete(Delete {
            cmd_id: format!("{}", 50 + i),
            items: vec![Item {
                source: Some(Location::new(format!("{}", 2000 + i))),
                ..Default::default()
            }],
            ..Default::default()
        }));
    }
    let header = syncml_bridge::syncml::model::SyncHdr {
        ver_dtd: "1.2".into(),
        ver_proto: "SyncML/1.2".into(),
        session_id: "1234".into(),
        msg_id: "2".into(),
        target: Location::new("http://sync.example.org/syncml?sid=abcdef"),
        source: Location::new("IMEI:356000000000001"),
        meta: Some(Meta {
            max_msg_size: Some(65536),
            max_obj_size: Some(4_000_000),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut st = reply::header_status(&header, "1", StatusCode::Ok);
    st.msg_ref = "1".into();
    let sync = Sync {
        cmd_id: "3".into(),
        target: Some(Location::new("card")),
        source: Some(Location::new("./Contacts")),
        meta: Some(Meta {
            max_obj_size: Some(4_000_000),
            ..Default::default()
        }),
        number_of_changes: Some(28),
        commands: changes,
        ..Default::default()
    };
    Message {
        header,
        body: SyncBody {
            commands: vec![Command::Status(st), Command::Sync(sync)],
            final_: true,
        },
        extra: Vec::new(),
    }
}

/// Nanoseconds this thread has spent on a CPU (Linux), so the figure means "per
/// core" even when the machine is busy with other work.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Runs `f` repeatedly for about two seconds; returns MB/s over `bytes` per call by
/// wall-clock time and by on-CPU time.
fn throughput(bytes: usize, mut f: impl FnMut()) -> (f64, Option<f64>) {
    for _ in 0..20 {
        f();
    }
    let cpu0 = thread_cpu_ns();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        for _ in 0..50 {
            f();
        }
        n += 50;
    }
    let total = bytes as f64 * n as f64 / 1e6;
    let wall = total / start.elapsed().as_secs_f64();
    let cpu = match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) if b > a => Some(total / ((b - a) as f64 / 1e9)),
        _ => None,
    };
    (wall, cpu)
}

fn show(rate: (f64, Option<f64>)) -> String {
    match rate.1 {
        Some(cpu) => format!("{cpu:.0} MB/s per core ({:.0} MB/s wall)", rate.0),
        None => format!("{:.0} MB/s wall", rate.0),
    }
}

fn main() {
    let msg = message();
    for enc in [Encoding::Xml, Encoding::Wbxml] {
        let bytes = match encode(&msg, enc) {
            Ok(b) => b,
            Err(e) => panic!("encoding the bench message as {enc:?}: {e}"),
        };
        match decode(&bytes) {
            Ok(d) if d.message == msg => {}
            other => panic!("{enc:?} round trip differs: {other:?}"),
        }
        let dec = throughput(bytes.len(), || {
            black_box(decode(black_box(&bytes)).ok());
        });
        let enc_rate = throughput(bytes.len(), || {
            black_box(encode(black_box(&msg), enc).ok());
        });
        println!(
            "{enc:?}: message {} bytes; decode {}; encode {}",
            bytes.len(),
            show(dec),
            show(enc_rate)
        );
    }
}
