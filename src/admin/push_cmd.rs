//! `syncml-bridge push register DEVICE --msisdn N | --tcp HOST:PORT [--form san|alert11]`,
//! `push unregister DEVICE`, `push test DEVICE`, `push config-sms DEVICE` (config_sms_cmd).

use std::io::Write;

use clap::{Args, Subcommand, ValueEnum};

use super::context::{Admin, AdminError, CommonArgs};
use crate::push::poller::transport_label;
use crate::push::san::AlertedSync;
use crate::push::settings::keys;
use crate::push::{AlertedDatastore, DevicePush, Sent, Transports};
use crate::store::AlertEntry;

#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: PushCommand,
}

#[derive(Debug, Subcommand)]
pub enum PushCommand {
    /// Register DEVICE for push by WAP-push SMS or TCP.
    Register {
        device: String,
        /// Phone number for WAP-push SMS (digits, optional leading +).
        #[arg(
            long,
            visible_alias = "sms",
            conflicts_with = "tcp",
            required_unless_present = "tcp"
        )]
        msisdn: Option<String>,
        /// The device's TCP push listener.
        #[arg(long)]
        tcp: Option<String>,
        /// Notification form; default from the device's DevInf and version.
        #[arg(long)]
        form: Option<FormArg>,
    },
    /// Stop pushing to DEVICE.
    Unregister { device: String },
    /// Send DEVICE one notification now and print what went out.
    Test { device: String },
    /// Send DEVICE its sync profile as an OMA CP configuration SMS, signed with a user PIN.
    #[command(visible_alias = "provision")]
    ConfigSms {
        device: String,
        /// Phone number to send to (digits, optional leading +).
        #[arg(long, visible_alias = "sms")]
        msisdn: String,
        /// The PIN the owner types to accept the settings (digits).
        #[arg(long)]
        pin: String,
        /// The SyncML URL the phone should use; default from `listen` and `syncml_path`.
        #[arg(long)]
        url: Option<String>,
        /// Account name shown on the phone.
        #[arg(long, default_value = "SyncML")]
        name: String,
        /// Print the SMS parts without sending them.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormArg {
    San,
    Alert11,
}

pub fn run(
    args: PushArgs,
    env: impl IntoIterator<Item = (String, String)>,
    out: &mut dyn Write,
) -> Result<(), AdminError> {
    let admin = Admin::open(&args.common, env)?;
    match args.command {
        PushCommand::Register {
            device,
            msisdn,
            tcp,
            form,
        } => register(&admin, &device, msisdn, tcp, form, out),
        PushCommand::Unregister { device } => {
            let d = admin.device(&device)?;
            admin.store.update_device(&d.user, &d.device_id, |r| {
                for k in [keys::SMS, keys::TCP, keys::FORM] {
                    r.settings.remove(k);
                }
            })?;
            writeln!(out, "{} is no longer pushed to", d.device_id)?;
            Ok(())
        }
        PushCommand::Test { device } => test(&admin, &device, out),
        PushCommand::ConfigSms {
            device,
            msisdn,
            pin,
            url,
            name,
            dry_run,
        } => super::config_sms_cmd::run(
            &admin,
            &super::config_sms_cmd::ConfigSmsRequest {
                device,
                msisdn,
                pin,
                url,
                name,
                dry_run,
            },
            out,
        ),
    }
}

fn register(
    admin: &Admin,
    device: &str,
    msisdn: Option<String>,
    tcp: Option<String>,
    form: Option<FormArg>,
    out: &mut dyn Write,
) -> Result<(), AdminError> {
    let d = admin.device(device)?;
    let mut candidate = d.clone();
    candidate.settings.remove(keys::SMS);
    candidate.settings.remove(keys::TCP);
    match (&msisdn, &tcp) {
        (Some(n), _) => candidate.settings.insert(keys::SMS.into(), n.trim().into()),
        (_, Some(a)) => candidate.settings.insert(keys::TCP.into(), a.trim().into()),
        _ => return Err(AdminError::Invalid("give --msisdn or --tcp".into())),
    };
    if let Some(f) = form {
        let f = match f {
            FormArg::San => "san",
            FormArg::Alert11 => "alert11",
        };
        candidate.settings.insert(keys::FORM.into(), f.into());
    }
    // Refuse what the poller could not use before storing it.
    let push = DevicePush::resolve(&candidate, &admin.config.push)?;
    let settings = candidate.settings.clone();
    admin
        .store
        .update_device(&d.user, &d.device_id, |r| r.settings = settings)?;
    writeln!(
        out,
        "{} registered for push: {} ({:?} form)",
        d.device_id,
        transport_label(&push),
        push.form
    )?;
    if !admin.store.credential_users()?.contains(&d.user) {
        writeln!(
            out,
            "warning: {} has no stored upstream credential, so the poller cannot watch for changes; store one with `syncml-bridge users set-password {}`",
            d.user, d.user
        )?;
    }
    if !admin.config.push.enabled {
        writeln!(out, "warning: push.enabled is false in the configuration")?;
    }
    Ok(())
}

fn test(admin: &Admin, device: &str, out: &mut dyn Write) -> Result<(), AdminError> {
    let d = admin.device(device)?;
    let push = DevicePush::resolve(&d, &admin.config.push)?;
    let datastores: Vec<AlertedDatastore> = admin
        .store
        .datastores(&d.user, &d.device_id)?
        .into_iter()
        .map(|(name, _)| AlertedDatastore {
            server_uri: name,
            sync: AlertedSync::TwoWay,
            content_type: None,
        })
        .collect();
    let transports = Transports::from_config(&admin.config.push)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(crate::push::notify(&push, &datastores, &transports));
    admin.store.record_alert(
        &d.user,
        &d.device_id,
        AlertEntry {
            time: chrono::Utc::now().timestamp(),
            transport: transport_label(&push),
            result: match &result {
                Ok(_) => "sent".into(),
                Err(e) => e.to_string(),
            },
            datastores: datastores.iter().map(|d| d.server_uri.clone()).collect(),
        },
    )?;
    let delivery = result?;
    let n = &delivery.notification;
    writeln!(
        out,
        "{:?} notification, session {}, {} bytes: {}",
        n.form,
        n.session_id,
        n.payload.len(),
        hex(&n.payload)
    )?;
    match &delivery.sent {
        Sent::Sms { to, parts } => {
            writeln!(out, "sent to {to} as {} SMS", parts.len())?;
            for (i, p) in parts.iter().enumerate() {
                writeln!(
                    out,
                    "  part {}: udh {} data {}",
                    i + 1,
                    hex(&p.udh),
                    hex(&p.data)
                )?;
            }
        }
        Sent::Tcp { addr, bytes } => {
            writeln!(out, "sent to tcp:{addr}: {} bytes", bytes.len())?;
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
