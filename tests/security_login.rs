//! Log-in and session security against the real bridge and Radicale, with crafted SyncML
//! messages sent the way an attacker on plain HTTP would: joining a stranger's session by
//! its public device ID and SessionID, replaying an MD5 log-in, being talked down to
//! Basic, and guessing passwords.

mod support;

use std::time::{Duration, Instant};

use support::crafted::{
    alert, basic, challenge_nonce, challenge_scheme, header_code, md5, md5_policy, statuses_for,
    sync_with_add, Crafted,
};
use support::e2e::{World, OTHER_PASSWORD, OTHER_USER, PASSWORD, USER};
use support::items;
use support::syncevolution::Datastore;

/// PROPFINDs Radicale received since request number `before` (log-in checks among them).
fn propfinds_since(world: &World, before: usize) -> usize {
    world.upstream_requests()[before..]
        .iter()
        .filter(|(m, _)| m == "PROPFIND")
        .count()
}

#[test]
fn a_stranger_with_the_victims_device_and_session_id_gets_neither_reply_nor_session() {
    let world = World::start();
    let url = world.bridge.syncml_url();
    // Device IDs are IMEIs and SessionIDs small counters: both are public knowledge.
    let (device, sid) = ("IMEI:356938035643809", "3");
    let mut victim = Crafted::new(&url, device, sid);
    let init = victim.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    let victims_reply = victim.post(&init);
    assert_eq!(header_code(&victims_reply), 212, "{}", victims_reply.text);
    let token_uri = victim.url.clone();
    assert!(token_uri.contains("sid="), "{token_uri}");

    // The stranger repeats the victim's message 1 without credentials: no copy of the
    // victim's reply, no RespURI, a challenge.
    let mut stranger = Crafted::new(&url, device, sid);
    let msg = stranger.message("", &alert(201, None, "1"), true);
    let (status, text) = stranger.post_raw(&msg);
    assert_eq!(status, 200);
    assert_ne!(text, victims_reply.text, "the victim's reply was resent");
    assert!(!text.contains("sid="), "a session token leaked:\n{text}");
    let reply = support::crafted::parse_reply(text);
    assert_eq!(header_code(&reply), 407, "{}", reply.text);

    // Its message 2 tries to add a contact to the victim's address book.
    let before = world.upstream_requests().len();
    let card = items::contact(7).vcard;
    let msg = stranger.message("", &sync_with_add("evil-1", &card), true);
    let (_, text) = stranger.post_raw(&msg);
    let reply = support::crafted::parse_reply(text);
    assert_eq!(header_code(&reply), 407, "{}", reply.text);
    assert!(statuses_for(&reply, "Add").is_empty(), "{}", reply.text);
    assert!(world.server_items(Datastore::Contacts).is_empty());
    assert_eq!(
        propfinds_since(&world, before),
        0,
        "no log-in was attempted"
    );

    // Another account's valid credentials with the victim's IDs open a session of that
    // account, not a way into the victim's.
    let mut bob = Crafted::new(&url, device, sid);
    let msg = bob.message(
        &basic(OTHER_USER, OTHER_PASSWORD),
        &alert(201, None, "1"),
        true,
    );
    let bobs = bob.post(&msg);
    assert_eq!(header_code(&bobs), 212, "{}", bobs.text);
    assert_ne!(bob.url, token_uri);

    // The real phone resending its message 1 without the token proves itself with its
    // credentials and gets the same answer again.
    let mut resend = Crafted::new(&url, device, sid);
    let (_, again) = resend.post_raw(&init);
    assert_eq!(again, victims_reply.text, "the phone's own resend");

    // The victim's session goes on untouched, through its token.
    let sync = victim.message("", &sync_with_add("luid-1", &card), true);
    let done = victim.post(&sync);
    let adds: Vec<u16> = statuses_for(&done, "Add").iter().map(|s| s.code).collect();
    assert_eq!(adds, vec![201], "{}", done.text);
    assert_eq!(world.server_items(Datastore::Contacts).len(), 1);
}

#[test]
fn md5_over_a_nonce_the_bridge_did_not_issue_is_refused_and_each_nonce_logs_in_once() {
    let world = World::start_with(|b| md5_policy(b).app_password(OTHER_USER, OTHER_PASSWORD));
    let url = world.bridge.syncml_url();
    let mut phone = Crafted::new(&url, "md5-replay-phone", "1");
    phone.loc_name = Some(OTHER_USER.into());

    // A client's first MD5 log-in made over an empty nonce: refused, with a fresh nonce.
    let first = phone.message(
        &md5(OTHER_USER, OTHER_PASSWORD, b""),
        &alert(201, None, "1"),
        true,
    );
    let challenged = phone.post(&first);
    assert_eq!(header_code(&challenged), 401, "{}", challenged.text);
    assert_eq!(
        challenge_scheme(&challenged).as_deref(),
        Some("syncml:auth-md5")
    );
    let nonce = challenge_nonce(&challenged).expect("a NextNonce in the challenge");
    assert!(!nonce.is_empty());

    // Answered over the issued nonce, the log-in succeeds.
    let answer = phone.message(
        &md5(OTHER_USER, OTHER_PASSWORD, &nonce),
        &alert(201, None, "1"),
        true,
    );
    let ok = phone.post(&answer);
    assert_eq!(header_code(&ok), 212, "{}", ok.text);
    let next = challenge_nonce(&ok).expect("the next nonce for the next session");

    // A sniffer replays both messages in a session of its own: the empty-nonce digest
    // and the spent nonce are refused.
    for (sid, msg) in [("50", &first), ("51", &answer)] {
        let mut replay = Crafted::new(&url, "md5-replay-phone", sid);
        let msg = msg.replace(
            "<SessionID>1</SessionID>",
            &format!("<SessionID>{sid}</SessionID>"),
        );
        let reply = support::crafted::parse_reply(replay.post_raw(&msg).1);
        assert_eq!(header_code(&reply), 401, "replay accepted:\n{}", reply.text);
    }

    // The replays did not move the phone's nonce: its next session logs in with it.
    let mut later = Crafted::new(&url, "md5-replay-phone", "2");
    later.loc_name = Some(OTHER_USER.into());
    let msg = later.message(
        &md5(OTHER_USER, OTHER_PASSWORD, &next),
        &alert(201, None, "1"),
        true,
    );
    let reply = later.post(&msg);
    assert_eq!(header_code(&reply), 212, "{}", reply.text);
}

#[test]
fn md5_with_any_policy_never_falls_back_to_basic() {
    let world = World::start_with(|b| {
        b.env(
            "SYNCML_BRIDGE_AUTH__VAULT_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        )
        .app_password(OTHER_USER, OTHER_PASSWORD)
    });
    let url = world.bridge.syncml_url();
    let mut phone = Crafted::new(&url, "md5-downgrade", "1");
    phone.loc_name = Some(OTHER_USER.into());
    let wrong = phone.message(
        &md5(OTHER_USER, "not-it", b""),
        &alert(201, None, "1"),
        true,
    );
    let reply = phone.post(&wrong);
    assert_eq!(header_code(&reply), 401, "{}", reply.text);
    assert_eq!(
        challenge_scheme(&reply).as_deref(),
        Some("syncml:auth-md5"),
        "{}",
        reply.text
    );
    let nonce = challenge_nonce(&reply).expect("nonce");
    let again = phone.message(
        &md5(OTHER_USER, "still-not-it", &nonce),
        &alert(201, None, "1"),
        true,
    );
    let reply = phone.post(&again);
    assert_eq!(header_code(&reply), 401, "{}", reply.text);
    assert_ne!(
        challenge_scheme(&reply).as_deref(),
        Some("syncml:auth-basic"),
        "{}",
        reply.text
    );

    // No credentials at all: asked for MD5 too, since the vault makes it possible.
    let mut quiet = Crafted::new(&url, "md5-downgrade-2", "1");
    let msg = quiet.message("", &alert(201, None, "1"), true);
    let reply = quiet.post(&msg);
    assert_eq!(header_code(&reply), 407, "{}", reply.text);
    assert_eq!(challenge_scheme(&reply).as_deref(), Some("syncml:auth-md5"));
}

#[test]
fn guessing_passwords_is_slowed_then_refused_and_costs_the_upstream_few_checks() {
    let world = World::start_with(|b| {
        b.env("SYNCML_BRIDGE_AUTH__THROTTLE_USER_FAILURES", "3")
            .env("SYNCML_BRIDGE_AUTH__THROTTLE_CHECKS_PER_MINUTE", "2")
            .env("SYNCML_BRIDGE_AUTH__THROTTLE_ADDRESS_FAILURES", "1000")
            .env("SYNCML_BRIDGE_AUTH__FAILURE_DELAY_MS", "20")
            .env("SYNCML_BRIDGE_AUTH__MAX_FAILURE_DELAY_MS", "300")
    });
    let url = world.bridge.syncml_url();
    // The real phone logged in a moment ago (its log-in is remembered).
    let mut phone = Crafted::new(&url, "real-phone", "1");
    let m = phone.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    assert_eq!(header_code(&phone.post(&m)), 212);

    let before = world.upstream_requests().len();
    let mut elapsed = Vec::new();
    for n in 0..40 {
        let mut guess = Crafted::new(&url, &format!("guess-{n}"), "1");
        let m = guess.message(
            &basic(USER, &format!("guess{n}")),
            &alert(201, None, "1"),
            true,
        );
        let started = Instant::now();
        let reply = guess.post(&m);
        elapsed.push(started.elapsed());
        assert_eq!(header_code(&reply), 401, "{}", reply.text);
    }
    // 3 failures, then 2 checks in this minute: 5 upstream log-in checks, not 40.
    let checks = propfinds_since(&world, before);
    assert!(
        checks <= 5,
        "{checks} upstream log-in checks for 40 guesses"
    );
    // Each failure is answered later than the one before, up to the cap.
    assert!(
        elapsed[10] >= Duration::from_millis(200),
        "{:?}",
        elapsed[10]
    );
    assert!(
        world
            .bridge
            .log_text()
            .contains("log-in throttled for this user"),
        "no log line"
    );
    let metrics = reqwest::blocking::get(format!("{}/metrics", world.bridge.base_url()))
        .and_then(|r| r.text())
        .expect("metrics");
    assert!(
        metrics.contains("syncml_bridge_login_throttled_total{scope=\"user\"}"),
        "{metrics}"
    );

    // The real user is not locked out: its remembered log-in passes without a check.
    let mut again = Crafted::new(&url, "real-phone", "2");
    let m = again.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    assert_eq!(header_code(&again.post(&m)), 212);
}

#[test]
fn an_address_with_too_many_failed_log_ins_is_refused_for_a_while() {
    let world = World::start_with(|b| {
        b.env("SYNCML_BRIDGE_AUTH__THROTTLE_ADDRESS_FAILURES", "4")
            .env("SYNCML_BRIDGE_AUTH__FAILURE_DELAY_MS", "1")
    });
    let url = world.bridge.syncml_url();
    for n in 0..4 {
        let mut guess = Crafted::new(&url, "guesser", &n.to_string());
        let m = guess.message(
            &basic(&format!("user{n}"), "x"),
            &alert(201, None, "1"),
            true,
        );
        assert_eq!(header_code(&guess.post(&m)), 401);
    }
    let before = world.upstream_requests().len();
    let mut guess = Crafted::new(&url, "guesser", "9");
    let m = guess.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    let (status, text) = guess.post_raw(&m);
    assert_eq!(status, 429, "{text}");
    assert!(text.contains("try again in"), "{text}");
    assert_eq!(propfinds_since(&world, before), 0);
    assert!(world
        .bridge
        .log_text()
        .contains("client address refused for a while"));
}
