//! A crafted Funambol-style phone (no DevInf, SIF items) syncing events, tasks and notes
//! through the real binary to Radicale: chosen by `format=sif` in the URL, or by the
//! datastore names Funambol clients give their SIF sources (`scal`, `stask`, `snote`).
//! Radicale ends up with proper iCalendar, and the server's items come back as SIF of
//! the right type.

mod support;

use base64::Engine as _;
use support::crafted::{basic, header_code, inner, statuses_for, Crafted, Reply};
use support::e2e::{World, PASSWORD, USER};
use support::items::{property_values, unfold};
use support::syncevolution::Datastore;

/// One of the phone's SIF datastores.
struct Store {
    /// The server URI the phone alerts.
    name: &'static str,
    /// The phone's own URI.
    local: &'static str,
    sif_type: &'static str,
    /// The root element of its SIF document.
    root: &'static str,
}

fn stores(names: [&'static str; 3]) -> [Store; 3] {
    [
        Store {
            name: names[0],
            local: "./Calendar",
            sif_type: "text/x-s4j-sife",
            root: "appointment",
        },
        Store {
            name: names[1],
            local: "./Tasks",
            sif_type: "text/x-s4j-sift",
            root: "task",
        },
        Store {
            name: names[2],
            local: "./Notes",
            sif_type: "text/x-s4j-sifn",
            root: "note",
        },
    ]
}

const PHONE_EVENT: &str =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><appointment><SIFVersion>1.1</SIFVersion>\
    <Subject>Phone meeting</Subject><Body>Agenda: Q3</Body><Location>Raum 4 – Zürich</Location>\
    <Start>20260310T090000Z</Start><End>20260310T100000Z</End><AllDayEvent>0</AllDayEvent>\
    <BusyStatus>2</BusyStatus><Sensitivity>0</Sensitivity><ReminderSet>0</ReminderSet>\
    <IsRecurring>0</IsRecurring></appointment>";

fn phone_task(subject: &str, complete: bool) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><task><SIFVersion>1.1</SIFVersion>\
         <Subject>{subject}</Subject><Body>Belege sammeln</Body><DueDate>2026-03-12</DueDate>\
         <Complete>{}</Complete><Importance>2</Importance><ReminderSet>0</ReminderSet>\
         <IsRecurring>0</IsRecurring></task>",
        u8::from(complete)
    )
}

const PHONE_NOTE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><note><SIFVersion>1.1</SIFVersion>\
    <Subject>Phone note</Subject><Body>Phone note&#13;\nMilch, Käse &amp; Brot</Body><Color>1</Color></note>";

fn alerts(stores: &[Store; 3], code: u16, last: Option<&str>, next: &str) -> String {
    let last = last
        .map(|l| format!("<Last>{l}</Last>"))
        .unwrap_or_default();
    stores
        .iter()
        .enumerate()
        .map(|(i, s)| {
            format!(
                "<Alert><CmdID>{}</CmdID><Data>{code}</Data><Item><Target><LocURI>{}</LocURI></Target>\
                 <Source><LocURI>{}</LocURI></Source><Meta><Anchor xmlns=\"syncml:metinf\">{last}<Next>{next}</Next></Anchor></Meta></Item></Alert>",
                i + 1,
                s.name,
                s.local
            )
        })
        .collect()
}

/// An Add or Replace of one SIF item, as Funambol clients send it: base64 for events,
/// plain XML for the others.
fn item_command(cmd: &str, id: u32, store: &Store, luid: &str, sif: &str) -> String {
    let (format, data) = if store.root == "appointment" {
        (
            "<Format xmlns=\"syncml:metinf\">b64</Format>".to_owned(),
            base64::engine::general_purpose::STANDARD.encode(sif),
        )
    } else {
        (String::new(), format!("<![CDATA[{sif}]]>"))
    };
    format!(
        "<{cmd}><CmdID>{id}</CmdID><Meta><Type xmlns=\"syncml:metinf\">{}</Type>{format}</Meta>\
         <Item><Source><LocURI>{luid}</LocURI></Source><Data>{data}</Data></Item></{cmd}>",
        store.sif_type
    )
}

fn sync(id: u32, store: &Store, commands: &str) -> String {
    format!(
        "<Sync><CmdID>{id}</CmdID><Target><LocURI>{}</LocURI></Target><Source><LocURI>{}</LocURI></Source>{commands}</Sync>",
        store.name, store.local
    )
}

/// The server's Sync for `store` in a reply (its Target is the phone's URI).
fn server_sync<'a>(reply: &'a Reply, store: &Store) -> &'a str {
    reply
        .text
        .split("<Sync>")
        .skip(1)
        .map(|s| s.split("</Sync>").next().unwrap_or_default())
        .find(|s| {
            s.contains(&format!(
                "<Target><LocURI>{}</LocURI></Target>",
                store.local
            ))
        })
        .unwrap_or_else(|| panic!("no Sync for {} in:\n{}", store.local, reply.text))
}

/// The (type, decoded SIF document, Source or Target LocURI) of every `cmd` of a Sync.
fn items_of(sync: &str, cmd: &str) -> Vec<(String, String, String)> {
    let open = format!("<{cmd}>");
    sync.split(&open)
        .skip(1)
        .map(|c| {
            let c = c.split(&format!("</{cmd}>")).next().unwrap_or_default();
            let ty = inner(c, "Type").map(|t| {
                let start = t.find('>').map_or(0, |i| i + 1);
                t[start..].to_owned()
            });
            let ty = ty
                .or_else(|| {
                    let at = c.find("<Type")?;
                    let start = c[at..].find('>')? + at + 1;
                    let end = c[start..].find('<')? + start;
                    Some(c[start..end].to_owned())
                })
                .unwrap_or_default();
            let data = inner(c, "Data").unwrap_or_default();
            let data = data
                .trim_start_matches("<![CDATA[")
                .trim_end_matches("]]>")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&amp;", "&");
            let data = if data.trim_start().starts_with('<') {
                data
            } else {
                base64::engine::general_purpose::STANDARD
                    .decode(data.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .unwrap_or(data)
            };
            let loc = inner(c, "LocURI").unwrap_or_default().to_owned();
            (ty, data, loc)
        })
        .collect()
}

fn put_server_items(world: &World) {
    let dav = world.dav();
    let cal = |body: &str| {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n")
    };
    for (datastore, name, body) in [
        (
            Datastore::Calendar,
            "srv-ev.ics",
            "BEGIN:VEVENT\r\nUID:srv-ev\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Server meeting\r\nDTSTART:20260311T140000Z\r\nDTEND:20260311T150000Z\r\nEND:VEVENT\r\n",
        ),
        (
            Datastore::Tasks,
            "srv-td.ics",
            "BEGIN:VTODO\r\nUID:srv-td\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Server task\r\nDUE;VALUE=DATE:20260320\r\nEND:VTODO\r\n",
        ),
        (
            Datastore::Notes,
            "srv-nt.ics",
            "BEGIN:VJOURNAL\r\nUID:srv-nt\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Server note\r\nDESCRIPTION:Server note\\nzweite Zeile\r\nEND:VJOURNAL\r\n",
        ),
    ] {
        let url = format!("{}{name}", world.collection(datastore));
        assert!(dav.put(&url, "text/calendar", &cal(body)).is_success());
    }
}

/// The phone's item of `datastore` on Radicale (the one whose UID the server did not make).
fn phone_item(world: &World, datastore: Datastore) -> String {
    let all = world.server_items(datastore);
    let mine: Vec<&String> = all
        .iter()
        .map(|(_, b)| b)
        .filter(|b| !unfold(b).contains("UID:srv-"))
        .collect();
    assert_eq!(mine.len(), 1, "{all:?}");
    unfold(mine[0])
}

/// A slow sync that adds one SIF item per datastore and receives the server's, then a
/// two-way sync with a change on each side.
fn sif_both_ways(world: &World, url: &str, device: &str, stores: &[Store; 3]) {
    put_server_items(world);

    // Session 1: slow sync.
    let mut phone = Crafted::new(url, device, "1");
    let m = phone.message(
        &basic(USER, PASSWORD),
        &alerts(stores, 201, None, "1"),
        true,
    );
    let p2 = phone.post(&m);
    assert_eq!(header_code(&p2), 212, "{}", p2.text);
    let codes: Vec<u16> = statuses_for(&p2, "Alert").iter().map(|s| s.code).collect();
    assert_eq!(codes, [200, 200, 200], "{}", p2.text);

    let task = phone_task("Phone task", false);
    let sifs = [PHONE_EVENT, task.as_str(), PHONE_NOTE];
    let body: String = stores
        .iter()
        .zip(sifs)
        .enumerate()
        .map(|(i, (s, sif))| {
            let id = 10 * (i as u32 + 1);
            sync(
                id,
                s,
                &item_command("Add", id + 1, s, &format!("luid-{}", s.root), sif),
            )
        })
        .collect();
    let m = phone.message("", &body, true);
    let p4 = phone.post(&m);
    let adds: Vec<u16> = statuses_for(&p4, "Add").iter().map(|s| s.code).collect();
    assert_eq!(adds, [201, 201, 201], "{}", p4.text);
    let mut map = String::new();
    for (i, s) in stores.iter().enumerate() {
        let sent = items_of(server_sync(&p4, s), "Add");
        assert_eq!(sent.len(), 1, "{}: {sent:?}", s.name);
        let (ty, doc, server_id) = &sent[0];
        assert_eq!(ty, s.sif_type, "{}", s.name);
        assert!(
            doc.contains(&format!("<{}>", s.root)) && doc.contains("<Subject>Server "),
            "{}: {doc}",
            s.name
        );
        map.push_str(&format!(
            "<Map><CmdID>{}</CmdID><Target><LocURI>{}</LocURI></Target><Source><LocURI>{}</LocURI></Source>\
             <MapItem><Target><LocURI>{server_id}</LocURI></Target><Source><LocURI>srv-{}</LocURI></Source></MapItem></Map>",
            100 + i,
            s.name,
            s.local,
            s.root
        ));
    }
    let m = phone.message("", &map, true);
    let p6 = phone.post(&m);
    assert!(
        statuses_for(&p6, "Map").iter().all(|s| s.code == 200),
        "{}",
        p6.text
    );

    // Radicale holds proper iCalendar of each kind.
    let event = phone_item(world, Datastore::Calendar);
    assert!(
        event.contains("BEGIN:VEVENT") && event.contains("SUMMARY:Phone meeting"),
        "{event}"
    );
    assert!(event.contains("DTSTART:20260310T090000Z"), "{event}");
    assert!(event.contains("LOCATION:Raum 4 – Zürich"), "{event}");
    let todo = phone_item(world, Datastore::Tasks);
    assert!(
        todo.contains("BEGIN:VTODO") && todo.contains("SUMMARY:Phone task"),
        "{todo}"
    );
    assert!(todo.contains("DUE"), "{todo}");
    let journal = phone_item(world, Datastore::Notes);
    assert!(
        journal.contains("BEGIN:VJOURNAL") && journal.contains("SUMMARY:Phone note"),
        "{journal}"
    );
    assert!(
        journal.contains("DESCRIPTION:Phone note\\nMilch\\, Käse & Brot"),
        "{journal}"
    );
    assert!(
        !journal.contains("<note>") && !journal.contains("<?xml"),
        "{journal}"
    );

    // Session 2: the server's meeting moved, the phone's task is done.
    let moved = world
        .server_items(Datastore::Calendar)
        .into_iter()
        .find(|(_, b)| b.contains("UID:srv-ev"))
        .map(|(_, b)| b.replace("SUMMARY:Server meeting", "SUMMARY:Server meeting moved"))
        .unwrap();
    let url_ev = format!("{}srv-ev.ics", world.collection(Datastore::Calendar));
    assert!(world
        .dav()
        .put(&url_ev, "text/calendar", &moved)
        .is_success());

    let mut phone = Crafted::new(url, device, "2");
    let m = phone.message(
        &basic(USER, PASSWORD),
        &alerts(stores, 200, Some("1"), "2"),
        true,
    );
    let p2 = phone.post(&m);
    let codes: Vec<u16> = statuses_for(&p2, "Alert").iter().map(|s| s.code).collect();
    assert_eq!(codes, [200, 200, 200], "{}", p2.text);
    let done = phone_task("Phone task done", true);
    let tasks = &stores[1];
    let body = [
        sync(10, &stores[0], ""),
        sync(
            20,
            tasks,
            &item_command("Replace", 21, tasks, "luid-task", &done),
        ),
        sync(30, &stores[2], ""),
    ]
    .concat();
    let m = phone.message("", &body, true);
    let p4 = phone.post(&m);
    let replaced: Vec<u16> = statuses_for(&p4, "Replace")
        .iter()
        .map(|s| s.code)
        .collect();
    assert_eq!(replaced, [200], "{}", p4.text);
    let back = items_of(server_sync(&p4, &stores[0]), "Replace");
    assert_eq!(back.len(), 1, "{}", p4.text);
    let (ty, doc, luid) = &back[0];
    assert_eq!(ty, "text/x-s4j-sife");
    assert_eq!(luid, "srv-appointment");
    assert!(
        doc.contains("<Subject>Server meeting moved</Subject>"),
        "{doc}"
    );
    for s in [&stores[1], &stores[2]] {
        let sent = server_sync(&p4, s);
        assert!(
            items_of(sent, "Add").is_empty() && items_of(sent, "Replace").is_empty(),
            "{}: nothing changed on the server, nothing may come back: {sent}",
            s.name
        );
    }
    let m = phone.message("", "", true);
    phone.post(&m);

    let todo = phone_item(world, Datastore::Tasks);
    assert!(todo.contains("SUMMARY:Phone task done"), "{todo}");
    assert_eq!(property_values(&todo, "STATUS"), ["COMPLETED"], "{todo}");
    assert_eq!(world.server_items(Datastore::Calendar).len(), 2);
    assert_eq!(world.server_items(Datastore::Tasks).len(), 2);
    assert_eq!(world.server_items(Datastore::Notes).len(), 2);
}

#[test]
fn sif_events_tasks_and_notes_sync_both_ways_with_format_sif() {
    let world = World::start();
    let url = world.bridge.syncml_url_with("format=sif");
    sif_both_ways(
        &world,
        &url,
        "fwm-format-sif",
        &stores(["cal", "task", "note"]),
    );
}

#[test]
fn sif_events_tasks_and_notes_sync_both_ways_under_funambols_sif_names() {
    let world = World::start();
    let url = world.bridge.syncml_url();
    sif_both_ways(
        &world,
        &url,
        "fwm-sif-names",
        &stores(["scal", "stask", "snote"]),
    );
}

/// The Format of every `cmd` of a Sync (empty when it names none).
fn formats_of(sync: &str, cmd: &str) -> Vec<String> {
    sync.split(&format!("<{cmd}>"))
        .skip(1)
        .map(|c| {
            let c = c.split(&format!("</{cmd}>")).next().unwrap_or_default();
            let Some(at) = c.find("<Format") else {
                return String::new();
            };
            let start = c[at..].find('>').map_or(at, |i| at + i + 1);
            let end = c[start..].find('<').map_or(start, |i| start + i);
            c[start..end].to_owned()
        })
        .collect()
}

#[test]
fn sif_items_go_to_the_phone_in_base64_where_the_phone_sent_its_own_in_base64() {
    let world = World::start();
    let url = world.bridge.syncml_url();
    let stores = stores(["scal", "stask", "snote"]);
    put_server_items(&world);

    // Session 1: the phone's event comes in base64, its task as plain XML.
    let mut phone = Crafted::new(&url, "fwm-b64", "1");
    let m = phone.message(
        &basic(USER, PASSWORD),
        &alerts(&stores, 201, None, "1"),
        true,
    );
    assert_eq!(header_code(&phone.post(&m)), 212);
    let task = phone_task("Phone task", false);
    let body = [
        sync(
            10,
            &stores[0],
            &item_command("Add", 11, &stores[0], "luid-ev", PHONE_EVENT),
        ),
        sync(
            20,
            &stores[1],
            &item_command("Add", 21, &stores[1], "luid-td", &task),
        ),
        sync(30, &stores[2], ""),
    ]
    .concat();
    let m = phone.message("", &body, true);
    let p4 = phone.post(&m);
    let events = server_sync(&p4, &stores[0]);
    assert_eq!(formats_of(events, "Add"), ["b64"], "{}", p4.text);
    let (_, doc, _) = &items_of(events, "Add")[0];
    assert!(doc.contains("<Subject>Server meeting</Subject>"), "{doc}");
    let raw = inner(events, "Data").unwrap_or_default();
    assert!(!raw.contains("appointment"), "not base64: {raw}");
    assert_eq!(
        formats_of(server_sync(&p4, &stores[1]), "Add"),
        [""],
        "plain like the phone's: {}",
        p4.text
    );
    let server_id = items_of(events, "Add")[0].2.clone();
    let map = format!(
        "<Map><CmdID>40</CmdID><Target><LocURI>scal</LocURI></Target><Source><LocURI>./Calendar</LocURI></Source>\
         <MapItem><Target><LocURI>{server_id}</LocURI></Target><Source><LocURI>srv-ev</LocURI></Source></MapItem></Map>"
    );
    let m = phone.message("", &map, true);
    phone.post(&m);

    // Session 2: the phone sends no event, the server's changed: it still goes in base64.
    let moved = world
        .server_items(Datastore::Calendar)
        .into_iter()
        .find(|(_, b)| b.contains("UID:srv-ev"))
        .map(|(_, b)| b.replace("SUMMARY:Server meeting", "SUMMARY:Server meeting moved"))
        .expect("the server's event");
    let url_ev = format!("{}srv-ev.ics", world.collection(Datastore::Calendar));
    assert!(world
        .dav()
        .put(&url_ev, "text/calendar", &moved)
        .is_success());
    let mut phone = Crafted::new(&url, "fwm-b64", "2");
    let m = phone.message(
        &basic(USER, PASSWORD),
        &alerts(&stores, 200, Some("1"), "2"),
        true,
    );
    phone.post(&m);
    let body: String = stores
        .iter()
        .enumerate()
        .map(|(i, s)| sync(10 * (i as u32 + 1), s, ""))
        .collect();
    let m = phone.message("", &body, true);
    let p4 = phone.post(&m);
    let events = server_sync(&p4, &stores[0]);
    assert_eq!(formats_of(events, "Replace"), ["b64"], "{}", p4.text);
    let (_, doc, _) = &items_of(events, "Replace")[0];
    assert!(
        doc.contains("<Subject>Server meeting moved</Subject>"),
        "{doc}"
    );
}

/// A DevInf Put of a Nokia phone (its calendar datastore holds tasks too) whose calendar
/// takes SIF events.
fn nokia_sif_devinf_put(device: &str) -> String {
    format!(
        "<Put><CmdID>5</CmdID><Meta><Type xmlns=\"syncml:metinf\">application/vnd.syncml-devinf+xml</Type></Meta>\
         <Item><Source><LocURI>./devinf12</LocURI></Source><Data><DevInf xmlns=\"syncml:devinf\">\
         <VerDTD>1.2</VerDTD><Man>Nokia</Man><Mod>E51</Mod><DevID>{device}</DevID><DevTyp>phone</DevTyp>\
         <DataStore><SourceRef>./Calendar</SourceRef>\
         <Rx-Pref><CTType>text/x-s4j-sife</CTType><VerCT>1.0</VerCT></Rx-Pref>\
         <Tx-Pref><CTType>text/x-s4j-sife</CTType><VerCT>1.0</VerCT></Tx-Pref>\
         <SyncCap><SyncType>1</SyncType><SyncType>2</SyncType></SyncCap></DataStore>\
         </DevInf></Data></Item></Put>"
    )
}

#[test]
fn a_combined_sif_calendar_gets_its_tasks_as_sif_tasks_and_its_events_as_sif_events() {
    let world = World::start();
    put_server_items(&world);
    let url = world.bridge.syncml_url_with("format=sif");
    let device = "IMEI:35195801234567";
    let mut phone = Crafted::new(&url, device, "1");
    let alert = "<Alert><CmdID>1</CmdID><Data>201</Data><Item><Target><LocURI>calendar</LocURI></Target>\
         <Source><LocURI>./Calendar</LocURI></Source><Meta><Anchor xmlns=\"syncml:metinf\"><Next>1</Next></Anchor></Meta></Item></Alert>";
    let m = phone.message(
        &basic(USER, PASSWORD),
        &(nokia_sif_devinf_put(device) + alert),
        true,
    );
    let p2 = phone.post(&m);
    assert_eq!(header_code(&p2), 212, "{}", p2.text);
    let calendar = Store {
        name: "calendar",
        local: "./Calendar",
        sif_type: "text/x-s4j-sife",
        root: "appointment",
    };
    let m = phone.message("", &sync(2, &calendar, ""), true);
    let p4 = phone.post(&m);
    let mut sent = items_of(server_sync(&p4, &calendar), "Add");
    sent.sort();
    assert_eq!(sent.len(), 2, "no item skipped: {}", p4.text);
    let (ty, doc, _) = &sent[0];
    assert_eq!(ty, "text/x-s4j-sife", "{doc}");
    assert!(
        doc.contains("<appointment>") && doc.contains("Server meeting"),
        "{doc}"
    );
    let (ty, doc, _) = &sent[1];
    assert_eq!(ty, "text/x-s4j-sift", "{doc}");
    assert!(
        doc.contains("<task>") && doc.contains("Server task"),
        "{doc}"
    );
    assert!(
        !world.bridge.log_text().contains("not convertible"),
        "{}",
        world.log_tail(20)
    );
}

#[test]
fn a_funambol_client_on_its_default_path_is_answered_as_syncml_and_the_rest_is_proxied() {
    let world = World::start();
    put_server_items(&world);
    let url = format!("{}/funambol/ds", world.bridge.base_url());
    let stores = stores(["scal", "stask", "snote"]);
    let mut phone = Crafted::new(&url, "fwm-default-path", "1");
    let m = phone.message(
        &basic(USER, PASSWORD),
        &alerts(&stores, 201, None, "1"),
        true,
    );
    let p2 = phone.post(&m);
    assert_eq!(header_code(&p2), 212, "{}", p2.text);
    let body: String = stores
        .iter()
        .enumerate()
        .map(|(i, s)| sync(10 * (i as u32 + 1), s, ""))
        .collect();
    let m = phone.message("", &body, true);
    let p4 = phone.post(&m);
    let sent = items_of(server_sync(&p4, &stores[0]), "Add");
    assert_eq!(sent.len(), 1, "{}", p4.text);
    assert!(sent[0].1.contains("Server meeting"), "{:?}", sent[0]);

    // Anything but a SyncML POST there is the upstream's business.
    let http = reqwest::blocking::Client::new();
    let get = http.get(&url).send().expect("GET");
    let text = get.text().expect("body");
    assert!(
        !text.contains("SyncML"),
        "GET answered by the bridge: {text}"
    );
    let plain = http
        .post(&url)
        .header("Content-Type", "text/plain")
        .body("hello")
        .send()
        .expect("POST");
    let status = plain.status().as_u16();
    let text = plain.text().expect("body");
    assert!(
        !text.contains("<SyncML") && !text.contains("SyncML endpoint"),
        "a plain POST answered by the bridge ({status}): {text}"
    );
}
