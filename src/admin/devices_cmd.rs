//! `syncml-bridge devices list [USER] | show DEVICE | resync DEVICE [DATASTORE] |
//! debug DEVICE on|off | profile DEVICE [NAME] | timezone DEVICE [ZONE] | wipe DEVICE |
//! remove DEVICE`.

use std::io::Write;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use super::context::{when, Admin, AdminError, CommonArgs};
use crate::push::poller::is_registered;
use crate::push::settings::keys;
use crate::store::DeviceRecord;

#[derive(Debug, Args)]
pub struct DevicesArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: DevicesCommand,
}

#[derive(Debug, Subcommand)]
pub enum DevicesCommand {
    /// Every device (or USER's): id, model, last sync and result, datastores, push state.
    List {
        #[arg(value_name = "USER")]
        of: Option<String>,
    },
    /// One device in full: anchors per datastore and its push alert history.
    Show { device: String },
    /// Make the next sync of DEVICE (or of one DATASTORE) a slow sync.
    Resync {
        device: String,
        datastore: Option<String>,
    },
    /// Turn the debug log of DEVICE's sessions on or off.
    Debug { device: String, state: OnOff },
    /// Make DEVICE's next sync a client reset: every item is deleted from the phone, nothing
    /// on the server.
    Wipe { device: String },
    /// Forget DEVICE: its record, anchors, maps and push settings (its next sync is slow).
    Remove { device: String },
    /// Give DEVICE the quirk profile NAME (from mappings/devices/profiles.toml) whatever its
    /// DevInf says; without NAME the profile is matched by its DevInf again.
    Profile {
        device: String,
        name: Option<String>,
    },
    /// The IANA time zone of DEVICE's local times (e.g. Europe/Berlin), instead of
    /// `sync.device_timezone`; without ZONE the configured one applies again.
    Timezone {
        device: String,
        zone: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

pub fn run(
    args: DevicesArgs,
    env: impl IntoIterator<Item = (String, String)>,
    out: &mut dyn Write,
) -> Result<(), AdminError> {
    let admin = Admin::open(&args.common, env)?;
    match args.command {
        DevicesCommand::List { of } => list(&admin, of.as_deref(), out),
        DevicesCommand::Show { device } => show(&admin, &device, out),
        DevicesCommand::Resync { device, datastore } => {
            resync(&admin, &device, datastore.as_deref(), out)
        }
        DevicesCommand::Debug { device, state } => {
            let value = match state {
                OnOff::On => "on",
                OnOff::Off => "off",
            };
            let d = set_setting(&admin, &device, "debug", Some(value.to_owned()))?;
            writeln!(out, "debug log {value} for {} of {}", d.device_id, d.user)?;
            Ok(())
        }
        DevicesCommand::Wipe { device } => {
            let d = set_setting(
                &admin,
                &device,
                crate::store::SETTING_WIPE,
                Some("pending".into()),
            )?;
            writeln!(
                out,
                "the next sync of {} ({}) deletes every item on the phone; the server keeps its items",
                d.device_id, d.user
            )?;
            if is_registered(&d) {
                writeln!(
                    out,
                    "`syncml-bridge push test {}` makes the phone sync now",
                    d.device_id
                )?;
            }
            Ok(())
        }
        DevicesCommand::Profile { device, name } => profile(&admin, &device, name, out),
        DevicesCommand::Timezone { device, zone } => timezone(&admin, &device, zone, out),
        DevicesCommand::Remove { device } => {
            let d = admin.device(&device)?;
            admin.store.remove_device(&d.user, &d.device_id)?;
            writeln!(out, "removed {} of {}", d.device_id, d.user)?;
            Ok(())
        }
    }
}

/// `sms:+49...`, `tcp:host:port` or `-`, and whether push can work for the user.
pub fn push_state(admin: &Admin, d: &DeviceRecord, has_credential: bool) -> String {
    if !is_registered(d) {
        return match d.settings.get("push").map(String::as_str) {
            Some("requested") => "requested (not registered)".into(),
            _ => "-".into(),
        };
    }
    let address = d
        .settings
        .get(keys::SMS)
        .filter(|v| !v.trim().is_empty())
        .map(|n| format!("sms:{n}"))
        .or_else(|| d.settings.get(keys::TCP).map(|a| format!("tcp:{a}")))
        .unwrap_or_default();
    if !has_credential {
        return format!("{address} (no stored credential: no push)");
    }
    match admin.store.push_alerts(&d.user, &d.device_id) {
        Ok(a) => match a.outstanding(d.last_sync) {
            Some(e) => format!("{address} (alert outstanding since {})", when(Some(e.time))),
            None => address,
        },
        Err(e) => format!("{address} (alert record unreadable: {e})"),
    }
}

fn list(admin: &Admin, user: Option<&str>, out: &mut dyn Write) -> Result<(), AdminError> {
    let creds = admin.store.credential_users()?;
    let mut rows = Vec::new();
    let mut items = Vec::new();
    for d in admin.store.devices(user.or(admin.user.as_deref()))? {
        let datastores = admin.store.datastores(&d.user, &d.device_id)?;
        let push = push_state(admin, &d, creds.contains(&d.user));
        let names: Vec<String> = datastores
            .iter()
            .map(|(n, s)| {
                format!(
                    "{n}[{}/{}]",
                    s.phone_anchor.as_deref().unwrap_or("-"),
                    s.server_anchor.as_deref().unwrap_or("-")
                )
            })
            .collect();
        rows.push(vec![
            d.user.clone(),
            d.device_id.clone(),
            d.model.clone().unwrap_or_else(|| "-".into()),
            when(d.last_sync),
            d.last_result.clone().unwrap_or_else(|| "-".into()),
            names.join(" "),
            push.clone(),
        ]);
        items.push(json!({
            "user": d.user, "device": d.device_id, "manufacturer": d.manufacturer,
            "model": d.model, "last_sync": d.last_sync, "last_result": d.last_result,
            "datastores": datastores.iter().map(|(n, s)| json!({
                "name": n, "phone_anchor": s.phone_anchor, "server_anchor": s.server_anchor,
                "force_slow": s.force_slow, "last_sync": s.last_sync,
            })).collect::<Vec<_>>(),
            "push": push,
        }));
    }
    admin.print(
        out,
        &[
            "USER",
            "DEVICE",
            "MODEL",
            "LAST SYNC",
            "RESULT",
            "DATASTORES [phone/server anchor]",
            "PUSH",
        ],
        &rows,
        &json!(items),
    )
}

fn show(admin: &Admin, device: &str, out: &mut dyn Write) -> Result<(), AdminError> {
    let d = admin.device(device)?;
    let datastores = admin.store.datastores(&d.user, &d.device_id)?;
    let alerts = admin.store.push_alerts(&d.user, &d.device_id)?;
    let has_credential = admin.store.credential_users()?.contains(&d.user);
    let push = push_state(admin, &d, has_credential);
    if admin.json {
        let v = json!({
            "user": d.user, "device": d.device_id, "manufacturer": d.manufacturer,
            "model": d.model, "software_version": d.software_version,
            "syncml_version": d.syncml_version, "last_sync": d.last_sync,
            "last_result": d.last_result, "settings": redacted_settings(&d),
            "datastores": datastores.iter().map(|(n, s)| json!({
                "name": n, "phone_anchor": s.phone_anchor, "server_anchor": s.server_anchor,
                "force_slow": s.force_slow, "last_sync": s.last_sync,
                "last_result": s.last_result, "collections": s.collections.keys().collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "push": push, "alerts": alerts.history,
        });
        writeln!(out, "{v:#}")?;
        return Ok(());
    }
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    writeln!(out, "device     {}", d.device_id)?;
    writeln!(out, "user       {}", d.user)?;
    writeln!(
        out,
        "model      {} {} (software {})",
        opt(&d.manufacturer),
        opt(&d.model),
        opt(&d.software_version)
    )?;
    writeln!(out, "syncml     {}", opt(&d.syncml_version))?;
    writeln!(
        out,
        "last sync  {} ({})",
        when(d.last_sync),
        opt(&d.last_result)
    )?;
    writeln!(out, "push       {push}")?;
    for (k, v) in redacted_settings(&d) {
        writeln!(out, "setting    {k} = {v}")?;
    }
    writeln!(out)?;
    let rows: Vec<Vec<String>> = datastores
        .iter()
        .map(|(n, s)| {
            vec![
                n.clone(),
                opt(&s.phone_anchor),
                opt(&s.server_anchor),
                if s.force_slow { "yes" } else { "no" }.into(),
                when(s.last_sync),
                s.collections.keys().cloned().collect::<Vec<_>>().join(" "),
            ]
        })
        .collect();
    super::context::print_table(
        out,
        &[
            "DATASTORE",
            "PHONE ANCHOR",
            "SERVER ANCHOR",
            "SLOW NEXT",
            "LAST SYNC",
            "COLLECTIONS",
        ],
        &rows,
    )?;
    writeln!(out)?;
    let rows: Vec<Vec<String>> = alerts
        .history
        .iter()
        .rev()
        .map(|e| {
            vec![
                when(Some(e.time)),
                e.transport.clone(),
                e.datastores.join(" "),
                e.result.clone(),
            ]
        })
        .collect();
    super::context::print_table(out, &["ALERT", "TRANSPORT", "DATASTORES", "RESULT"], &rows)
}

/// Settings with secrets masked.
fn redacted_settings(d: &DeviceRecord) -> std::collections::BTreeMap<String, String> {
    d.settings
        .iter()
        .map(|(k, v)| {
            let v = if k.contains("password") {
                "***".to_owned()
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect()
}

/// Sets (or with `None` removes) one setting of a device; returns the device as it was.
fn set_setting(
    admin: &Admin,
    device: &str,
    key: &str,
    value: Option<String>,
) -> Result<DeviceRecord, AdminError> {
    let d = admin.device(device)?;
    admin
        .store
        .update_device(&d.user, &d.device_id, |r| match &value {
            Some(v) => {
                r.settings.insert(key.to_owned(), v.clone());
            }
            None => {
                r.settings.remove(key);
            }
        })?
        .ok_or_else(|| AdminError::NoSuchDevice {
            device: device.to_owned(),
            user: Some(d.user.clone()),
        })?;
    Ok(d)
}

fn profile(
    admin: &Admin,
    device: &str,
    name: Option<String>,
    out: &mut dyn Write,
) -> Result<(), AdminError> {
    let profiles =
        crate::catalog::Profiles::builtin().map_err(|e| AdminError::Invalid(e.to_string()))?;
    let chosen = match &name {
        Some(n) => Some(profiles.named(n).ok_or_else(|| {
            AdminError::Invalid(format!(
                "no device profile `{n}`; known: {}",
                profiles.names().join(", ")
            ))
        })?),
        None => None,
    };
    let d = set_setting(
        admin,
        device,
        "profile",
        chosen.as_ref().map(|p| p.name.clone()),
    )?;
    match chosen {
        Some(p) => writeln!(
            out,
            "{} ({}) uses profile {} from its next sync{}",
            d.device_id,
            d.user,
            p.name,
            if p.combined_tasks {
                ": its calendar datastore also holds the tasks"
            } else {
                ""
            }
        )?,
        None => writeln!(
            out,
            "{} ({}) gets its profile from its DevInf again",
            d.device_id, d.user
        )?,
    }
    Ok(())
}

fn timezone(
    admin: &Admin,
    device: &str,
    zone: Option<String>,
    out: &mut dyn Write,
) -> Result<(), AdminError> {
    let zone = match zone.as_deref().map(str::trim) {
        Some(z) => Some(
            z.parse::<chrono_tz::Tz>()
                .map_err(|_| {
                    AdminError::Invalid(format!(
                        "`{z}` is not an IANA time zone (such as Europe/Berlin)"
                    ))
                })?
                .name()
                .to_owned(),
        ),
        None => None,
    };
    let d = set_setting(admin, device, crate::store::SETTING_TIMEZONE, zone.clone())?;
    match zone {
        Some(z) => writeln!(
            out,
            "{} ({}) keeps its local times in {z} from its next sync",
            d.device_id, d.user
        )?,
        None => writeln!(
            out,
            "{} ({}) uses sync.device_timezone again",
            d.device_id, d.user
        )?,
    }
    Ok(())
}

fn resync(
    admin: &Admin,
    device: &str,
    datastore: Option<&str>,
    out: &mut dyn Write,
) -> Result<(), AdminError> {
    let d = admin.device(device)?;
    let all = admin.store.datastores(&d.user, &d.device_id)?;
    if let Some(name) = datastore {
        if !all.iter().any(|(n, _)| n == name) {
            return Err(AdminError::NoSuchDatastore {
                device: d.device_id,
                datastore: name.to_owned(),
                known: all
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    let mut done = Vec::new();
    for (name, mut state) in all {
        if datastore.is_some_and(|want| want != name) {
            continue;
        }
        state.force_slow = true;
        let key = crate::store::DatastoreKey::new(&d.user, &d.device_id, &name);
        admin.store.put_datastore_state(&key, &state)?;
        done.push(name);
    }
    if done.is_empty() {
        writeln!(
            out,
            "{} has no datastores yet: its first sync is slow anyway",
            d.device_id
        )?;
    } else {
        writeln!(
            out,
            "next sync of {} is slow for: {}",
            d.device_id,
            done.join(", ")
        )?;
    }
    Ok(())
}
