//! Backups against real servers: Radicale holds the items, WsgiDAV the backup files.

mod support;

use chrono::NaiveDate;
use syncml_bridge::backup::{
    self, BackupError, BackupName, BackupTarget, RestoreReport, WrittenBackup,
};
use syncml_bridge::config::UpstreamConfig;
use syncml_bridge::convert::{self, vobject};
use syncml_bridge::dav::{Collection, Credentials, DavClient, DavUser, ItemKind};
use url::Url;

use support::radicale::Radicale;
use support::webdav::WebDav;
use support::webdav_files::WebDavFiles;

const VCARD: &str = "text/vcard; charset=utf-8";
const ICAL: &str = "text/calendar; charset=utf-8";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn dav_user(radicale: &Radicale, name: &str, password: &str) -> DavUser {
    let config = UpstreamConfig {
        url: format!("{}/", radicale.base_url()),
        connect_timeout_secs: 5,
        request_timeout_secs: 30,
        ..UpstreamConfig::default()
    };
    DavClient::new(&config)
        .unwrap()
        .user(Credentials::new(name, password))
}

fn vcard(uid: &str, name: &str) -> String {
    format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{name};;;;\r\n\
         TEL;TYPE=CELL:+49 170 {uid}\r\nNOTE:A note long enough to be folded by the server when \
         it writes the card back out again\\, with a comma\r\nEND:VCARD\r\n"
    )
}

const BERLIN: &str = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\n\
DTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\n\
TZOFFSETTO:+0100\r\nTZNAME:CET\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\n\
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n\
TZNAME:CEST\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n";

fn event(uid: &str, summary: &str, extra: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{BERLIN}BEGIN:VEVENT\r\n\
         UID:{uid}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20240105T100000\r\n\
         DTEND;TZID=Europe/Berlin:20240105T110000\r\nSUMMARY:{summary}\r\n{extra}END:VEVENT\r\n\
         END:VCALENDAR\r\n"
    )
}

fn recurring_with_override(uid: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{BERLIN}BEGIN:VEVENT\r\n\
         UID:{uid}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20240102T090000\r\n\
         RRULE:FREQ=WEEKLY;COUNT=4\r\nSUMMARY:Weekly\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
         DTSTAMP:20240101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:20240109T090000\r\n\
         DTSTART;TZID=Europe/Berlin:20240109T120000\r\nSUMMARY:Weekly (moved)\r\nEND:VEVENT\r\n\
         END:VCALENDAR\r\n"
    )
}

fn todo(uid: &str, summary: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VTODO\r\nUID:{uid}\r\n\
         DTSTAMP:20240101T000000Z\r\nSUMMARY:{summary}\r\nPRIORITY:1\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    )
}

/// The component blocks (VEVENT, VTODO, ...) of a calendar object, verbatim.
fn components(ics: &str, name: &str) -> Vec<String> {
    let (begin, end) = (format!("BEGIN:{name}\r\n"), format!("END:{name}\r\n"));
    let mut out = Vec::new();
    let mut rest = ics;
    while let Some(i) = rest.find(&begin) {
        let j = rest[i..].find(&end).expect("component is closed") + i + end.len();
        out.push(rest[i..j].to_owned());
        rest = &rest[j..];
    }
    out.sort();
    out
}

/// Every item of a collection as the server serves it now, by href.
fn items(dav: &WebDav, collection: &str) -> Vec<String> {
    dav.list(collection)
        .iter()
        .map(|href| dav.get(href).expect("listed item exists").body)
        .collect()
}

struct Fixture {
    radicale: Radicale,
    files: WebDavFiles,
    contacts: String,
    calendar: String,
    tasks: String,
}

fn fixture() -> Fixture {
    let radicale = Radicale::start();
    let files = WebDavFiles::start();
    let [contacts, calendar, tasks, _] = radicale.standard_collections("alice");
    let dav = radicale.client("alice");
    for (uid, name) in [("c1", "Ann Alder"), ("c2", "Ben Birch"), ("c3", "Cy Cedar")] {
        dav.put(&format!("{contacts}{uid}.vcf"), VCARD, &vcard(uid, name));
    }
    dav.put(
        &format!("{calendar}e1.ics"),
        ICAL,
        &event("e1", "Dentist", ""),
    );
    dav.put(
        &format!("{calendar}e2.ics"),
        ICAL,
        &event("e2", "Standup", "LOCATION:Room 1\r\n"),
    );
    dav.put(
        &format!("{calendar}e3.ics"),
        ICAL,
        &recurring_with_override("e3"),
    );
    dav.put(&format!("{tasks}t1.ics"), ICAL, &todo("t1", "Buy milk"));
    dav.put(&format!("{tasks}t2.ics"), ICAL, &todo("t2", "Call Ben"));
    Fixture {
        radicale,
        files,
        contacts,
        calendar,
        tasks,
    }
}

fn path(url: &str) -> String {
    Url::parse(url).unwrap().path().to_owned()
}

async fn collection(user: &DavUser, url: &str) -> Collection {
    user.collection_info(&path(url)).await.unwrap()
}

fn names(written: &[WrittenBackup]) -> Vec<String> {
    written.iter().map(|w| w.file.name.file_name()).collect()
}

#[test]
fn backups_are_named_complete_and_restore_without_duplicates() {
    let f = fixture();
    let alice = dav_user(&f.radicale, "alice", "secret");
    let dav = f.radicale.client("alice");
    // Two levels of the folder are missing: both are created.
    let folder = Url::parse(&format!(
        "{}phones/SyncML backups/",
        f.files.user_url("alice")
    ))
    .unwrap();
    let rt = runtime();
    let target = BackupTarget::at(folder.clone(), &alice, 1 << 20).unwrap();
    assert!(rt
        .block_on(backup::list_backups(&target))
        .unwrap()
        .is_empty());
    let contacts = rt.block_on(collection(&alice, &f.contacts));
    let calendar = rt.block_on(collection(&alice, &f.calendar));
    let tasks = rt.block_on(collection(&alice, &f.tasks));
    let sources = [
        (ItemKind::Contacts, &contacts),
        (ItemKind::Events, &calendar),
        (ItemKind::Tasks, &tasks),
    ];
    let first = rt
        .block_on(backup::backup_collections(
            &alice,
            &sources,
            &target,
            "nokia",
            day(2008, 12, 31),
        ))
        .unwrap();
    assert_eq!(
        names(&first),
        [
            "nokia200812310001-contacts.vcf",
            "nokia200812310001-events.ics",
            "nokia200812310001-tasks.ics"
        ]
    );
    assert_eq!(first.iter().map(|w| w.items).collect::<Vec<_>>(), [3, 3, 2]);
    assert_eq!(
        first[0].file.url.as_str(),
        format!("{folder}nokia200812310001-contacts.vcf").replace(' ', "%20")
    );

    // The files as stored on the file server's disk.
    let dir = f
        .files
        .share_dir("alice")
        .join("phones")
        .join("SyncML backups");
    let vcf = std::fs::read_to_string(dir.join("nokia200812310001-contacts.vcf")).unwrap();
    let cards = vobject::parse_all(vcf.as_bytes(), &vobject::ParseOptions::standard()).unwrap();
    let mut uids: Vec<_> = cards.iter().filter_map(|c| c.value("UID")).collect();
    uids.sort();
    assert_eq!(uids, ["c1", "c2", "c3"]);
    for card in items(&dav, &f.contacts) {
        assert!(
            vcf.contains(&card),
            "the backup holds the card verbatim:\n{card}"
        );
    }
    let ics = std::fs::read_to_string(dir.join("nokia200812310001-events.ics")).unwrap();
    let cal = convert::parse_ical(ics.as_bytes()).unwrap();
    assert_eq!(
        cal.components
            .iter()
            .filter(|c| c.name == "VTIMEZONE")
            .count(),
        1,
        "the shared time zone is written once"
    );
    let mut event_uids: Vec<_> = cal
        .components
        .iter()
        .filter(|c| c.name == "VEVENT")
        .filter_map(|c| c.value("UID"))
        .collect();
    event_uids.sort();
    assert_eq!(event_uids, ["e1", "e2", "e3", "e3"]);
    let todos = std::fs::read_to_string(dir.join("nokia200812310001-tasks.ics")).unwrap();
    assert_eq!(
        convert::parse_ical(todos.as_bytes())
            .unwrap()
            .components
            .len(),
        2
    );

    // Within a day the counter goes on; the next day it starts again.
    let again = rt
        .block_on(backup::backup_collection(
            &alice,
            ItemKind::Contacts,
            &contacts,
            &target,
            "nokia",
            day(2008, 12, 31),
        ))
        .unwrap();
    assert_eq!(
        again.file.name.file_name(),
        "nokia200812310002-contacts.vcf"
    );
    let other = rt
        .block_on(backup::backup_collection(
            &alice,
            ItemKind::Tasks,
            &tasks,
            &target,
            "sony",
            day(2008, 12, 31),
        ))
        .unwrap();
    assert_eq!(other.file.name.file_name(), "sony200812310001-tasks.ics");
    let next_day = rt
        .block_on(backup::backup_collection(
            &alice,
            ItemKind::Contacts,
            &contacts,
            &target,
            "nokia",
            day(2009, 1, 1),
        ))
        .unwrap();
    assert_eq!(
        next_day.file.name.file_name(),
        "nokia200901010001-contacts.vcf"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("nokia200812310002-contacts.vcf")).unwrap(),
        vcf,
        "unchanged data gives the same file"
    );
    let listed: Vec<String> = rt
        .block_on(backup::list_backups(&target))
        .unwrap()
        .iter()
        .map(|b| b.name.file_name())
        .collect();
    assert_eq!(
        listed,
        [
            "nokia200812310001-contacts.vcf",
            "nokia200812310001-events.ics",
            "nokia200812310001-tasks.ics",
            "sony200812310001-tasks.ics",
            "nokia200812310002-contacts.vcf",
            "nokia200901010001-contacts.vcf"
        ]
    );

    // Restore into emptied collections: every item back, content byte for byte.
    let before: Vec<Vec<String>> = [&f.contacts, &f.calendar, &f.tasks]
        .iter()
        .map(|c| items(&dav, c))
        .collect();
    for c in [&f.contacts, &f.calendar, &f.tasks] {
        for href in dav.list(c) {
            dav.delete(&href);
        }
        assert!(dav.list(c).is_empty());
    }
    let restored: Vec<RestoreReport> = vec![
        rt.block_on(backup::restore(
            &alice,
            &target,
            "nokia200812310001-contacts.vcf",
            &contacts,
        ))
        .unwrap(),
        rt.block_on(backup::restore(
            &alice,
            &target,
            "nokia200812310001-events.ics",
            &calendar,
        ))
        .unwrap(),
        rt.block_on(backup::restore(
            &alice,
            &target,
            "nokia200812310001-tasks.ics",
            &tasks,
        ))
        .unwrap(),
    ];
    assert_eq!(
        restored
            .iter()
            .map(|r| (r.added.len(), r.unchanged, r.kept))
            .collect::<Vec<_>>(),
        [(3, 0, 0), (3, 0, 0), (2, 0, 0)]
    );
    let mut cards_before = before[0].clone();
    let mut cards_after = items(&dav, &f.contacts);
    cards_before.sort();
    cards_after.sort();
    assert_eq!(cards_after, cards_before, "vCards come back byte for byte");
    for (i, (coll, comp)) in [(&f.calendar, "VEVENT"), (&f.tasks, "VTODO")]
        .iter()
        .enumerate()
    {
        let want: Vec<String> = before[i + 1]
            .iter()
            .flat_map(|t| components(t, comp))
            .collect();
        let got: Vec<String> = items(&dav, coll)
            .iter()
            .flat_map(|t| components(t, comp))
            .collect();
        let (mut want, mut got) = (want, got);
        want.sort();
        got.sort();
        assert_eq!(got, want, "{comp}s come back byte for byte");
    }
    // The recurring event and its override are one item again, with its time zone.
    let e3 = items(&dav, &f.calendar)
        .into_iter()
        .find(|t| t.contains("UID:e3"))
        .unwrap();
    assert_eq!(components(&e3, "VEVENT").len(), 2);
    assert_eq!(components(&e3, "VTIMEZONE").len(), 1);

    // Restoring into a collection that still holds items adds only what is missing.
    let c1 = format!("{}c1.vcf", path(&f.contacts));
    let c2_href = dav
        .list(&f.contacts)
        .into_iter()
        .find(|h| dav.get(h).unwrap().body.contains("UID:c2"))
        .unwrap();
    dav.delete(
        &dav.list(&f.contacts)
            .into_iter()
            .find(|h| dav.get(h).unwrap().body.contains("UID:c1"))
            .unwrap(),
    );
    dav.put(&c2_href, VCARD, &vcard("c2", "Ben Birch-Edited"));
    let report = rt
        .block_on(backup::restore(
            &alice,
            &target,
            "nokia200812310001-contacts.vcf",
            &contacts,
        ))
        .unwrap();
    assert_eq!(report.added, [c1]);
    assert_eq!((report.unchanged, report.kept), (1, 1));
    let now = items(&dav, &f.contacts);
    assert_eq!(now.len(), 3, "no duplicates");
    assert!(
        now.iter().any(|c| c.contains("Ben Birch-Edited")),
        "a later edit is never undone"
    );
    let twice = rt
        .block_on(backup::restore(
            &alice,
            &target,
            "nokia200812310001-contacts.vcf",
            &contacts,
        ))
        .unwrap();
    assert_eq!((twice.added.len(), twice.unchanged, twice.kept), (0, 2, 1));
    let tasks_again = rt
        .block_on(backup::restore(
            &alice,
            &target,
            "nokia200812310001-tasks.ics",
            &tasks,
        ))
        .unwrap();
    assert_eq!((tasks_again.added.len(), tasks_again.unchanged), (0, 2));
    assert_eq!(dav.list(&f.tasks).len(), 2);
}

#[test]
fn failures_are_typed_and_name_what_failed() {
    let radicale = Radicale::start();
    // The file server knows alice with another password.
    let files = WebDavFiles::start_with(&[("alice", "files-only"), ("bob", "hunter2")]);
    let [contacts_url, calendar_url, ..] = radicale.standard_collections("alice");
    radicale
        .client("alice")
        .put(&format!("{contacts_url}c1.vcf"), VCARD, &vcard("c1", "Ann"));
    let alice = dav_user(&radicale, "alice", "secret");
    let rt = runtime();
    let contacts = rt.block_on(collection(&alice, &contacts_url));
    let calendar = rt.block_on(collection(&alice, &calendar_url));
    let today = day(2024, 2, 29);
    let folder = Url::parse(&format!("{}SyncML backups/", files.user_url("alice"))).unwrap();

    let target = BackupTarget::at(folder.clone(), &alice, 1 << 20).unwrap();
    let err = rt
        .block_on(backup::backup_collection(
            &alice,
            ItemKind::Contacts,
            &contacts,
            &target,
            "p",
            today,
        ))
        .unwrap_err();
    assert!(
        matches!(&err, BackupError::FilesUnauthorized { user, .. } if user == "alice"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("refused the credentials of alice"),
        "{err}"
    );
    assert!(!err.to_string().contains("secret"));

    let down = Url::parse(&format!(
        "http://127.0.0.1:{}/alice/",
        support::tools::free_port()
    ))
    .unwrap();
    let target = BackupTarget::at(down, &alice, 1 << 20).unwrap();
    let err = rt.block_on(backup::list_backups(&target)).unwrap_err();
    assert!(
        matches!(err, BackupError::FilesUnavailable { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("unavailable"), "{err}");

    // The file server's alice, with the password it knows.
    let same_name = dav_user(&radicale, "alice", "files-only");
    let target = BackupTarget::at(folder.clone(), &same_name, 1 << 20).unwrap();
    let err = rt
        .block_on(backup::backup_collection(
            &same_name,
            ItemKind::Contacts,
            &contacts,
            &target,
            "p",
            today,
        ))
        .unwrap_err();
    assert!(
        matches!(&err, BackupError::ReadItems { collection, .. } if collection == "/alice/contacts/"),
        "the DAV server refuses that password: {err:?}"
    );

    let target = BackupTarget::at(folder.clone(), &alice, 10).unwrap();
    let err = rt
        .block_on(backup::backup_collection(
            &alice,
            ItemKind::Contacts,
            &contacts,
            &target,
            "p",
            today,
        ))
        .unwrap_err();
    assert!(
        matches!(err, BackupError::TooLarge { limit: 10, .. }),
        "{err:?}"
    );
    let err = rt
        .block_on(backup::backup_collection(
            &alice,
            ItemKind::Contacts,
            &contacts,
            &target,
            "../x",
            today,
        ))
        .unwrap_err();
    assert!(matches!(err, BackupError::InvalidPrefix { .. }), "{err:?}");

    // With the right password on both: a wrong file name, a missing file, a wrong collection.
    let files = WebDavFiles::start();
    let folder = Url::parse(&format!("{}SyncML backups/", files.user_url("alice"))).unwrap();
    let target = BackupTarget::at(folder, &alice, 1 << 20).unwrap();
    let written = rt
        .block_on(backup::backup_collection(
            &alice,
            ItemKind::Contacts,
            &contacts,
            &target,
            "p",
            day(2024, 3, 1),
        ))
        .unwrap();
    assert_eq!(
        written.file.name,
        BackupName::parse("p202403010001-contacts.vcf").unwrap()
    );
    let err = rt
        .block_on(backup::restore(&alice, &target, "holiday.jpg", &contacts))
        .unwrap_err();
    assert!(matches!(err, BackupError::NotABackupName { .. }), "{err:?}");
    let err = rt
        .block_on(backup::restore(
            &alice,
            &target,
            "p202403010002-contacts.vcf",
            &contacts,
        ))
        .unwrap_err();
    assert!(matches!(err, BackupError::NotFound { .. }), "{err:?}");
    let err = rt
        .block_on(backup::restore(
            &alice,
            &target,
            "p202403010001-contacts.vcf",
            &calendar,
        ))
        .unwrap_err();
    assert!(
        matches!(
            err,
            BackupError::WrongCollection {
                kind: "contacts",
                ..
            }
        ),
        "{err:?}"
    );
}
