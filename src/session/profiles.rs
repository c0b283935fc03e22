//! Device quirk profiles (mappings/devices/profiles.toml): data, read by one matcher.

use serde::Deserialize;

const PROFILES: &str = include_str!("../../mappings/devices/profiles.toml");

/// What a profile may set; missing values come from `[default]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    name: Option<String>,
    manufacturer: Option<String>,
    model: Option<String>,
    charset: Option<String>,
    qp_non_ascii: Option<bool>,
    max_guid_size: Option<usize>,
    combined_tasks: Option<bool>,
    large_objects: Option<bool>,
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

    /// The profile for a device's DevInf manufacturer and model.
    pub fn for_device(&self, manufacturer: Option<&str>, model: Option<&str>) -> DeviceProfile {
        let p = self
            .profiles
            .iter()
            .find(|p| {
                contains(manufacturer, p.manufacturer.as_deref())
                    && contains(model, p.model.as_deref())
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_get_their_profile() {
        let p = Profiles::builtin().unwrap();
        let nokia = p.for_device(Some("NOKIA"), Some("6300"));
        assert_eq!(nokia.name, "nokia-s40");
        assert_eq!(nokia.max_guid_size, 8);
        assert!(nokia.combined_tasks);
        let se = p.for_device(Some("Patrick Ohly"), Some("SyncEvolution"));
        assert!(se.large_objects);
        assert_eq!(se.max_guid_size, 64);
        let forced = p.named("Sony-Ericsson").unwrap();
        assert!(forced.combined_tasks);
        assert_eq!(forced.max_guid_size, 8);
        assert_eq!(p.named("default").unwrap().name, "default");
        assert!(p.named("no-such-profile").is_none());
        let other = p.for_device(None, None);
        assert_eq!(other.name, "default");
        assert_eq!(other.charset, "UTF-8");
    }
}
