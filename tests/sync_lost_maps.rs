//! A lost Map with the real SyncEvolution client (Debian 2.0.0), the real binary and
//! Radicale: the bridge sends the phone a card someone added on the server, the phone's
//! message with its Map (and its status for the Add) is lost on the way, and the user then
//! edits that card on the phone.
//!
//! What SyncEvolution really does (its message dumps at log level 5):
//! - the broken session's last message holds the Add's status 201 and the Map; it is lost,
//!   the client gives up (transport error) and marks the session resumable;
//! - the next session alerts a resume (225) and sends the Map again in package 3, before
//!   its Sync. Resumed, that Sync is empty: the edit waits for the following session,
//!   where the client sends it as an Add of its LUID (its change tracking counts from its
//!   last completed session, which the card was not part of yet);
//! - with resuming switched off on the bridge (`sync.resume_within_hours = 0`) the 225 is
//!   answered 509 and the client sends the Map and the Add of the edited card in the same
//!   package 3, Map first.
//!
//! So this client never sends a Replace for a LUID the bridge cannot name: the Map always
//! arrives first, and the bridge's 417 (retry later) for such a Replace is never needed.
//! Before the fix, the bridge refused a Map in package 3 with 403 and every later session
//! of the phone failed; once it took the Map, it sent the card back as a Replace in the
//! resumed session (its Add was never acknowledged) and that overwrote the user's edit.

mod support;

use support::e2e::{options, World, PASSWORD, USER};
use support::items;
use support::relay::Relay;
use support::syncevolution::{Datastore, Phone, PhoneOptions, SyncMode, SyncOutcome};

const CONTACTS: Datastore = Datastore::Contacts;
const NEW_CARD: &str = "srv-new";
const EDIT: &str = "NOTE:edited on the phone";

/// The commands of a logged SyncML message in short, one line each, e.g.
/// `Alert Data=225`, `Status CmdRef=5 Cmd=Map Data=200`, `Map Target:/a/b.vcf Source:2`,
/// `Sync Add Source:2`.
fn summary(xml: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut body: Option<usize> = None;
    let mut out: Vec<String> = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                stack.push(name.clone());
                if name == "SyncBody" {
                    body = Some(stack.len());
                }
                let Some(rel) = body.map(|b| &stack[b..]) else {
                    continue;
                };
                let item_cmd = matches!(name.as_str(), "Add" | "Replace" | "Delete");
                if rel.len() == 1 {
                    out.push(name);
                } else if rel.len() == 2 && rel[0] == "Sync" && item_cmd {
                    if let Some(line) = out.last_mut() {
                        line.push_str(&format!(" {name}"));
                    }
                }
            }
            Ok(Event::End(e)) => {
                if e.local_name().as_ref() == b"SyncBody" {
                    body = None;
                }
                stack.pop();
            }
            Ok(Event::Text(t)) => {
                let (Some(rel), Some(line)) = (body.map(|b| &stack[b..]), out.last_mut()) else {
                    continue;
                };
                let text = t.unescape().map(|c| c.into_owned()).unwrap_or_default();
                let field = rel.len() == 2 && matches!(rel[1].as_str(), "Data" | "Cmd" | "CmdRef");
                let uri = rel.last().is_some_and(|l| l == "LocURI")
                    && rel.iter().any(|r| r == "Item" || r == "MapItem");
                if field {
                    line.push_str(&format!(" {}={}", rel[1], text.trim()));
                } else if uri {
                    line.push_str(&format!(" {}:{}", rel[rel.len() - 2], text.trim()));
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

/// The summaries of the messages a session sent (`outgoing`) or received (`incoming`),
/// in order, from its message dumps.
fn messages(outcome: &SyncOutcome, way: &str) -> Vec<Vec<String>> {
    outcome
        .message_dumps(way)
        .iter()
        .map(|m| summary(m))
        .collect()
}

/// Whether message `i` of `msgs` has a command line starting with `start` and holding
/// every one of `parts`.
fn has(msgs: &[Vec<String>], i: usize, start: &str, parts: &[&str]) -> bool {
    msgs.get(i).is_some_and(|m| {
        m.iter()
            .any(|l| l.starts_with(start) && parts.iter().all(|p| l.contains(p)))
    })
}

/// Whether the bridge sent the phone any item in the session.
fn bridge_sent_items(incoming: &[Vec<String>]) -> bool {
    incoming.iter().flatten().any(|l| {
        l.starts_with("Sync")
            && (l.contains(" Add") || l.contains(" Replace") || l.contains(" Delete"))
    })
}

/// A phone and the bridge after the Map of a new server card was lost and the user
/// edited the card on the phone.
struct LostMap {
    world: World,
    phone: Phone,
    /// The phone's LUID (its file name) of the new card.
    luid: String,
    _relay: Relay,
}

/// One completed slow sync (one card on the server, two on the phone); a card added on
/// the server reaches the phone in a two-way sync whose Map is lost; the user edits it.
fn lose_the_map_of_a_new_card(resume_within_hours: &str, device: &str) -> LostMap {
    let world = World::start_with(|b| {
        b.env(
            "SYNCML_BRIDGE_SYNC__RESUME_WITHIN_HOURS",
            resume_within_hours,
        )
    });
    let relay = Relay::start(world.bridge.port());
    let mut phone = Phone::new();
    phone.configure(
        &format!("http://127.0.0.1:{}/syncml", relay.port),
        USER,
        PASSWORD,
        device,
        PhoneOptions {
            log_level: Some(5),
            wbxml: false,
            ..options(&[CONTACTS])
        },
    );
    let dav = world.dav();
    let collection = world.collection(CONTACTS).to_owned();
    dav.put(
        &format!("{collection}srv-a.vcf"),
        "text/vcard",
        &items::dav_vcard("srv-a", "Serverin", "Sam", &["TEL;TYPE=CELL:+4915100000"]),
    );
    for c in items::contacts(2) {
        phone.put_item(CONTACTS, &c.file, &c.vcard);
    }
    support::e2e::assert_mode(&phone.sync(SyncMode::Slow, &[]), CONTACTS, "slow");

    dav.put(
        &format!("{collection}{NEW_CARD}.vcf"),
        "text/vcard",
        &items::dav_vcard(NEW_CARD, "Neumann", "Nora", &["TEL;TYPE=CELL:+4915100001"]),
    );
    relay.lose_first_containing("<Map>");
    let broken = phone.sync(SyncMode::TwoWay, &[]);
    assert!(
        !broken.succeeded(),
        "the Map was not lost:\n{}",
        broken.output
    );
    let sent = messages(&broken, "outgoing");
    let last = sent.len().saturating_sub(1);
    let on_phone = phone.items(CONTACTS);
    let [(luid, card)] = &on_phone
        .iter()
        .filter(|(_, b)| b.contains("Neumann"))
        .collect::<Vec<_>>()[..]
    else {
        panic!("the new card once on the phone: {on_phone:#?}");
    };
    // The lost message: the status of the bridge's Add and the Map of the card.
    assert!(
        has(&sent, last, "Status", &["Cmd=Add", "Data=201"]),
        "{sent:#?}"
    );
    let map_item = format!("Target:/alice/contacts/{NEW_CARD}.vcf Source:{luid}");
    assert!(has(&sent, last, "Map", &[&map_item]), "{sent:#?}");
    let completed = world.bridge.log_text().matches("session completed").count();
    assert_eq!(
        completed,
        1,
        "the bridge got the Map:\n{}",
        world.log_tail(30)
    );

    let edited = if card.contains("\r\nNOTE:\r\n") {
        card.replace("\r\nNOTE:\r\n", &format!("\r\n{EDIT}\r\n"))
    } else {
        card.replace("END:VCARD", &format!("{EDIT}\r\nEND:VCARD"))
    };
    phone.modify_item(CONTACTS, luid, &edited);
    LostMap {
        luid: luid.clone(),
        world,
        phone,
        _relay: relay,
    }
}

/// Four cards on each side, the new one once, with the phone's edit.
fn assert_one_copy_everywhere(s: &LostMap) {
    let held = s.world.server_items(CONTACTS);
    assert_eq!(held.len(), 4, "{held:#?}");
    let new = support::e2e::containing(&held, "N:Neumann;Nora");
    assert_eq!(new.len(), 1, "{held:#?}");
    assert!(
        new[0].contains(EDIT),
        "the phone's edit is missing upstream: {}",
        new[0]
    );
    let on_phone = s.phone.items(CONTACTS);
    assert_eq!(on_phone.len(), 4, "{on_phone:#?}");
    let mine = support::e2e::containing(&on_phone, "N:Neumann;Nora");
    assert_eq!(mine.len(), 1, "{on_phone:#?}");
    assert!(
        mine[0].contains(EDIT),
        "the phone lost its edit: {}",
        mine[0]
    );
}

/// The next two-way sync moves nothing.
fn assert_quiet(phone: &mut Phone) {
    let quiet = phone.sync(SyncMode::TwoWay, &[]);
    support::e2e::assert_mode(&quiet, CONTACTS, "two-way");
    let r = quiet.source(CONTACTS);
    let moved = [
        r.local_added(),
        r.local_updated(),
        r.local_removed(),
        r.remote_added(),
        r.remote_updated(),
        r.remote_removed(),
    ];
    assert_eq!(moved, [0; 6], "not quiet: {r:?}");
}

#[test]
fn syncevolution_resends_a_lost_map_when_it_resumes_and_its_edit_lands_on_the_one_card() {
    let mut s = lose_the_map_of_a_new_card("24", "e2e-lost-map-resume");
    let map_item = format!("Target:/alice/contacts/{NEW_CARD}.vcf Source:{}", s.luid);

    // Resumed (225): the Map comes again before an empty Sync, is taken, and the card,
    // which the phone has, is not sent again.
    let resumed = s.phone.sync(SyncMode::TwoWay, &[]);
    resumed.assert_success();
    let (sent, got) = (
        messages(&resumed, "outgoing"),
        messages(&resumed, "incoming"),
    );
    assert!(has(&sent, 0, "Alert", &["Data=225"]), "{sent:#?}");
    assert!(
        has(&got, 0, "Status", &["Cmd=Alert", "Data=200"]),
        "{got:#?}"
    );
    assert!(has(&sent, 1, "Map", &[&map_item]), "{sent:#?}");
    assert!(
        has(&sent, 1, "Sync", &[]) && !has(&sent, 1, "Sync", &[" Add"]),
        "{sent:#?}"
    );
    assert!(has(&got, 1, "Status", &["Cmd=Map", "Data=200"]), "{got:#?}");
    assert!(
        !bridge_sent_items(&got),
        "the card went to the phone again: {got:#?}"
    );
    assert!(s
        .world
        .bridge
        .log_text()
        .contains("resuming the interrupted session"));

    // The following session carries the edit, as an Add of the now mapped LUID.
    let next = s.phone.sync(SyncMode::TwoWay, &[]);
    next.assert_success();
    let (sent, got) = (messages(&next, "outgoing"), messages(&next, "incoming"));
    let add = format!("Add Source:{}", s.luid);
    assert!(has(&sent, 1, "Sync", &[&add]), "{sent:#?}");
    assert!(has(&got, 1, "Status", &["Cmd=Add", "Data=201"]), "{got:#?}");
    assert!(
        !got.iter().flatten().any(|l| l.contains("Data=417")),
        "{got:#?}"
    );
    assert_one_copy_everywhere(&s);
    assert_quiet(&mut s.phone);
}

#[test]
fn syncevolution_resends_a_lost_map_with_its_edit_when_resuming_is_off() {
    let mut s = lose_the_map_of_a_new_card("0", "e2e-lost-map-no-resume");
    let map_item = format!("Target:/alice/contacts/{NEW_CARD}.vcf Source:{}", s.luid);

    // The resume is refused (509); the normal two-way sync gets the Map, then the Add
    // of the edited card in the same message.
    let next = s.phone.sync(SyncMode::TwoWay, &[]);
    next.assert_success();
    let (sent, got) = (messages(&next, "outgoing"), messages(&next, "incoming"));
    assert!(has(&sent, 0, "Alert", &["Data=225"]), "{sent:#?}");
    assert!(
        has(&got, 0, "Status", &["Cmd=Alert", "Data=509"]),
        "{got:#?}"
    );
    assert!(has(&sent, 1, "Map", &[&map_item]), "{sent:#?}");
    let add = format!("Add Source:{}", s.luid);
    assert!(has(&sent, 1, "Sync", &[&add]), "{sent:#?}");
    assert!(has(&got, 1, "Status", &["Cmd=Map", "Data=200"]), "{got:#?}");
    assert!(has(&got, 1, "Status", &["Cmd=Add", "Data=201"]), "{got:#?}");
    assert!(
        !got.iter().flatten().any(|l| l.contains("Data=417")),
        "{got:#?}"
    );
    assert!(
        !bridge_sent_items(&got),
        "the card went to the phone again: {got:#?}"
    );
    assert_one_copy_everywhere(&s);
    assert_quiet(&mut s.phone);
}
