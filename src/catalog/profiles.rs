//! Device quirk profiles (mappings/devices/profiles.toml): data, read by one matcher.

use serde::Deserialize;

use crate::convert::alarm::AlarmKind;
use crate::convert::vcal::{AllDayStyle, CalendarProfile, TimeForm};

const PROFILES: &str = include_str!("../../mappings/devices/profiles.toml");

/// What a profile may set; missing values come from `[default]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    name: Option<String>,
    manufacturer: Option<String>,
    model: Option<String>,
    /// Any of these model substrings (for rules that list models).
    models: Option<Vec<String>>,
    /// Any of these prefixes of the device id (clients known by their id, not DevInf).
    device_id_prefixes: Option<Vec<String>>,
    charset: Option<String>,
    qp_non_ascii: Option<bool>,
    max_guid_size: Option<usize>,
    combined_tasks: Option<bool>,
    large_objects: Option<bool>,
    times: Option<TimesOut>,
    send_tz: Option<bool>,
    tz_in_event: Option<bool>,
    all_day: Option<AllDay>,
    alarm: Option<AlarmProperty>,
    alarm_utc: Option<bool>,
    read_utc_as_local: Option<bool>,
    read_local_as_utc: Option<bool>,
    strip_x_categories: Option<bool>,
    trim_name_fields: Option<bool>,
    devinf_sizes: Option<bool>,
}

/// How times are written to the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimesOut {
    /// UTC when the device's DevInf says `<UTC/>` (or, without DevInf, in SyncML 1.0).
    Auto,
    Utc,
    Local,
}

/// The all-day convention of the device (formats.md §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum AllDay {
    Midnight,
    #[serde(rename = "until-2359")]
    Until2359,
    DateOnly,
    #[serde(rename = "utc-midnight-24")]
    UtcMidnight24,
}

/// The vCalendar property that carries the device's alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
enum AlarmProperty {
    Aalarm,
    Dalarm,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    default: RawSettings,
    #[serde(default)]
    profile: Vec<RawSettings>,
}

/// The settings that apply to one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceProfile {
    pub name: String,
    pub charset: String,
    pub qp_non_ascii: bool,
    pub max_guid_size: usize,
    pub combined_tasks: bool,
    pub large_objects: bool,
    pub times: TimesOut,
    /// Leave out the trailing empty fields of `N` (Nokia Series 40).
    pub trim_name_fields: bool,
    /// Honour the MaxSize values of the device's CTCap (Nokia's are unreliable).
    pub devinf_sizes: bool,
    /// The vCalendar quirks; `time_out` is settled per session from `times`.
    pub calendar: CalendarProfile,
}

impl DeviceProfile {
    /// The calendar quirks for a session: `times = "auto"` follows the DevInf's `<UTC/>`
    /// flag, or without DevInf the libsynthesis rule (UTC only for SyncML 1.0).
    pub fn calendar_for(&self, devinf_utc: Option<bool>, syncml_10: bool) -> CalendarProfile {
        let utc = match self.times {
            TimesOut::Utc => true,
            TimesOut::Local => false,
            TimesOut::Auto => devinf_utc.unwrap_or(syncml_10),
        };
        CalendarProfile {
            time_out: if utc { TimeForm::Utc } else { TimeForm::Local },
            ..self.calendar.clone()
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("mappings/devices/profiles.toml: {0}")]
pub struct ProfileError(String);

#[derive(Debug, Clone)]
pub struct Profiles {
    default: RawSettings,
    profiles: Vec<RawSettings>,
}

fn contains(hay: Option<&str>, needle: Option<&str>) -> bool {
    match needle.map(str::trim).filter(|n| !n.is_empty()) {
        None => true,
        Some(n) => hay.is_some_and(|h| h.to_lowercase().contains(&n.to_lowercase())),
    }
}

impl Profiles {
    pub fn builtin() -> Result<Profiles, ProfileError> {
        let raw: RawFile = toml::from_str(PROFILES).map_err(|e| ProfileError(e.to_string()))?;
        Ok(Profiles {
            default: raw.default,
            profiles: raw.profile,
        })
    }

    /// The profile for a device: the first whose rules match its DevInf manufacturer and
    /// model and its device id.
    pub fn for_device(
        &self,
        device_id: &str,
        manufacturer: Option<&str>,
        model: Option<&str>,
    ) -> DeviceProfile {
        let p = self
            .profiles
            .iter()
            .find(|p| {
                contains(manufacturer, p.manufacturer.as_deref())
                    && contains(model, p.model.as_deref())
                    && p.models
                        .as_ref()
                        .is_none_or(|ms| ms.iter().any(|m| contains(model, Some(m))))
                    && p.device_id_prefixes.as_ref().is_none_or(|ps| {
                        let id = device_id.to_ascii_lowercase();
                        ps.iter()
                            .any(|pre| id.starts_with(&pre.to_ascii_lowercase()))
                    })
            })
            .cloned()
            .unwrap_or_default();
        self.settle(p)
    }

    /// The profile named `name` (a device's `profile` setting forces it), if there is one.
    pub fn named(&self, name: &str) -> Option<DeviceProfile> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("default") {
            return Some(self.settle(RawSettings::default()));
        }
        self.profiles
            .iter()
            .find(|p| {
                p.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .cloned()
            .map(|p| self.settle(p))
    }

    /// The names `named` accepts.
    pub fn names(&self) -> Vec<&str> {
        std::iter::once("default")
            .chain(self.profiles.iter().filter_map(|p| p.name.as_deref()))
            .collect()
    }

    fn settle(&self, p: RawSettings) -> DeviceProfile {
        let d = &self.default;
        DeviceProfile {
            name: p.name.unwrap_or_else(|| "default".into()),
            charset: p
                .charset
                .or(d.charset.clone())
                .unwrap_or_else(|| "UTF-8".into()),
            qp_non_ascii: p.qp_non_ascii.or(d.qp_non_ascii).unwrap_or(true),
            max_guid_size: p.max_guid_size.or(d.max_guid_size).unwrap_or(64),
            combined_tasks: p.combined_tasks.or(d.combined_tasks).unwrap_or(false),
            large_objects: p.large_objects.or(d.large_objects).unwrap_or(false),
            times: p.times.or(d.times).unwrap_or(TimesOut::Auto),
            trim_name_fields: p.trim_name_fields.or(d.trim_name_fields).unwrap_or(false),
            devinf_sizes: p.devinf_sizes.or(d.devinf_sizes).unwrap_or(true),
            calendar: {
                let base = CalendarProfile::default();
                CalendarProfile {
                    time_out: base.time_out,
                    send_tz: p.send_tz.or(d.send_tz).unwrap_or(base.send_tz),
                    tz_in_event: p.tz_in_event.or(d.tz_in_event).unwrap_or(base.tz_in_event),
                    all_day: match p.all_day.or(d.all_day) {
                        None => base.all_day,
                        Some(AllDay::Midnight) => AllDayStyle::Midnight,
                        Some(AllDay::Until2359) => AllDayStyle::Until2359,
                        Some(AllDay::DateOnly) => AllDayStyle::DateOnly,
                        Some(AllDay::UtcMidnight24) => AllDayStyle::UtcMidnight24,
                    },
                    alarm_as: match p.alarm.or(d.alarm) {
                        None => base.alarm_as,
                        Some(AlarmProperty::Aalarm) => AlarmKind::Audio,
                        Some(AlarmProperty::Dalarm) => AlarmKind::Display,
                    },
                    alarm_utc: p.alarm_utc.or(d.alarm_utc).unwrap_or(base.alarm_utc),
                    treat_as_local: p
                        .read_utc_as_local
                        .or(d.read_utc_as_local)
                        .unwrap_or(base.treat_as_local),
                    treat_as_utc: p
                        .read_local_as_utc
                        .or(d.read_local_as_utc)
                        .unwrap_or(base.treat_as_utc),
                    strip_x_categories: p
                        .strip_x_categories
                        .or(d.strip_x_categories)
                        .unwrap_or(base.strip_x_categories),
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_get_their_profile() {
        let p = Profiles::builtin().unwrap();
        let nokia = p.for_device("IMEI:1", Some("NOKIA"), Some("6300"));
        assert_eq!(nokia.name, "nokia-s40");
        assert_eq!(nokia.max_guid_size, 8);
        assert!(nokia.combined_tasks);
        assert_eq!(nokia.times, TimesOut::Auto);
        assert!(nokia.trim_name_fields);
        assert!(!nokia.devinf_sizes);
        let local = p.for_device("IMEI:2", Some("Nokia"), Some("Nokia 6630"));
        assert!(!local.devinf_sizes, "{}", local.name);
        let se = p.for_device("x", Some("Patrick Ohly"), Some("SyncEvolution"));
        assert!(se.large_objects);
        assert_eq!(se.max_guid_size, 64);
        let forced = p.named("Sony-Ericsson").unwrap();
        assert!(forced.combined_tasks);
        assert_eq!(forced.max_guid_size, 8);
        assert_eq!(forced.charset, "ISO-8859-1");
        assert_eq!(p.named("default").unwrap().name, "default");
        assert!(p.named("no-such-profile").is_none());
        let other = p.for_device("x", None, None);
        assert_eq!(other.name, "default");
        assert!(other.devinf_sizes);
        assert_eq!(other.charset, "UTF-8");
        assert!(p.names().contains(&"nokia-s40"));
    }

    #[test]
    fn model_lists_and_device_ids_pick_the_time_quirks() {
        let p = Profiles::builtin().unwrap();
        let n6630 = p.for_device("IMEI:2", Some("Nokia"), Some("Nokia 6630"));
        assert_eq!(n6630.name, "nokia-local-time");
        assert_eq!(
            n6630.calendar_for(Some(true), false).time_out,
            TimeForm::Local
        );
        let n9300 = p.for_device("IMEI:3", Some("Nokia"), Some("9300"));
        assert!(n9300.calendar.treat_as_utc);
        let p900 = p.for_device("IMEI:4", Some("Sony Ericsson"), Some("P900"));
        assert!(p900.calendar.treat_as_local);
        assert_eq!(p900.calendar.all_day, AllDayStyle::UtcMidnight24);
        let m55 = p.for_device("IMEI:5", Some("SIEMENS"), Some("M55"));
        assert_eq!(m55.calendar.alarm_as, AlarmKind::Display);
        let fwm = p.for_device("fwm-0123456789", None, None);
        assert_eq!(fwm.name, "funambol");
        assert_eq!(fwm.calendar.all_day, AllDayStyle::DateOnly);
    }

    #[test]
    fn automatic_times_follow_the_devinf_utc_flag() {
        let p = Profiles::builtin().unwrap().for_device("x", None, None);
        assert_eq!(p.calendar_for(Some(true), false).time_out, TimeForm::Utc);
        assert_eq!(p.calendar_for(Some(false), false).time_out, TimeForm::Local);
        // No DevInf at all: UTC only for SyncML 1.0 (the libsynthesis blind-sync rule).
        assert_eq!(p.calendar_for(None, true).time_out, TimeForm::Utc);
        assert_eq!(p.calendar_for(None, false).time_out, TimeForm::Local);
    }

    #[test]
    fn a_profile_with_an_unknown_setting_is_refused() {
        let raw: Result<RawFile, _> = toml::from_str("[default]\nnope = 1\n");
        assert!(raw.is_err());
        let raw: Result<RawFile, _> = toml::from_str("[default]\nall_day = \"sometimes\"\n");
        assert!(raw.is_err());
    }
}
