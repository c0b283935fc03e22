//! `syncml-bridge backup list|restore` as a user runs it, against Radicale (items) and
//! WsgiDAV (backup files), configured by environment variables as in a container.

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use support::radicale::Radicale;
use support::webdav_files::WebDavFiles;

const VCARD: &str = "text/vcard; charset=utf-8";

fn card(uid: &str, name: &str) -> String {
    format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{name};;;;\r\nEND:VCARD\r\n")
}

/// Runs the binary with the bridge's environment only, `stdin` written to its input.
fn bridge(
    radicale: &Radicale,
    files: &WebDavFiles,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &str,
) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_syncml-bridge"));
    cmd.arg("backup")
        .args(args)
        .env_clear()
        .env(
            "SYNCML_BRIDGE_UPSTREAM__URL",
            format!("{}/", radicale.base_url()),
        )
        .env(
            "SYNCML_BRIDGE_BACKUP__FOLDER",
            format!("{}/{{user}}/SyncML backups/", files.base_url()),
        )
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run syncml-bridge");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn list_and_restore_from_the_command_line() {
    let radicale = Radicale::start();
    let files = WebDavFiles::start();
    let [contacts, ..] = radicale.standard_collections("alice");
    let dav = radicale.client("alice");
    for (uid, name) in [("c1", "Ann"), ("c2", "Ben")] {
        dav.put(&format!("{contacts}{uid}.vcf"), VCARD, &card(uid, name));
    }
    // No folder yet: an empty list, not an error.
    let out = bridge(
        &radicale,
        &files,
        &["list", "alice"],
        &[("SYNCML_BRIDGE_BACKUP_PASSWORD", "secret")],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("no backups in http://127.0.0.1:"),
        "{}",
        text(&out.stdout)
    );

    // A backup file as the bridge writes it, stored by the file server.
    let folder = files.share_dir("alice").join("SyncML backups");
    std::fs::create_dir_all(&folder).unwrap();
    let backup: String = dav
        .list(&contacts)
        .iter()
        .map(|h| dav.get(h).unwrap().body)
        .collect();
    std::fs::write(folder.join("e51200901020001-contacts.vcf"), &backup).unwrap();
    std::fs::write(folder.join("holiday.jpg"), b"not a backup").unwrap();

    // The password from standard input this time.
    let out = bridge(&radicale, &files, &["list", "alice"], &[], "secret\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(
        listed.starts_with("e51200901020001-contacts.vcf\t2009-01-02\tcontacts\thttp://127.0.0.1:"),
        "{listed}"
    );

    for href in dav.list(&contacts) {
        if dav.get(&href).unwrap().body.contains("UID:c1") {
            dav.delete(&href);
        }
    }
    let out = bridge(
        &radicale,
        &files,
        &[
            "restore",
            "alice",
            "e51200901020001-contacts.vcf",
            "--collection",
            "contacts",
        ],
        &[("SYNCML_BRIDGE_BACKUP_PASSWORD", "secret")],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "restored e51200901020001-contacts.vcf into /alice/contacts/: 1 added, 1 already there, 0 already there with other content (left as is)\n"
    );
    let mut now: Vec<String> = dav
        .list(&contacts)
        .iter()
        .map(|h| dav.get(h).unwrap().body)
        .collect();
    now.sort();
    let mut want: Vec<String> = backup
        .split_inclusive("END:VCARD\r\n")
        .map(str::to_owned)
        .collect();
    want.sort();
    assert_eq!(now, want);

    // Without --collection the user's address book is found by discovery.
    let out = bridge(
        &radicale,
        &files,
        &["restore", "alice", "e51200901020001-contacts.vcf"],
        &[],
        "secret\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(": 0 added, 2 already there"),
        "{}",
        text(&out.stdout)
    );

    // Failures: a wrong password, no password, a missing backup.
    let out = bridge(
        &radicale,
        &files,
        &["list", "alice"],
        &[("SYNCML_BRIDGE_BACKUP_PASSWORD", "wrong-pw")],
        "",
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("upstream refused the credentials of alice"),
        "{err}"
    );
    assert!(
        !err.contains("wrong-pw"),
        "the password is never printed: {err}"
    );
    let out = bridge(&radicale, &files, &["list", "alice"], &[], "");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("SYNCML_BRIDGE_BACKUP_PASSWORD"),
        "{}",
        text(&out.stderr)
    );
    let out = bridge(
        &radicale,
        &files,
        &["restore", "alice", "e51200901020009-contacts.vcf"],
        &[("SYNCML_BRIDGE_BACKUP_PASSWORD", "secret")],
        "",
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no backup e51200901020009-contacts.vcf in http://127.0.0.1:"),
        "{}",
        text(&out.stderr)
    );
}
