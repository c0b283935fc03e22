//! An event ends by DTEND or by DURATION, never both: a crafted SyncML 1.2 phone whose
//! CTCap lists DTEND but not DURATION moves the end of an event Radicale stores with a
//! DURATION, through the real bridge; Radicale ends up with the phone's DTEND alone.

mod support;

use support::crafted::{basic, header_code, inner, statuses_for, Crafted};
use support::e2e::{World, PASSWORD, USER};
use support::items::unfold;
use support::syncevolution::Datastore;

const DEVICE: &str = "IMEI:35195809876543";

/// A DevInf Put whose calendar CTCap lists SUMMARY, DTSTART and DTEND, not DURATION.
fn devinf_put() -> String {
    let prop = |n: &str| format!("<Property><PropName>{n}</PropName></Property>");
    let props: String = ["BEGIN", "END", "VERSION", "SUMMARY", "DTSTART", "DTEND"]
        .iter()
        .map(|n| prop(n))
        .collect();
    format!(
        "<Put><CmdID>5</CmdID><Meta><Type xmlns=\"syncml:metinf\">application/vnd.syncml-devinf+xml</Type></Meta>\
         <Item><Source><LocURI>./devinf12</LocURI></Source><Data><DevInf xmlns=\"syncml:devinf\">\
         <VerDTD>1.2</VerDTD><Man>Crafted</Man><Mod>Ends</Mod><DevID>{DEVICE}</DevID><DevTyp>phone</DevTyp>\
         <DataStore><SourceRef>./calendar</SourceRef>\
         <Rx-Pref><CTType>text/x-vcalendar</CTType><VerCT>1.0</VerCT></Rx-Pref>\
         <Tx-Pref><CTType>text/x-vcalendar</CTType><VerCT>1.0</VerCT></Tx-Pref>\
         <CTCap><CTType>text/x-vcalendar</CTType><VerCT>1.0</VerCT>{props}</CTCap>\
         <SyncCap><SyncType>1</SyncType><SyncType>2</SyncType></SyncCap></DataStore>\
         </DevInf></Data></Item></Put>"
    )
}

fn alert(code: u16, last: Option<&str>, next: &str) -> String {
    let last = last
        .map(|l| format!("<Last>{l}</Last>"))
        .unwrap_or_default();
    format!(
        "<Alert><CmdID>1</CmdID><Data>{code}</Data><Item><Target><LocURI>calendar</LocURI></Target>\
         <Source><LocURI>./calendar</LocURI></Source><Meta><Anchor xmlns=\"syncml:metinf\">{last}<Next>{next}</Next></Anchor></Meta></Item></Alert>"
    )
}

fn sync(commands: &str) -> String {
    format!(
        "<Sync><CmdID>2</CmdID><Target><LocURI>calendar</LocURI></Target><Source><LocURI>./calendar</LocURI></Source>{commands}</Sync>"
    )
}

#[test]
fn a_phones_dtend_replaces_the_servers_duration_on_radicale() {
    let world = World::start();
    let href = format!("{}talk.ics", world.collection(Datastore::Calendar));
    let stored = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:talk\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Talk\r\nDTSTART:20260310T090000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    assert!(world.dav().put(&href, "text/calendar", stored).is_success());
    let url = world.bridge.syncml_url();

    // Session 1: the phone gets the event and maps it.
    let mut phone = Crafted::new(&url, DEVICE, "1");
    let m = phone.message(
        &basic(USER, PASSWORD),
        &(devinf_put() + &alert(201, None, "1")),
        true,
    );
    assert_eq!(header_code(&phone.post(&m)), 212);
    let m = phone.message("", &sync(""), true);
    let p4 = phone.post(&m);
    let add = inner(&p4.text, "Add").unwrap_or_else(|| panic!("no Add:\n{}", p4.text));
    let at = add.find("<Source><LocURI>").expect("a Source") + "<Source><LocURI>".len();
    let server_id = &add[at..add[at..].find('<').expect("end") + at];
    let map = format!(
        "<Map><CmdID>3</CmdID><Target><LocURI>calendar</LocURI></Target><Source><LocURI>./calendar</LocURI></Source>\
         <MapItem><Target><LocURI>{server_id}</LocURI></Target><Source><LocURI>ev-1</LocURI></Source></MapItem></Map>"
    );
    let m = phone.message("", &map, true);
    phone.post(&m);

    // Session 2: the phone moves the end to 11:00 and sends its DTEND.
    let mut phone = Crafted::new(&url, DEVICE, "2");
    let m = phone.message(&basic(USER, PASSWORD), &alert(200, Some("1"), "2"), true);
    assert_eq!(header_code(&phone.post(&m)), 212);
    let vcal = "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nSUMMARY:Talk\r\nDTSTART:20260310T090000Z\r\nDTEND:20260310T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let replace = format!(
        "<Replace><CmdID>3</CmdID><Meta><Type xmlns=\"syncml:metinf\">text/x-vcalendar</Type></Meta>\
         <Item><Source><LocURI>ev-1</LocURI></Source><Data><![CDATA[{vcal}]]></Data></Item></Replace>"
    );
    let m = phone.message("", &sync(&replace), true);
    let p4 = phone.post(&m);
    let codes: Vec<u16> = statuses_for(&p4, "Replace")
        .iter()
        .map(|s| s.code)
        .collect();
    assert_eq!(codes, [200], "{}", p4.text);

    let items = world.server_items(Datastore::Calendar);
    assert_eq!(items.len(), 1, "{items:?}");
    let event = unfold(&items[0].1);
    assert!(event.contains("DTEND:20260310T110000Z"), "{event}");
    assert!(
        !event.contains("DURATION"),
        "both DTEND and DURATION: {event}"
    );
}
