//! `syncml-bridge users list | remove USER` (`set-password` lives with `serve`'s setup).

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::json;

use super::context::{when, Admin, AdminError};

/// Users known to the store: those with a device or a stored credential.
pub fn list(admin: &Admin, out: &mut dyn Write) -> Result<(), AdminError> {
    let creds = admin.store.credential_users()?;
    let mut users: BTreeMap<String, (usize, Option<i64>, usize)> = BTreeMap::new();
    for d in admin.store.devices(None)? {
        let e = users.entry(d.user.clone()).or_default();
        e.0 += 1;
        e.1 = e.1.max(d.last_sync);
        if crate::push::poller::is_registered(&d) {
            e.2 += 1;
        }
    }
    for u in &creds {
        users.entry(u.clone()).or_default();
    }
    let mut rows = Vec::new();
    let mut items = Vec::new();
    for (user, (devices, last, pushed)) in &users {
        let cred = creds.contains(user);
        let push = match (pushed, cred) {
            (0, _) => "-".to_owned(),
            (n, true) => format!("{n} device(s)"),
            (n, false) => format!("{n} device(s), no credential: no push"),
        };
        rows.push(vec![
            user.clone(),
            devices.to_string(),
            when(*last),
            if cred { "yes" } else { "no" }.into(),
            push.clone(),
        ]);
        items.push(json!({"user": user, "devices": devices, "last_sync": last,
            "credential": cred, "push_devices": pushed, "push": push}));
    }
    admin.print(
        out,
        &["USER", "DEVICES", "LAST SYNC", "CREDENTIAL", "PUSH"],
        &rows,
        &json!(items),
    )
}

/// Forgets a user: credential, devices, anchors, maps, alerts. Upstream data stays.
pub fn remove(admin: &Admin, user: &str, out: &mut dyn Write) -> Result<(), AdminError> {
    let known = admin.store.credential_users()?.iter().any(|u| u == user)
        || !admin.store.devices(Some(user))?.is_empty();
    if !known {
        return Err(AdminError::NoSuchUser(user.to_owned()));
    }
    admin.store.remove_user(user)?;
    writeln!(
        out,
        "{user} removed from the bridge (upstream data untouched)"
    )?;
    Ok(())
}
