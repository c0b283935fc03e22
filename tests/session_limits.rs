//! Session limits: a message of a logged-in session carrying more items than
//! `limits.max_items_per_message` is answered with SyncML status 413 for its header, logged
//! with the key, and nothing else runs (a stranger's message is refused on its header before
//! its body is read at all); a completed session frees its place under
//! `limits.max_sessions` at once and is counted once.

mod support;

use support::crafted::{alert, basic, header_code, sync_with_add, Crafted};
use support::e2e::{World, PASSWORD, USER};
use support::items;
use support::syncevolution::Datastore;

#[test]
fn a_message_over_the_item_limit_gets_413() {
    let world = World::start_with(|b| b.env("SYNCML_BRIDGE_LIMITS__MAX_ITEMS_PER_MESSAGE", "2"));
    let mut phone = Crafted::new(&world.bridge.syncml_url(), "items-limit", "1");
    let m = phone.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    assert_eq!(header_code(&phone.post(&m)), 212);
    let adds: String = (0..3)
        .map(|i| {
            sync_with_add(&format!("l{i}"), &items::contact(i).vcard)
                .replace("<Sync><CmdID>2</CmdID>", "")
                .replace("<Target><LocURI>contacts</LocURI></Target><Source><LocURI>./contacts</LocURI></Source>", "")
                .replace("</Sync>", "")
        })
        .collect();
    let body = format!(
        "<Sync><CmdID>2</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./contacts</LocURI></Source>{adds}</Sync>"
    );
    let m = phone.message("", &body, true);
    let reply = phone.post(&m);
    assert_eq!(header_code(&reply), 413, "{}", reply.text);
    assert_eq!(reply.statuses.len(), 1, "nothing else runs: {}", reply.text);
    assert!(world.server_items(Datastore::Contacts).is_empty());
    assert!(
        world
            .bridge
            .log_text()
            .contains("limits.max_items_per_message"),
        "the log names the key"
    );
}

/// The sum of a metric family's samples on `/metrics`.
fn metric_sum(metrics: &str, family: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(family) && l[family.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn completed_sessions_free_their_slots_at_once_and_count_once() {
    let world = World::start_with(|b| b.env("SYNCML_BRIDGE_LIMITS__MAX_SESSIONS", "4"));
    let url = world.bridge.syncml_url();
    let empty_sync = "<Sync><CmdID>2</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./contacts</LocURI></Source></Sync>";
    let sync_status = "<Status><CmdID>1</CmdID><MsgRef>2</MsgRef><CmdRef>3</CmdRef><Cmd>Sync</Cmd><Data>200</Data></Status>";
    let mut last = None;
    // Two waves, each as large as the session limit.
    for wave in 0..2 {
        for n in 0..4 {
            let mut phone = Crafted::new(&url, &format!("wave-{wave}-{n}"), "1");
            let m = phone.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
            let init = phone.post(&m);
            assert_eq!(header_code(&init), 212, "wave {wave}: {}", init.text);
            let m = phone.message("", empty_sync, true);
            assert_eq!(header_code(&phone.post(&m)), 200);
            let m = phone.message("", sync_status, true);
            let end = phone.post(&m);
            assert_eq!(header_code(&end), 200, "{}", end.text);
            last = Some((phone, m, end.text));
        }
    }
    // The message that ended a session, resent, gets the same answer again.
    let (mut phone, m, text) = last.expect("sessions ran");
    assert_eq!(phone.post(&m).text, text);

    let metrics = reqwest::blocking::get(format!("{}/metrics", world.bridge.base_url()))
        .and_then(|r| r.text())
        .expect("metrics");
    assert_eq!(
        metric_sum(&metrics, "syncml_bridge_sessions_started_total"),
        8.0,
        "{metrics}"
    );
    assert_eq!(
        metric_sum(&metrics, "syncml_bridge_sessions_completed_total"),
        8.0,
        "{metrics}"
    );
    assert_eq!(metric_sum(&metrics, "syncml_bridge_sessions_active"), 0.0);
}
