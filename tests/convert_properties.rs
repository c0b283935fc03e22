//! Property tests over generated inputs (seeded, so failures reproduce): the phone round
//! trip keeps what vCard 2.1 can carry, the merge never drops what the phone cannot store,
//! and no parser or converter panics on any input.

use std::fs;
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use syncml_bridge::convert::capability::{Capability, CtCapProperty};
use syncml_bridge::convert::merge::{merge, merge_with_sent};
use syncml_bridge::convert::vobject::{self, Component, Dialect, ParseOptions, Property};
use syncml_bridge::convert::{
    cli_convert, from_dav, sif, to_dav, vcard, Charset, ConvertOptions, Format, ItemKind,
};

const ALPHABET: &[char] = &[
    'a', 'b', 'Z', '0', '9', ' ', ',', ';', ':', '\\', '\n', '=', '"', 'ä', 'ß', 'é', '€', 'Ω',
    '中', '😀', '-', '.', '\'', '\t',
];

fn text(rng: &mut StdRng, max: usize) -> String {
    let len = rng.gen_range(1..=max);
    let mut s: String = (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())])
        .collect();
    // Values are trimmed by phones and by the converter alike; keep the test about content.
    s = s.trim().to_owned();
    if s.is_empty() {
        s.push('x');
    }
    s
}

fn word(rng: &mut StdRng) -> String {
    const W: &[&str] = &[
        "Anna",
        "Müller",
        "O'Neil",
        "Zoë",
        "Ødegaard",
        "李",
        "Smith-Jones",
    ];
    W[rng.gen_range(0..W.len())].to_owned()
}

fn esc(s: &str) -> String {
    vobject::escape_text(s, Dialect::Standard)
}

/// A DAV vCard 3.0 with properties that vCard 2.1 can carry.
fn dav_card(rng: &mut StdRng) -> Component {
    let mut c = Component::new("VCARD");
    c.push(Property::new("VERSION", "3.0"));
    let n: Vec<String> = (0..5)
        .map(|i| {
            if i < 2 || rng.gen_bool(0.3) {
                word(rng)
            } else {
                String::new()
            }
        })
        .collect();
    c.push(Property::new(
        "N",
        vobject::join_structured(&n, Dialect::Standard),
    ));
    c.push(Property::new("FN", esc(&text(rng, 20))));
    const TEL_TYPES: &[&str] = &["cell", "home", "work", "fax", "pager", "car"];
    for _ in 0..rng.gen_range(0..4) {
        let digits: String = (0..rng.gen_range(3..12))
            .map(|_| char::from(b'0' + rng.gen_range(0..10)))
            .collect();
        c.push(
            Property::new("TEL", format!("+{digits}"))
                .with_param("TYPE", TEL_TYPES[rng.gen_range(0..TEL_TYPES.len())]),
        );
    }
    if rng.gen_bool(0.7) {
        c.push(
            Property::new("EMAIL", format!("{}@example.com", rng.gen_range(0..1000)))
                .with_param("TYPE", "internet"),
        );
    }
    if rng.gen_bool(0.7) {
        let adr: Vec<String> = (0..7)
            .map(|_| {
                if rng.gen_bool(0.5) {
                    text(rng, 12)
                } else {
                    String::new()
                }
            })
            .collect();
        if adr.iter().any(|f| !f.is_empty()) {
            c.push(
                Property::new("ADR", vobject::join_structured(&adr, Dialect::Standard))
                    .with_param("TYPE", "home"),
            );
        }
    }
    for name in ["NOTE", "TITLE", "ORG", "X-CUSTOM"] {
        if rng.gen_bool(0.6) {
            c.push(Property::new(name, esc(&text(rng, 120))));
        }
    }
    if rng.gen_bool(0.5) {
        c.push(Property::new(
            "BDAY",
            format!(
                "19{:02}-0{}-1{}",
                rng.gen_range(10..99),
                rng.gen_range(1..9),
                rng.gen_range(0..9)
            ),
        ));
    }
    if rng.gen_bool(0.5) {
        let cats: Vec<String> = (0..rng.gen_range(1..4))
            // List items are trimmed, and a ';' inside one has no 2.1 spelling.
            .map(|_| text(rng, 10).replace(';', "").trim().to_owned())
            .filter(|s| !s.is_empty())
            .map(|s| esc(&s))
            .collect();
        if !cats.is_empty() {
            c.push(Property::new("CATEGORIES", cats.join(",")));
        }
    }
    c
}

#[test]
fn dav_to_vcard21_and_back_keeps_every_property() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0001);
    let charsets = [Charset::Utf8, Charset::Latin1, Charset::Windows1252];
    for round in 0..1500 {
        let card = dav_card(&mut rng);
        let opts = ConvertOptions::new(chrono::DateTime::UNIX_EPOCH)
            .with_charset(charsets[round % 3])
            .with_qp_non_ascii(rng.gen_bool(0.5));
        let phone = from_dav(Format::Vcard21, &card, &opts).expect("to phone");
        let back = to_dav(Format::Vcard21, &phone, &opts).expect("from phone");
        let mut expected = card.clone();
        vcard::ensure_fn(&mut expected);
        assert_eq!(
            back.properties,
            expected.properties,
            "round {round}\n--- phone\n{}",
            String::from_utf8_lossy(&phone)
        );
    }
}

fn random_capability(rng: &mut StdRng) -> Capability {
    const NAMES: &[&str] = &[
        "N",
        "FN",
        "TEL",
        "EMAIL",
        "ADR",
        "NOTE",
        "TITLE",
        "ORG",
        "BDAY",
        "CATEGORIES",
        "X-CUSTOM",
        "PHOTO",
    ];
    match rng.gen_range(0..4) {
        0 => Capability::unknown(),
        1 => Capability::from_format(Format::Vcard21),
        _ => {
            let mut props = Vec::new();
            for n in NAMES {
                if rng.gen_bool(0.5) {
                    let max_occur = if rng.gen_bool(0.3) {
                        Some(rng.gen_range(1..3))
                    } else {
                        None
                    };
                    props.push(CtCapProperty {
                        name: (*n).into(),
                        max_occur,
                        ..CtCapProperty::default()
                    });
                }
            }
            Capability::from_ctcap(&props)
        }
    }
}

#[test]
fn merge_never_drops_what_the_phone_cannot_store() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0002);
    for round in 0..3000 {
        let mut server = dav_card(&mut rng);
        server.push(Property::new("UID", format!("uid-{round}")));
        server.push(Property::new("PHOTO", "AAAA").with_param("ENCODING", "b"));
        server.push(Property::new("IMPP", "xmpp:a@b"));
        let phone = dav_card(&mut rng);
        let cap = random_capability(&mut rng);
        let merged = merge(&server, &phone, &cap).expect("merge");
        for p in &server.properties {
            let storable = cap.can_store(&p.name)
                || (!cap.absent_means_deleted() && phone.property(&p.name).is_some());
            if p.name == "UID" || !storable {
                assert!(
                    merged.properties.contains(p),
                    "round {round}: lost {p:?} (cannot be stored by the phone)"
                );
            }
        }
        // Every property the phone sent and can store is there in some spelling.
        for p in &phone.properties {
            if cap.can_store(&p.name) && p.name != "VERSION" {
                assert!(
                    merged.properties_named(&p.name).any(|m| m.value == p.value)
                        || merged.properties_named(&p.name).count() > 0,
                    "round {round}: phone's {} missing",
                    p.name
                );
            }
        }
        // The same phone item twice (a retried message) changes nothing more.
        let once = merge_with_sent(&server, &phone, &cap, &server).expect("once");
        let twice = merge_with_sent(&once, &phone, &cap, &server).expect("twice");
        assert_eq!(twice, once, "round {round}\n{cap:?}\n{server}\n{phone}");
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convert");
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(b) = fs::read(&p) {
                out.push(b);
            }
        }
    }
    out.sort();
    out
}

fn mutate(rng: &mut StdRng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..rng.gen_range(1..8) {
        if v.is_empty() {
            v.push(rng.gen());
            continue;
        }
        let at = rng.gen_range(0..v.len());
        match rng.gen_range(0..6) {
            0 => v[at] = rng.gen(),
            1 => {
                v.remove(at);
            }
            2 => v.insert(
                at,
                *b"=:;\r\n\\<>&\" "
                    .get(rng.gen_range(0..12))
                    .unwrap_or(&b'='),
            ),
            3 => v.truncate(at),
            4 => {
                let end = (at + rng.gen_range(1..40)).min(v.len());
                let chunk = v[at..end].to_vec();
                v.splice(at..at, chunk);
            }
            _ => v.insert(at, rng.gen()),
        }
    }
    v
}

#[test]
fn no_parser_or_converter_panics() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0003);
    let seeds = seeds();
    assert!(seeds.len() > 10, "fixtures found");
    let opts = ConvertOptions::new(chrono::DateTime::UNIX_EPOCH);
    for round in 0..2500 {
        let input = if round % 10 == 0 {
            let len = rng.gen_range(0..200);
            (0..len).map(|_| rng.gen()).collect()
        } else {
            let seed = rng.gen_range(0..seeds.len());
            mutate(&mut rng, &seeds[seed])
        };
        let _ = vobject::parse_all(&input, &ParseOptions::old(Charset::Latin1));
        let _ = vobject::parse_all(&input, &ParseOptions::standard());
        let _ = sif::parse(&input, Format::Sifc);
        for from in Format::ALL {
            let Ok(dav) = to_dav(from, &input, &opts) else {
                continue;
            };
            for to in Format::ALL {
                let same_kind =
                    (from.kind() == ItemKind::Contact) == (to.kind() == ItemKind::Contact);
                if same_kind {
                    let _ = from_dav(to, &dav, &opts);
                }
            }
            let _ = merge(&dav, &dav, &Capability::from_format(from));
        }
        let _ = cli_convert(
            Format::Vcard21,
            Format::Sifc,
            &input,
            &opts,
            syncml_bridge::engine::items::new_uid,
        );
    }
}
