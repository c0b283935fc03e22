//! The bridge's own MaxObjSize (`limits.max_object_size`) against the real binary with a
//! crafted SyncML 1.2 phone: announced in the reply header and the sync Alert, and an item
//! past it refused with 416, whole or in chunks, before its chunks pile up.

mod support;

use support::crafted::{alert, basic, header_code, statuses_for, Crafted};
use support::e2e::{World, PASSWORD, USER};
use support::syncevolution::Datastore;

const LIMIT: usize = 2000;

fn card(family: &str, note_len: usize) -> String {
    format!(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:{family};Max;;;\r\nTEL;CELL:+4917012345\r\nNOTE:{}\r\nEND:VCARD\r\n",
        "x".repeat(note_len)
    )
}

fn add(cmd_id: u32, luid: &str, data: &str, size: Option<usize>, more: bool) -> String {
    let size = size
        .map(|s| format!("<Size xmlns=\"syncml:metinf\">{s}</Size>"))
        .unwrap_or_default();
    let more = if more { "<MoreData/>" } else { "" };
    format!(
        "<Add><CmdID>{cmd_id}</CmdID><Meta><Type xmlns=\"syncml:metinf\">text/x-vcard</Type>{size}</Meta>\
         <Item><Source><LocURI>{luid}</LocURI></Source><Data><![CDATA[{data}]]></Data>{more}</Item></Add>"
    )
}

fn sync(commands: &str) -> String {
    format!(
        "<Sync><CmdID>2</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./contacts</LocURI></Source>{commands}</Sync>"
    )
}

#[test]
fn the_bridge_announces_its_max_object_size_and_refuses_larger_items() {
    let world =
        World::start_with(|b| b.env("SYNCML_BRIDGE_LIMITS__MAX_OBJECT_SIZE", &LIMIT.to_string()));
    let mut phone = Crafted::new(&world.bridge.syncml_url(), "crafted-maxobj", "1");
    let m = phone.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    let p2 = phone.post(&m);
    assert_eq!(header_code(&p2), 212);
    let announced = format!(">{LIMIT}</MaxObjSize>");
    let header = p2.text.split("</SyncHdr>").next().unwrap_or_default();
    assert!(
        header.contains(&announced),
        "not in the header: {}",
        p2.text
    );
    let our_alert = p2.text.split("<Alert>").nth(1).unwrap_or_default();
    assert!(
        our_alert.contains(&announced),
        "not in the Alert: {}",
        p2.text
    );

    // A small card, a whole card past the limit, a first chunk declaring a size past it.
    let commands = [
        add(3, "small", &card("Klein", 10), None, false),
        add(4, "whole", &card("Gross", LIMIT), None, false),
        add(5, "declared", &card("Angesagt", 100), Some(LIMIT * 3), true),
    ]
    .concat();
    let m = phone.message("", &sync(&commands), true);
    let p4 = phone.post(&m);
    let mut codes: Vec<(&str, u16)> = statuses_for(&p4, "Add")
        .iter()
        .map(|s| (s.cmd_ref.as_str(), s.code))
        .collect();
    codes.sort();
    assert_eq!(codes, [("3", 201), ("4", 416), ("5", 416)], "{}", p4.text);
    let m = phone.message("", "", true);
    phone.post(&m);
    assert_eq!(world.server_items(Datastore::Contacts).len(), 1);

    // Chunks without a declared size: refused once they pass the limit together.
    let mut phone = Crafted::new(&world.bridge.syncml_url(), "crafted-maxobj", "2");
    let m = phone.message(&basic(USER, PASSWORD), &alert(200, Some("1"), "2"), true);
    assert_eq!(statuses_for(&phone.post(&m), "Alert")[0].code, 200);
    let big = card("Stueckweise", LIMIT * 2);
    let (first, second) = big.split_at(LIMIT * 3 / 5);
    let (second, rest) = second.split_at(LIMIT * 3 / 5);
    let m = phone.message("", &sync(&add(3, "chunked", first, None, true)), false);
    let codes: Vec<u16> = statuses_for(&phone.post(&m), "Add")
        .iter()
        .map(|s| s.code)
        .collect();
    assert_eq!(codes, [213]);
    let m = phone.message("", &sync(&add(3, "chunked", second, None, true)), false);
    let reply = phone.post(&m);
    let codes: Vec<u16> = statuses_for(&reply, "Add").iter().map(|s| s.code).collect();
    assert_eq!(codes, [416], "{}", reply.text);
    // The rest arrives as a new item of its own, which is no vCard.
    let m = phone.message("", &sync(&add(3, "chunked", rest, None, false)), true);
    let reply = phone.post(&m);
    let codes: Vec<u16> = statuses_for(&reply, "Add").iter().map(|s| s.code).collect();
    assert!(codes.iter().all(|c| *c >= 400), "{}", reply.text);
    let m = phone.message("", "", true);
    phone.post(&m);
    assert_eq!(world.server_items(Datastore::Contacts).len(), 1);
}
