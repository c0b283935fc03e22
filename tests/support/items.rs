//! Test data as legacy phones hold it: vCard 2.1 contacts (non-ASCII names in
//! quoted-printable UTF-8, several numbers), vCalendar 1.0 events with recurrence and alarm,
//! tasks, plain-text notes, and a contact with a large photo. Everything is deterministic:
//! item `i` is always the same, and every item is distinct under the slow-sync match keys.

const GIVEN: [&str; 60] = [
    "Jürgen",
    "Zoë",
    "Ana",
    "Björn",
    "Chloé",
    "Dmitri",
    "Eléonore",
    "François",
    "Grete",
    "Håkon",
    "Ines",
    "Jiří",
    "Kasia",
    "Łukasz",
    "Maël",
    "Nuño",
    "Oskar",
    "Paweł",
    "Renée",
    "Søren",
    "Tomáš",
    "Uwe",
    "Vera",
    "Wiebke",
    "Xavière",
    "Yusuf",
    "Zdeněk",
    "Agnès",
    "Bartłomiej",
    "Céline",
    "Dörte",
    "Émile",
    "Fatma",
    "Gülay",
    "Hélène",
    "Ignác",
    "Jöns",
    "Krisztián",
    "Lucía",
    "Matthäus",
    "Noémi",
    "Ольга",
    "Pål",
    "Raphaël",
    "Stéphane",
    "Thérèse",
    "Ulla",
    "Václav",
    "Wolfgang",
    "Yvette",
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "John",
    "Margaret",
    "Niklaus",
];

const FAMILY: [&str; 90] = [
    "Müller",
    "Østergaard",
    "Dvořák",
    "Nuñez",
    "Šimková",
    "Łęcki",
    "Großmann",
    "Ibáñez",
    "Çelik",
    "Håland",
    "Kovačević",
    "Lefèvre",
    "Mäkinen",
    "Nørgaard",
    "Ożóg",
    "Pérez",
    "Quéré",
    "Rønning",
    "Schäfer",
    "Türk",
    "Ünal",
    "Vázquez",
    "Weiß",
    "Yıldız",
    "Žák",
    "Andrés",
    "Bähr",
    "Cañas",
    "Dürr",
    "Eßer",
    "Fürst",
    "Gómez",
    "Hübner",
    "Ísaksson",
    "Jäger",
    "Kühn",
    "Löw",
    "Mößner",
    "Nikolić",
    "Öztürk",
    "Păun",
    "Rüdiger",
    "Sánchez",
    "Tóth",
    "Urbañski",
    "Vogt",
    "Wójcik",
    "Xirgú",
    "Ybáñez",
    "Zúñiga",
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Backus",
    "Hamilton",
    "Wirth",
    "Kay",
    "Lamport",
    "Ritchie",
    "Thompson",
    "Pike",
    "Kernighan",
    "Stroustrup",
    "Hoare",
    "Milner",
    "Naur",
    "Perlis",
    "McCarthy",
    "Minsky",
    "Shannon",
    "Hamming",
    "Codd",
    "Gray",
    "Cerf",
    "Kahn",
    "Postel",
    "Berners-Lee",
    "Engelbart",
    "Sutherland",
    "Floyd",
    "Tarjan",
    "Karp",
    "Rabin",
    "Scott",
    "Cook",
    "Valiant",
];

/// One generated contact.
#[derive(Debug, Clone)]
pub struct Contact {
    /// File name in the phone's datastore directory.
    pub file: String,
    pub given: String,
    pub family: String,
    /// The numbers in the card, in order (mobile, home, and work for every third contact).
    pub tels: Vec<String>,
    /// The vCard 2.1 text with CRLF line ends.
    pub vcard: String,
}

/// `n` distinct vCard 2.1 contacts.
pub fn contacts(n: usize) -> Vec<Contact> {
    (0..n).map(contact).collect()
}

/// Contact number `i`.
pub fn contact(i: usize) -> Contact {
    let given = GIVEN[i % GIVEN.len()].to_owned();
    let round = i / GIVEN.len();
    let mut family = FAMILY[round % FAMILY.len()].to_owned();
    if round >= FAMILY.len() {
        family = format!("{family}-{}", FAMILY[(round / FAMILY.len()) % FAMILY.len()]);
    }
    let mut tels = vec![
        format!("+4917{:08}", 10_000_000 + i),
        format!("+4930{:07}", 2_000_000 + i),
    ];
    if i % 3 == 0 {
        tels.push(format!("+4989{:07}", 5_000_000 + i));
    }
    let vcard = contact_vcard(&given, &family, &tels, i);
    Contact {
        file: format!("contact-{i:05}.vcf"),
        given,
        family,
        tels,
        vcard,
    }
}

fn contact_vcard(given: &str, family: &str, tels: &[String], i: usize) -> String {
    let mut lines = vec!["BEGIN:VCARD".to_owned(), "VERSION:2.1".to_owned()];
    lines.push(text_property("N", &format!("{family};{given};;;")));
    lines.push(text_property("FN", &format!("{given} {family}")));
    let kinds = ["TEL;CELL", "TEL;HOME;VOICE", "TEL;WORK;VOICE"];
    for (kind, tel) in kinds.iter().zip(tels) {
        lines.push(format!("{kind}:{tel}"));
    }
    lines.push(format!(
        "EMAIL;INTERNET:{}.{}@example.org",
        ascii_fold(given),
        i
    ));
    if i % 2 == 0 {
        lines.push(text_property(
            "ADR;HOME",
            &format!(";;Hauptstraße {};Köln;;50667;Deutschland", i % 200 + 1),
        ));
    }
    if i % 5 == 0 {
        lines.push(text_property(
            "NOTE",
            &format!("Met at the Straßenfest, №{i}"),
        ));
    }
    lines.push("END:VCARD".to_owned());
    lines.join("\r\n") + "\r\n"
}

/// `NAME:value` in plain ASCII, or quoted-printable UTF-8 when the value is not ASCII, as
/// phones write it.
pub fn text_property(name: &str, value: &str) -> String {
    if value.is_ascii() {
        format!("{name}:{value}")
    } else {
        format!(
            "{name};CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{}",
            quoted_printable(value)
        )
    }
}

/// Quoted-printable of the UTF-8 bytes (no soft line breaks: values here are short).
pub fn quoted_printable(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'=' => "=3D".to_owned(),
            b if b.is_ascii_graphic() || b == b' ' => (b as char).to_string(),
            b => format!("={b:02X}"),
        })
        .collect()
}

fn ascii_fold(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                'x'
            }
        })
        .collect()
}

/// A contact with a photo of about `photo_bytes` bytes (base64 in the card, folded as vCard
/// 2.1 does), to travel as a large object.
pub fn contact_with_photo(photo_bytes: usize) -> (String, Vec<u8>) {
    use base64::Engine as _;
    // A JPEG signature, then deterministic noise that does not compress.
    let mut photo = vec![0xFF, 0xD8, 0xFF, 0xE0];
    let mut state: u32 = 0x1234_5678;
    while photo.len() < photo_bytes - 2 {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        photo.push((state & 0xFF) as u8);
    }
    photo.extend([0xFF, 0xD9]);
    let encoded = base64::engine::general_purpose::STANDARD.encode(&photo);
    let mut card = String::from(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Bildermann;Paula;;;\r\nFN:Paula Bildermann\r\n\
         TEL;CELL:+491701234567\r\nPHOTO;ENCODING=BASE64;TYPE=JPEG:\r\n",
    );
    for chunk in encoded.as_bytes().chunks(72) {
        card.push_str("  ");
        card.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        card.push_str("\r\n");
    }
    card.push_str("\r\nEND:VCARD\r\n");
    (card, photo)
}

/// One generated calendar item.
#[derive(Debug, Clone)]
pub struct CalendarItem {
    pub file: String,
    pub summary: String,
    /// The vCalendar 1.0 text.
    pub vcal: String,
}

/// Event `i`: a weekly meeting with an end date for even `i`, a daily one with a count for
/// odd `i`; a display alarm 15 minutes before; a non-ASCII location.
pub fn event(i: usize) -> CalendarItem {
    let day = 5 + i % 20;
    let hour = 8 + i % 9;
    let summary = format!("Besprechung {i} – Übersicht");
    let rrule = if i % 2 == 0 {
        "RRULE:W1 MO WE 20261231T000000Z".to_owned()
    } else {
        format!("RRULE:D1 #{}", 3 + i % 5)
    };
    let vcal = [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:1.0".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        text_property("SUMMARY", &summary),
        text_property("LOCATION", &format!("Raum {} – Büro Zürich", i % 7)),
        format!("DTSTART:202601{day:02}T{hour:02}0000Z"),
        format!("DTEND:202601{day:02}T{:02}3000Z", hour),
        rrule,
        format!("AALARM:202601{day:02}T{:02}4500Z;;0;", hour - 1),
        "CATEGORIES:MEETING".to_owned(),
        "CLASS:PUBLIC".to_owned(),
        "END:VEVENT".to_owned(),
        "END:VCALENDAR".to_owned(),
    ]
    .join("\r\n")
        + "\r\n";
    CalendarItem {
        file: format!("event-{i:04}.vcs"),
        summary,
        vcal,
    }
}

/// Task `i`: a due date, a priority, an alarm; every fourth one completed.
pub fn task(i: usize) -> CalendarItem {
    let summary = format!("Aufgabe {i}: Steuererklärung prüfen");
    let day = 10 + i % 15;
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:1.0".to_owned(),
        "BEGIN:VTODO".to_owned(),
        text_property("SUMMARY", &summary),
        format!("DUE:202602{day:02}T170000Z"),
        format!("PRIORITY:{}", 1 + i % 3),
        format!("AALARM:202602{day:02}T090000Z;;0;"),
    ];
    if i % 4 == 3 {
        lines.push("STATUS:COMPLETED".to_owned());
        lines.push(format!("COMPLETED:202602{:02}T120000Z", day - 1));
    } else {
        lines.push("STATUS:NEEDS ACTION".to_owned());
    }
    lines.extend(["END:VTODO".to_owned(), "END:VCALENDAR".to_owned()]);
    CalendarItem {
        file: format!("task-{i:04}.vcs"),
        summary,
        vcal: lines.join("\r\n") + "\r\n",
    }
}

/// Note `i`: a first line used as its title, then text with non-ASCII letters.
pub fn note(i: usize) -> (String, String) {
    (
        format!("note-{i:04}.txt"),
        format!("Einkaufsliste {i}\nÄpfel, Brötchen, Käse\nnicht vergessen: Blumen für Zoë\n"),
    )
}

/// A vCard 3.0 as a DAV client (e.g. Nextcloud) would store it.
pub fn dav_vcard(uid: &str, family: &str, given: &str, extra_lines: &[&str]) -> String {
    let mut lines = vec![
        "BEGIN:VCARD".to_owned(),
        "VERSION:3.0".to_owned(),
        format!("UID:{uid}"),
        format!("N:{family};{given};;;"),
        format!("FN:{given} {family}"),
    ];
    lines.extend(extra_lines.iter().map(|l| (*l).to_owned()));
    lines.push("END:VCARD".to_owned());
    lines.join("\r\n") + "\r\n"
}

/// An iCalendar 2.0 VEVENT as a DAV client would store it.
pub fn dav_event(uid: &str, summary: &str, start: &str, end: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//e2e//EN\r\nBEGIN:VEVENT\r\n\
         UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\n\
         SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// The text of a vCard/vCalendar property value, quoted-printable decoded when so encoded,
/// for each line whose name (before `;` or `:`) is `name`. Folded lines are unfolded first.
pub fn property_values(text: &str, name: &str) -> Vec<String> {
    let unfolded = unfold(text);
    unfolded
        .lines()
        .filter_map(|line| {
            let (head, value) = line.split_once(':')?;
            let prop = head.split(';').next()?;
            if !prop.eq_ignore_ascii_case(name) {
                return None;
            }
            if head.to_ascii_uppercase().contains("QUOTED-PRINTABLE") {
                Some(decode_qp(value))
            } else {
                Some(value.to_owned())
            }
        })
        .collect()
}

/// Joins folded lines: RFC 2425 folding (CRLF + blank) and vCard 2.1 QP soft breaks (`=` CRLF).
pub fn unfold(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let mut out = String::with_capacity(text.len());
    let mut soft = false;
    for line in text.split('\n') {
        if soft {
            out.push_str(line);
        } else if let Some(rest) = line.strip_prefix(' ').or_else(|| line.strip_prefix('\t')) {
            out.push_str(rest);
        } else {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(line);
        }
        // A quoted-printable value ending in `=` continues on the next line.
        let current = out.rsplit('\n').next().unwrap_or_default();
        soft = line.ends_with('=') && current.to_ascii_uppercase().contains("QUOTED-PRINTABLE");
        if soft {
            out.pop();
        }
    }
    out
}

fn decode_qp(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The digits of a phone number (so `+49 170 ...` and `+49170...` compare equal).
pub fn digits(tel: &str) -> String {
    tel.chars().filter(char::is_ascii_digit).collect()
}
