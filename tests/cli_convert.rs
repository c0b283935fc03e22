//! `syncml-bridge convert`: one item between formats on stdout; exit status 2 with a clear
//! message for an item it cannot read.

use std::io::Write;
use std::process::{Command, Stdio};

fn convert(from: &str, to: &str, input: &[u8]) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_syncml-bridge"))
        .args(["convert", "--from", from, "--to", to])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_phone_vcard_becomes_a_dav_vcard_and_back() {
    let phone = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;J=FCrgen\r\nTEL;CELL;HOME:+49 170 1234567\r\nEND:VCARD\r\n";
    let (code, dav, err) = convert("vcard21", "vcard30", phone);
    assert_eq!(code, Some(0), "{err}");
    assert!(dav.contains("VERSION:3.0"), "{dav}");
    assert!(dav.contains("N:Müller;Jürgen"), "{dav}");
    assert!(dav.contains("TEL;TYPE=cell,home:+49 170 1234567"), "{dav}");
    let (code, back, err) = convert("vcard30", "vcard21", dav.as_bytes());
    assert_eq!(code, Some(0), "{err}");
    assert!(back.contains("VERSION:2.1"), "{back}");
    assert!(back.contains("+49 170 1234567"), "{back}");
}

#[test]
fn an_event_crosses_from_vcalendar_to_icalendar() {
    let vcal = b"BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nSUMMARY:Dentist\r\nDTSTART:20261201T090000Z\r\nDTEND:20261201T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let (code, ical, err) = convert("vcal10", "ical20", vcal);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        ical.contains("VERSION:2.0") && ical.contains("SUMMARY:Dentist"),
        "{ical}"
    );
    assert!(
        ical.contains("UID:"),
        "an iCalendar event needs a UID: {ical}"
    );
}

#[test]
fn unreadable_items_and_mismatched_kinds_exit_with_2() {
    let (code, _, err) = convert("vcard21", "vcal10", b"BEGIN:VCARD\r\nEND:VCARD\r\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("different kinds"), "{err}");
    let (code, _, err) = convert("vcal10", "ical20", b"\x00\x01 not an item");
    assert_eq!(code, Some(2));
    assert!(err.contains("cannot convert"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_syncml-bridge"))
        .args(["convert", "--from", "vcard99", "--to", "vcard30"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

/// Items nested far past the parsers' limits exit with 2 and say why, never abort.
#[test]
fn deeply_nested_items_exit_with_2() {
    let cases = [
        (
            "vcal10",
            format!(
                "BEGIN:VCALENDAR\r\n{}{}END:VCALENDAR\r\n",
                "BEGIN:VEVENT\r\n".repeat(16_000),
                "END:VEVENT\r\n".repeat(16_000)
            ),
            "nested deeper",
        ),
        (
            "sifc",
            format!(
                "{}{}",
                "<contact>".repeat(16_000),
                "</contact>".repeat(16_000)
            ),
            "nest deeper",
        ),
    ];
    for (from, input, reason) in cases {
        let to = if from == "sifc" { "vcard30" } else { "ical20" };
        let (code, _, err) = convert(from, to, input.as_bytes());
        assert_eq!(code, Some(2), "{from}: {err}");
        assert!(err.contains(reason), "{from}: {err}");
    }
}
