//! `syncml-bridge push config-sms DEVICE --msisdn N --pin PIN [--url URL] [--dry-run]`:
//! the OMA CP configuration SMS carrying the device's sync profile, so its owner only
//! types the password.

use std::io::Write;

use super::context::{Admin, AdminError};
use crate::catalog::{AliasTable, DatastoreUri};
use crate::push::provisioning::{self, ProfileDatastore, Security, SyncProfile};
use crate::push::wap::Sms;

/// What `push config-sms` was asked for.
#[derive(Debug, Clone)]
pub struct ConfigSmsRequest {
    pub device: String,
    pub msisdn: String,
    pub pin: String,
    pub url: Option<String>,
    pub name: String,
    pub dry_run: bool,
}

/// The profile the device's record and the configuration describe.
pub fn profile(admin: &Admin, request: &ConfigSmsRequest) -> Result<SyncProfile, AdminError> {
    let d = admin.device(&request.device)?;
    let url = match &request.url {
        Some(u) => u.trim().to_owned(),
        None => url_from_config(admin)?,
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(AdminError::Invalid(format!(
            "--url must be an http:// or https:// URL, got `{url}`"
        )));
    }
    let aliases = AliasTable::builtin().map_err(|e| AdminError::Invalid(e.to_string()))?;
    let datastores = admin
        .store
        .datastores(&d.user, &d.device_id)?
        .into_iter()
        .map(|(uri, _)| {
            let kind = aliases
                .kind_of(&DatastoreUri::parse(&uri))
                .map(|(k, _)| k.to_owned());
            ProfileDatastore {
                accept: accept_for(kind.as_deref()).to_owned(),
                name: kind.unwrap_or_else(|| uri.clone()),
                uri,
            }
        })
        .collect();
    let server_id = Some(admin.config.push.server_id.clone()).filter(|s| !s.is_empty());
    Ok(SyncProfile {
        name: request.name.clone(),
        server_id,
        url,
        user: d.user,
        password: None,
        auth_type: None,
        to_napid: None,
        datastores,
    })
}

/// The formats legacy phones exchange for each kind of datastore.
fn accept_for(kind: Option<&str>) -> &'static str {
    match kind {
        Some("contacts") => "text/x-vcard",
        Some("calendar" | "tasks") => "text/x-vcalendar",
        _ => "text/plain",
    }
}

/// `http://LISTEN/SYNCML_PATH`, when `listen` names a host a phone could reach.
fn url_from_config(admin: &Admin) -> Result<String, AdminError> {
    let listen = &admin.config.listen;
    let unreachable = listen.starts_with("0.0.0.0") || listen.starts_with("[::]");
    if listen.is_empty() || unreachable {
        return Err(AdminError::Invalid(format!(
            "the bridge listens on `{listen}`, which is no address a phone can use; give --url"
        )));
    }
    let scheme = if admin.config.tls.enabled() {
        "https"
    } else {
        "http"
    };
    Ok(format!("{scheme}://{listen}{}", admin.config.syncml_path))
}

/// Builds, signs and (unless `dry_run`) sends the configuration SMS; prints each part.
pub fn run(
    admin: &Admin,
    request: &ConfigSmsRequest,
    out: &mut dyn Write,
) -> Result<(), AdminError> {
    let msisdn = request.msisdn.trim();
    let digits = msisdn.strip_prefix('+').unwrap_or(msisdn);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AdminError::Invalid(format!(
            "--msisdn must be digits with an optional leading +, got `{msisdn}`"
        )));
    }
    let profile = profile(admin, request)?;
    let wbxml = provisioning::encode(&profile.document())?;
    let security = Security::UserPin {
        pin: request.pin.clone(),
    };
    let push = provisioning::oma_cp_push(&wbxml, &security)?;
    // Any reference works as long as parts of one push share it.
    let reference = (chrono::Utc::now().timestamp() & 0xFF) as u8;
    let parts = push.to_sms(reference)?;
    writeln!(
        out,
        "configuration for {} at {} ({} datastores), {} bytes WBXML, USERPIN MAC",
        profile.user,
        profile.url,
        profile.datastores.len(),
        wbxml.len()
    )?;
    print_parts(out, &parts)?;
    if request.dry_run {
        writeln!(out, "dry run: nothing sent")?;
        return Ok(());
    }
    let transports = crate::push::Transports::from_config(&admin.config.push)?;
    let gateway = transports.sms.ok_or_else(|| {
        AdminError::Invalid(
            "no SMS gateway configured (push.gateway = \"kannel\" or \"webhook\")".into(),
        )
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(gateway.send(msisdn, &parts))?;
    tracing::info!(to = msisdn, parts = parts.len(), "configuration SMS sent");
    writeln!(out, "sent to {msisdn} as {} SMS", parts.len())?;
    Ok(())
}

fn print_parts(out: &mut dyn Write, parts: &[Sms]) -> Result<(), AdminError> {
    for (i, p) in parts.iter().enumerate() {
        writeln!(
            out,
            "  part {}: udh {} data {}",
            i + 1,
            hex(&p.udh),
            hex(&p.data)
        )?;
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
