//! What a phone says it can take, honoured by the real bridge in front of Radicale, with
//! crafted SyncML 1.2 phones: the CTCap of its DevInf shapes the items it is sent (and the
//! server keeps what it could not hold), an item over its MaxObjSize is named in the log
//! and kept for later, and DES / triple-DES encrypted items (`des;b64`, `3des;b64`) are read
//! and answered encrypted.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine as _;
use md5::{Digest, Md5};
use support::crafted::{
    alert, basic, challenge_nonce, header_code, inner, md5, md5_policy, statuses_for, Crafted,
    Reply,
};
use support::e2e::{World, OTHER_PASSWORD, OTHER_USER, PASSWORD, USER};
use support::items;
use support::syncevolution::Datastore;

/// A contacts Sync carrying `commands`.
fn sync(commands: &str) -> String {
    format!(
        "<Sync><CmdID>2</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./contacts</LocURI></Source>{commands}</Sync>"
    )
}

/// The Source LocURI of the first Add of a reply (the server id).
fn first_add_source(text: &str) -> String {
    let cmd = inner(text, "Add").unwrap_or_else(|| panic!("no Add in:\n{text}"));
    let at = cmd.find("<Source><LocURI>").expect("a Source") + "<Source><LocURI>".len();
    cmd[at..cmd[at..].find('<').expect("end of LocURI") + at].to_owned()
}

/// The phone's Map of `server_id` to `luid`.
fn map(server_id: &str, luid: &str) -> String {
    format!(
        "<Map><CmdID>3</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./contacts</LocURI></Source>\
         <MapItem><Target><LocURI>{server_id}</LocURI></Target><Source><LocURI>{luid}</LocURI></Source></MapItem></Map>"
    )
}

/// A DevInf Put whose contacts CTCap lists N (at most 10 characters), TEL with three
/// types, EMAIL — and no NOTE.
fn ctcap_devinf_put(device: &str) -> String {
    ctcap_devinf_put_of("Crafted", device)
}

/// [`ctcap_devinf_put`] from a phone of manufacturer `man`.
fn ctcap_devinf_put_of(man: &str, device: &str) -> String {
    format!(
        "<Put><CmdID>5</CmdID><Meta><Type xmlns=\"syncml:metinf\">application/vnd.syncml-devinf+xml</Type></Meta>\
         <Item><Source><LocURI>./devinf12</LocURI></Source><Data><DevInf xmlns=\"syncml:devinf\">\
         <VerDTD>1.2</VerDTD><Man>{man}</Man><Mod>Small</Mod><DevID>{device}</DevID><DevTyp>phone</DevTyp>\
         <DataStore><SourceRef>./contacts</SourceRef>\
         <Rx-Pref><CTType>text/x-vcard</CTType><VerCT>2.1</VerCT></Rx-Pref>\
         <Tx-Pref><CTType>text/x-vcard</CTType><VerCT>2.1</VerCT></Tx-Pref>\
         <CTCap><CTType>text/x-vcard</CTType><VerCT>2.1</VerCT>\
         <Property><PropName>BEGIN</PropName><ValEnum>VCARD</ValEnum></Property>\
         <Property><PropName>END</PropName><ValEnum>VCARD</ValEnum></Property>\
         <Property><PropName>VERSION</PropName><ValEnum>2.1</ValEnum></Property>\
         <Property><PropName>N</PropName><DataType>chr</DataType><MaxSize>10</MaxSize></Property>\
         <Property><PropName>TEL</PropName><MaxOccur>3</MaxOccur><PropParam><ParamName>TYPE</ParamName>\
         <ValEnum>HOME</ValEnum><ValEnum>WORK</ValEnum><ValEnum>CELL</ValEnum></PropParam></Property>\
         <Property><PropName>EMAIL</PropName><MaxSize>60</MaxSize></Property>\
         </CTCap>\
         <SyncCap><SyncType>1</SyncType><SyncType>2</SyncType></SyncCap></DataStore>\
         </DevInf></Data></Item></Put>"
    )
}

#[test]
fn outgoing_items_follow_the_devices_ctcap_and_the_server_keeps_the_rest() {
    let world = World::start();
    let href = format!("{}arnie.vcf", world.collection(Datastore::Contacts));
    world.dav().put(
        &href,
        "text/vcard",
        &items::dav_vcard(
            "arnie",
            "Schwarzenegger",
            "Maximilian",
            &[
                "NOTE:Met at the gym",
                "TEL;TYPE=PAGER:+4930111",
                "TEL;TYPE=CELL:+4917222",
                "EMAIL;TYPE=INTERNET:old@example.org",
            ],
        ),
    );
    let device = "crafted-ctcap";

    // Session 1: slow sync; the card goes to the phone shaped by its CTCap.
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "1");
    let init = phone.message(
        &basic(USER, PASSWORD),
        &(ctcap_devinf_put(device) + &alert(201, None, "1")),
        true,
    );
    assert_eq!(header_code(&phone.post(&init)), 212);
    let m = phone.message("", &sync(""), true);
    let p4 = phone.post(&m);
    let sent = inner(&p4.text, "Add").unwrap_or_else(|| panic!("no Add:\n{}", p4.text));
    assert!(
        sent.contains("N:Schwarzene;Maximilian"),
        "name not cut to 10:\n{sent}"
    );
    assert!(!sent.contains("N:Schwarzenegger"), "{sent}");
    assert!(!sent.contains("NOTE"), "NOTE is not in the CTCap:\n{sent}");
    assert!(
        !sent.contains("+4930111"),
        "the phone has no pager slot:\n{sent}"
    );
    assert!(sent.contains("+4917222"), "{sent}");
    assert!(
        world
            .bridge
            .log_text()
            .contains("value cut to the phone's MaxSize"),
        "{}",
        world.log_tail(30)
    );
    let server_id = first_add_source(&p4.text);
    let m = phone.message("", &map(&server_id, "luid-arnie"), true);
    phone.post(&m);

    // Session 2: the phone sends the card back as it holds it, with a new e-mail address.
    let held =
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Schwarzene;Maximilian\r\nFN:Maximilian Schwarzenegger\r\n\
                TEL;CELL:+4917222\r\nEMAIL;INTERNET:new@example.org\r\nEND:VCARD\r\n";
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "2");
    let init = phone.message(&basic(USER, PASSWORD), &alert(200, Some("1"), "2"), true);
    let answer = phone.post(&init);
    assert_eq!(
        statuses_for(&answer, "Alert")[0].code,
        200,
        "{}",
        answer.text
    );
    let replace = format!(
        "<Replace><CmdID>3</CmdID><Meta><Type xmlns=\"syncml:metinf\">text/x-vcard</Type></Meta>\
         <Item><Source><LocURI>luid-arnie</LocURI></Source><Data><![CDATA[{held}]]></Data></Item></Replace>"
    );
    let m = phone.message("", &sync(&replace), true);
    let p4 = phone.post(&m);
    assert_eq!(statuses_for(&p4, "Replace")[0].code, 200, "{}", p4.text);
    let server = world.server_items(Datastore::Contacts);
    assert_eq!(server.len(), 1, "{server:?}");
    let card = &server[0].1;
    assert!(
        card.contains("new@example.org"),
        "the phone's edit is lost:\n{card}"
    );
    assert!(!card.contains("old@example.org"), "{card}");
    assert!(card.contains("NOTE:Met at the gym"), "NOTE lost:\n{card}");
    assert!(
        card.contains("N:Schwarzenegger;Maximilian"),
        "full name lost:\n{card}"
    );
    assert!(card.contains("+4930111"), "pager number lost:\n{card}");
    assert!(card.contains("+4917222"), "{card}");
}

#[test]
fn a_nokia_phone_gets_whole_values_whatever_its_ctcap_sizes_say() {
    let world = World::start();
    world.dav().put(
        &format!("{}arnie.vcf", world.collection(Datastore::Contacts)),
        "text/vcard",
        &items::dav_vcard("arnie", "Schwarzenegger", "Maximilian", &["NOTE:gym"]),
    );
    let device = "IMEI:351234000000077";
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "1");
    let init = phone.message(
        &basic(USER, PASSWORD),
        &(ctcap_devinf_put_of("Nokia", device) + &alert(201, None, "1")),
        true,
    );
    assert_eq!(header_code(&phone.post(&init)), 212);
    let m = phone.message("", &sync(""), true);
    let p4 = phone.post(&m);
    let sent = inner(&p4.text, "Add").unwrap_or_else(|| panic!("no Add:\n{}", p4.text));
    assert!(sent.contains("N:Schwarzenegger;Maximilian"), "{sent}");
    // The property list still counts.
    assert!(!sent.contains("NOTE"), "{sent}");
}

/// The contacts Alert, saying the phone takes objects of at most `max_obj` bytes.
fn alert_with_max_obj(code: u16, last: Option<&str>, next: &str, max_obj: u64) -> String {
    alert(code, last, next).replace(
        "</Anchor></Meta>",
        &format!("</Anchor><MaxObjSize xmlns=\"syncml:metinf\">{max_obj}</MaxObjSize></Meta>"),
    )
}

#[test]
fn an_item_over_the_devices_max_obj_size_is_named_in_the_log_and_not_lost() {
    let world = World::start();
    let book = world.collection(Datastore::Contacts).to_owned();
    world.dav().put(
        &format!("{book}small.vcf"),
        "text/vcard",
        &items::dav_vcard("small-card", "Small", "Sam", &[]),
    );
    let long_note = format!("NOTE:{}", "x".repeat(3000));
    world.dav().put(
        &format!("{book}big.vcf"),
        "text/vcard",
        &items::dav_vcard("big-card", "Big", "Bertha", &[&long_note]),
    );
    let device = "crafted-maxobj";

    // Session 1: the phone's header says it takes 1000 bytes per item; only the small
    // card goes.
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "1");
    let init = phone
        .message(&basic(USER, PASSWORD), &alert(201, None, "1"), true)
        .replace(
            "</MaxMsgSize>",
            "</MaxMsgSize><MaxObjSize xmlns=\"syncml:metinf\">1000</MaxObjSize>",
        );
    assert_eq!(header_code(&phone.post(&init)), 212);
    let m = phone.message("", &sync(""), true);
    let p4 = phone.post(&m);
    assert_eq!(p4.text.matches("<Add>").count(), 1, "{}", p4.text);
    assert!(p4.text.contains("Small"), "{}", p4.text);
    assert!(!p4.text.contains("Bertha"), "{}", p4.text);
    let log = world.bridge.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("larger than the phone's MaxObjSize: not sent"))
        .unwrap_or_else(|| panic!("no log line names the item:\n{}", world.log_tail(40)));
    assert!(
        line.contains("big.vcf") && line.contains("big-card") && line.contains("limit=1000"),
        "{line}"
    );
    let server_id = first_add_source(&p4.text);
    let m = phone.message("", &map(&server_id, "luid-small"), true);
    let done = phone.post(&m);
    assert_eq!(header_code(&done), 200, "{}", done.text);
    let status = world.bridge.admin(&["devices", "show", device, "--json"]);
    assert!(
        status.contains("1 item(s) larger than the phone's MaxObjSize not sent"),
        "{status}"
    );

    // Session 2, two-way, nothing changed upstream: with room for it now, the big card
    // is offered again.
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "2");
    let init = phone.message(
        &basic(USER, PASSWORD),
        &alert_with_max_obj(200, Some("1"), "2", 100_000),
        true,
    );
    let answer = phone.post(&init);
    assert_eq!(
        statuses_for(&answer, "Alert")[0].code,
        200,
        "{}",
        answer.text
    );
    let m = phone.message("", &sync(""), true);
    let p4 = phone.post(&m);
    let adds: Vec<&str> = p4.text.split("<Add>").skip(1).collect();
    assert_eq!(adds.len(), 1, "{}", p4.text);
    assert!(adds[0].contains("Bertha"), "{}", p4.text);
    assert_eq!(world.server_items(Datastore::Contacts).len(), 2);
}

/// The DES key of a password: the first 8 bytes of its MD5, hex.
fn des_key(password: &str) -> String {
    hex(&Md5::digest(password.as_bytes())[..8])
}

/// The triple-DES key: MD5 of the password's MD5 under the 0x36 and 0x5C pads, 24 bytes.
fn tdes_key(password: &str) -> String {
    let h = Md5::digest(password.as_bytes());
    let pad = |p: u8| {
        let mut b = [p; 64];
        for (x, y) in b.iter_mut().zip(h.iter()) {
            *x ^= y;
        }
        Md5::digest(b).to_vec()
    };
    let mut k = pad(0x36);
    k.extend(pad(0x5c));
    hex(&k[..24])
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `openssl enc` with `cipher` and `key`: encrypts `input` to base64, or decrypts base64.
fn openssl(cipher: &str, key: &str, input: &[u8], decrypt: bool) -> Vec<u8> {
    let tool = support::tools::require("openssl", "openssl");
    let mut cmd = Command::new(tool);
    cmd.args(["enc", cipher, "-provider", "legacy", "-provider", "default"])
        .args(["-K", key, "-nosalt", "-base64", "-A"]);
    if decrypt {
        cmd.arg("-d");
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("openssl input");
    let out = child.wait_with_output().expect("openssl output");
    assert!(
        out.status.success(),
        "openssl {cipher} failed (the legacy provider is in the openssl package): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// An Add of `data` in `format` under `luid`.
fn encrypted_add(cmd_id: u32, luid: &str, format: &str, data: &str) -> String {
    format!(
        "<Add><CmdID>{cmd_id}</CmdID><Meta><Type xmlns=\"syncml:metinf\">text/x-vcard</Type>\
         <Format xmlns=\"syncml:metinf\">{format}</Format></Meta>\
         <Item><Source><LocURI>{luid}</LocURI></Source><Data>{data}</Data></Item></Add>"
    )
}

fn add_codes(reply: &Reply) -> Vec<(String, u16)> {
    statuses_for(reply, "Add")
        .iter()
        .map(|s| (s.cmd_ref.clone(), s.code))
        .collect()
}

#[test]
fn des_and_3des_encrypted_items_are_read_and_answered_encrypted() {
    let world = World::start();
    world.dav().put(
        &format!("{}srv.vcf", world.collection(Datastore::Contacts)),
        "text/vcard",
        &items::dav_vcard("srv-card", "Server", "Sophie", &["TEL;TYPE=CELL:+4917333"]),
    );
    let des = des_key(PASSWORD);
    let tdes = tdes_key(PASSWORD);
    let card = |family: &str| {
        format!(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nN:{family};Erika\r\nFN:Erika {family}\r\nEND:VCARD\r\n"
        )
    };
    let des_item = String::from_utf8(openssl("-des-ecb", &des, card("Desmond").as_bytes(), false))
        .expect("base64");
    let tdes_item = String::from_utf8(openssl(
        "-des-ede3",
        &tdes,
        card("Tripel").as_bytes(),
        false,
    ))
    .expect("base64");
    // Ciphertext under another password: it does not decrypt to a card.
    let wrong = String::from_utf8(openssl(
        "-des-ecb",
        &des_key("not-the-password"),
        card("Wrong").as_bytes(),
        false,
    ))
    .expect("base64");

    let mut phone = Crafted::new(&world.bridge.syncml_url(), "crafted-des", "1");
    let init = phone.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    assert_eq!(header_code(&phone.post(&init)), 212);
    // The last readable item's chain is the one the server's items are sent in.
    let adds = encrypted_add(7, "luid-des2", "b64;des", &des_item.replace('=', "=\r\n"))
        + &encrypted_add(3, "luid-des", "des;b64", &des_item)
        + &encrypted_add(5, "luid-junk", "des;b64", "bm90IGNpcGhlcnRleHQ=")
        + &encrypted_add(6, "luid-wrong", "des;b64", &wrong)
        + &encrypted_add(4, "luid-3des", "3des;b64", &tdes_item);
    let m = phone.message("", &sync(&adds), true);
    let p4 = phone.post(&m);
    let code = |cmd_id: &str| {
        add_codes(&p4)
            .into_iter()
            .find(|(r, _)| r == cmd_id)
            .map(|(_, c)| c)
            .unwrap_or_else(|| panic!("no status for Add {cmd_id}:\n{}", p4.text))
    };
    assert_eq!(code("3"), 201, "des;b64: {}", p4.text);
    assert_eq!(code("4"), 201, "3des;b64: {}", p4.text);
    assert_eq!(code("5"), 400, "not ciphertext: {}", p4.text);
    assert_eq!(code("6"), 400, "another password's ciphertext: {}", p4.text);
    assert!(matches!(code("7"), 200 | 201), "b64;des: {}", p4.text);
    let log = world.bridge.log_text();
    assert!(
        log.contains("encrypted item refused"),
        "{}",
        world.log_tail(30)
    );
    assert!(
        !log.contains(&des) && !log.contains(&tdes),
        "a key reached the log"
    );

    // Radicale holds the plain cards.
    let server = world.server_items(Datastore::Contacts);
    let bodies: Vec<&str> = server.iter().map(|(_, b)| b.as_str()).collect();
    assert!(
        bodies.iter().any(|b| b.contains("N:Desmond;Erika")),
        "{bodies:?}"
    );
    assert!(
        bodies.iter().any(|b| b.contains("N:Tripel;Erika")),
        "{bodies:?}"
    );
    assert!(!bodies.iter().any(|b| b.contains("Wrong")), "{bodies:?}");

    // The server's card goes back encrypted the way the phone's last item was.
    let sent = server_adds(&p4);
    assert_eq!(sent.len(), 1, "{}", p4.text);
    assert_eq!(sent[0].0, "3des;b64", "{}", p4.text);
    let plain = String::from_utf8(openssl("-des-ede3", &tdes, sent[0].1.as_bytes(), true))
        .expect("utf-8 card");
    assert!(
        plain.contains("N:Server;Sophie") && plain.contains("+4917333"),
        "{plain}"
    );

    // Another phone of the same user encrypts with DES: it gets every card that way.
    let mut phone = Crafted::new(&world.bridge.syncml_url(), "crafted-des-2", "1");
    let init = phone.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    assert_eq!(header_code(&phone.post(&init)), 212);
    let one = String::from_utf8(openssl("-des-ecb", &des, card("Zweit").as_bytes(), false))
        .expect("base64");
    let m = phone.message(
        "",
        &sync(&encrypted_add(3, "luid-z", "des;b64", &one)),
        true,
    );
    let p4 = phone.post(&m);
    let sent = server_adds(&p4);
    assert!(sent.len() >= 3, "{}", p4.text);
    let mut names = Vec::new();
    for (format, data) in sent {
        assert_eq!(format, "des;b64", "{}", p4.text);
        assert!(!data.contains("VCARD"), "sent in the clear:\n{data}");
        assert!(base64::engine::general_purpose::STANDARD
            .decode(&data)
            .is_ok());
        let plain = String::from_utf8(openssl("-des-ecb", &des, data.as_bytes(), true))
            .expect("utf-8 card");
        assert!(plain.starts_with("BEGIN:VCARD"), "{plain}");
        names.extend(
            ["Server", "Desmond", "Tripel"]
                .into_iter()
                .filter(|n| plain.contains(n)),
        );
    }
    names.sort_unstable();
    names.dedup();
    assert_eq!(names, ["Desmond", "Server", "Tripel"]);
    let items: String = p4
        .text
        .split("<Add>")
        .skip(1)
        .enumerate()
        .map(|(k, add)| {
            let at = add.find("<Source><LocURI>").expect("a Source") + "<Source><LocURI>".len();
            let id = &add[at..add[at..].find('<').expect("end") + at];
            format!(
                "<MapItem><Target><LocURI>{id}</LocURI></Target><Source><LocURI>m-{k}</LocURI></Source></MapItem>"
            )
        })
        .collect();
    let m = phone.message(
        "",
        &format!(
            "<Map><CmdID>3</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./contacts</LocURI></Source>{items}</Map>"
        ),
        true,
    );
    phone.post(&m);

    // The phone stops encrypting: the server's next change reaches it in the clear.
    let srv = format!("{}srv.vcf", world.collection(Datastore::Contacts));
    world.dav().put(
        &srv,
        "text/vcard",
        &items::dav_vcard("srv-card", "Server", "Sophie", &["TEL;TYPE=CELL:+4917444"]),
    );
    let mut phone = Crafted::new(&world.bridge.syncml_url(), "crafted-des-2", "2");
    let init = phone.message(&basic(USER, PASSWORD), &alert(200, Some("1"), "2"), true);
    let answer = phone.post(&init);
    assert_eq!(
        statuses_for(&answer, "Alert")[0].code,
        200,
        "{}",
        answer.text
    );
    let plain_add = format!(
        "<Add><CmdID>3</CmdID><Meta><Type xmlns=\"syncml:metinf\">text/x-vcard</Type></Meta>\
         <Item><Source><LocURI>luid-plain</LocURI></Source><Data><![CDATA[{}]]></Data></Item></Add>",
        card("Klar")
    );
    let m = phone.message("", &sync(&plain_add), true);
    let p4 = phone.post(&m);
    let back = inner(&p4.text, "Replace").unwrap_or_else(|| panic!("no Replace:\n{}", p4.text));
    assert!(!back.contains("<Format"), "{back}");
    assert!(back.contains("+4917444"), "{back}");
}

/// The (Format, Data) of every Add the server sent in `reply`.
fn server_adds(reply: &Reply) -> Vec<(String, String)> {
    reply
        .text
        .split("<Add>")
        .skip(1)
        .map(|add| {
            let format = add
                .split("<Format")
                .nth(1)
                .and_then(|f| f.split_once('>'))
                .and_then(|(_, rest)| rest.split_once('<'))
                .map(|(v, _)| v.trim().to_owned())
                .unwrap_or_default();
            let data = inner(add, "Data").unwrap_or_default().trim().to_owned();
            (format, data)
        })
        .collect()
}

#[test]
fn an_md5_phones_encrypted_items_use_its_stored_app_password() {
    let world = World::start_with(|b| md5_policy(b).app_password(OTHER_USER, OTHER_PASSWORD));
    let mut phone = Crafted::new(&world.bridge.syncml_url(), "crafted-des-md5", "1");
    phone.loc_name = Some(OTHER_USER.into());
    let first = phone.message(
        &md5(OTHER_USER, OTHER_PASSWORD, b""),
        &alert(201, None, "1"),
        true,
    );
    let challenged = phone.post(&first);
    assert_eq!(header_code(&challenged), 401, "{}", challenged.text);
    let nonce = challenge_nonce(&challenged).expect("a NextNonce");
    let init = phone.message(
        &md5(OTHER_USER, OTHER_PASSWORD, &nonce),
        &alert(201, None, "1"),
        true,
    );
    assert_eq!(header_code(&phone.post(&init)), 212);
    let card = "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Vault;Vera\r\nFN:Vera Vault\r\nEND:VCARD\r\n";
    let data = String::from_utf8(openssl(
        "-des-ecb",
        &des_key(OTHER_PASSWORD),
        card.as_bytes(),
        false,
    ))
    .expect("base64");
    let m = phone.message(
        "",
        &sync(&encrypted_add(3, "luid-v", "des;b64", &data)),
        true,
    );
    let p4 = phone.post(&m);
    let codes: Vec<u16> = statuses_for(&p4, "Add").iter().map(|s| s.code).collect();
    assert_eq!(codes, [201], "{}", p4.text);
    let held = world.server_items_of(OTHER_USER, Datastore::Contacts);
    assert!(
        held.iter().any(|(_, b)| b.contains("N:Vault;Vera")),
        "{held:?}"
    );
}
