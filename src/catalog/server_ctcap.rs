//! What the bridge's own DevInf says it keeps of each content type it accepts
//! (mappings/devinf/server-ctcap.toml; SIF types from the SIF field tables).

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::convert::{sif, Format};

const TABLE: &str = include_str!("../../mappings/devinf/server-ctcap.toml");

/// One property the bridge keeps, with the values and parameters it knows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CapProperty {
    pub name: String,
    pub values: Vec<String>,
    pub params: Vec<CapParam>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CapParam {
    pub name: String,
    /// Empty: any value.
    pub values: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("mappings/devinf/server-ctcap.toml: {0}")]
pub struct ServerCtCapError(String);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    properties: Vec<String>,
}

/// The table, by format.
#[derive(Debug, Clone)]
pub struct ServerCtCap {
    by_format: HashMap<Format, Vec<CapProperty>>,
}

impl ServerCtCap {
    /// The table embedded at build time.
    pub fn builtin() -> Result<ServerCtCap, ServerCtCapError> {
        ServerCtCap::from_toml(TABLE)
    }

    pub fn from_toml(text: &str) -> Result<ServerCtCap, ServerCtCapError> {
        let raw: BTreeMap<String, Entry> =
            toml::from_str(text).map_err(|e| ServerCtCapError(e.to_string()))?;
        let mut by_format = HashMap::new();
        for (name, entry) in raw {
            let format: Format = name
                .parse()
                .map_err(|_| ServerCtCapError(format!("[{name}] is not a format name")))?;
            let props = entry
                .properties
                .iter()
                .map(|line| parse_line(line).map_err(|e| ServerCtCapError(format!("[{name}] {e}"))))
                .collect::<Result<Vec<_>, _>>()?;
            by_format.insert(format, props);
        }
        Ok(ServerCtCap { by_format })
    }

    /// The properties announced for `format`: the table's, or a SIF format's elements.
    /// Empty for a format with nothing to list (plain text).
    pub fn properties(&self, format: Format) -> Vec<CapProperty> {
        if let Some(props) = self.by_format.get(&format) {
            return props.clone();
        }
        sif::element_names(format)
            .into_iter()
            .map(|name| CapProperty {
                name,
                ..CapProperty::default()
            })
            .collect()
    }
}

/// `NAME[=V1,V2][;PARAM[=V1,V2]]*`.
fn parse_line(line: &str) -> Result<CapProperty, String> {
    let mut parts = line.split(';');
    let head = parts.next().unwrap_or_default();
    let (name, values) = name_and_values(head);
    if name.is_empty() {
        return Err(format!("`{line}`: no property name"));
    }
    let mut params = Vec::new();
    for p in parts {
        let (pname, pvalues) = name_and_values(p);
        if pname.is_empty() {
            return Err(format!("`{line}`: a parameter without a name"));
        }
        params.push(CapParam {
            name: pname,
            values: pvalues,
        });
    }
    Ok(CapProperty {
        name,
        values,
        params,
    })
}

fn name_and_values(part: &str) -> (String, Vec<String>) {
    match part.split_once('=') {
        Some((n, v)) => (
            n.trim().to_owned(),
            v.split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        None => (part.trim().to_owned(), Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_loads_and_every_accepted_format_has_properties() {
        let t = ServerCtCap::builtin().unwrap();
        for f in [
            Format::Vcard21,
            Format::Vcard30,
            Format::Vcal10,
            Format::Ical20,
            Format::Vnote,
            Format::Sifc,
            Format::Sife,
            Format::Sift,
            Format::Sifn,
        ] {
            assert!(!t.properties(f).is_empty(), "{f}");
        }
        assert!(t.properties(Format::Text).is_empty());
        let tel = t
            .properties(Format::Vcard21)
            .into_iter()
            .find(|p| p.name == "TEL")
            .unwrap();
        assert_eq!(tel.params[0].name, "TYPE");
        assert!(tel.params[0].values.iter().any(|v| v == "CELL"));
        let begin = &t.properties(Format::Vcal10)[0];
        assert_eq!(begin.name, "BEGIN");
        assert_eq!(begin.values, ["VCALENDAR", "VEVENT", "VTODO"]);
    }

    #[test]
    fn lines_with_values_and_parameters() {
        let p = parse_line("PHOTO;ENCODING=b;TYPE=JPEG, PNG").unwrap();
        assert_eq!(p.name, "PHOTO");
        assert_eq!(p.params.len(), 2);
        assert_eq!(p.params[1].values, ["JPEG", "PNG"]);
        let p = parse_line("ATTENDEE;ROLE;RSVP").unwrap();
        assert!(p.params.iter().all(|pp| pp.values.is_empty()));
        assert!(parse_line("=X").is_err());
        assert!(parse_line("TEL;=HOME").is_err());
        assert!(ServerCtCap::from_toml("[nope]\nproperties = []\n").is_err());
    }
}
