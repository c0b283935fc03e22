//! Item conversion between what phones speak (vCard 2.1, vCalendar 1.0, vNote 1.1, plain
//! text, Funambol SIF) and what DAV servers store (vCard 3.0/4.0, iCalendar 2.0), and the
//! merge of a phone's version into the DAV resource that keeps what the phone cannot hold.
//!
//! Pure: no I/O, no clock. Everything time-dependent (DTSTAMP, the device's zone) comes in
//! through [`ConvertOptions`].

pub mod alarm;
pub mod aliases;
pub mod capability;
pub mod empty;
pub mod fingerprint;
pub mod matching;
pub mod matchkey;
pub mod merge;
pub mod note;
pub mod rrule;
pub mod shaping;
pub mod sif;
pub mod sniff;
pub mod spelling;
pub mod three_way;
pub mod timezone;
pub mod uid;
pub mod union;
pub mod vcal;
pub mod vcard;
pub mod vobject;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use thiserror::Error;

pub use vobject::{Charset, Component, Dialect, Param, Property, VObjectError};

/// Every item format the bridge reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Vcard21,
    Vcard30,
    Vcard40,
    Vcal10,
    Ical20,
    Text,
    Vnote,
    Sifc,
    Sife,
    Sift,
    Sifn,
}

/// What kind of DAV resource a format's items become.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    Contact,
    /// Events and tasks (both live in iCalendar).
    Calendar,
    Note,
}

impl Format {
    pub const ALL: [Format; 11] = [
        Format::Vcard21,
        Format::Vcard30,
        Format::Vcard40,
        Format::Vcal10,
        Format::Ical20,
        Format::Text,
        Format::Vnote,
        Format::Sifc,
        Format::Sife,
        Format::Sift,
        Format::Sifn,
    ];

    /// The CLI name (`vcard21`, `ical20`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Format::Vcard21 => "vcard21",
            Format::Vcard30 => "vcard30",
            Format::Vcard40 => "vcard40",
            Format::Vcal10 => "vcal10",
            Format::Ical20 => "ical20",
            Format::Text => "text",
            Format::Vnote => "vnote",
            Format::Sifc => "sifc",
            Format::Sife => "sife",
            Format::Sift => "sift",
            Format::Sifn => "sifn",
        }
    }

    pub fn kind(self) -> ItemKind {
        match self {
            Format::Vcard21 | Format::Vcard30 | Format::Vcard40 | Format::Sifc => ItemKind::Contact,
            Format::Vcal10 | Format::Ical20 | Format::Sife | Format::Sift => ItemKind::Calendar,
            Format::Text | Format::Vnote | Format::Sifn => ItemKind::Note,
        }
    }

    /// The MIME type a SyncML item or DevInf CTType carries for this format.
    pub fn mime_type(self) -> &'static str {
        match self {
            Format::Vcard21 => "text/x-vcard",
            Format::Vcard30 | Format::Vcard40 => "text/vcard",
            Format::Vcal10 => "text/x-vcalendar",
            Format::Ical20 => "text/calendar",
            Format::Text => "text/plain",
            Format::Vnote => "text/x-vnote",
            Format::Sifc => "text/x-s4j-sifc",
            Format::Sife => "text/x-s4j-sife",
            Format::Sift => "text/x-s4j-sift",
            Format::Sifn => "text/x-s4j-sifn",
        }
    }

    /// The format of a SyncML `Meta/Type` (parameters after `;` ignored, any case) and,
    /// where the type alone is ambiguous, its VerCT.
    pub fn from_mime(mime: &str, version: Option<&str>) -> Option<Format> {
        let base = mime.split(';').next().unwrap_or_default().trim();
        let base = base.to_ascii_lowercase();
        let version = version.map(str::trim).unwrap_or_default();
        Some(match base.as_str() {
            "text/x-vcard" => Format::Vcard21,
            "text/vcard" | "text/directory" => match version {
                "4.0" => Format::Vcard40,
                "2.1" => Format::Vcard21,
                _ => Format::Vcard30,
            },
            "text/x-vcalendar" => Format::Vcal10,
            "text/calendar" => match version {
                "1.0" => Format::Vcal10,
                _ => Format::Ical20,
            },
            "text/plain" => Format::Text,
            "text/x-vnote" => Format::Vnote,
            "text/x-s4j-sifc" | "text/x-sifc" => Format::Sifc,
            "text/x-s4j-sife" | "text/x-sife" => Format::Sife,
            "text/x-s4j-sift" | "text/x-sift" => Format::Sift,
            "text/x-s4j-sifn" | "text/x-sifn" => Format::Sifn,
            _ => return None,
        })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = ConvertError;

    fn from_str(s: &str) -> Result<Format, ConvertError> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ConvertError::UnknownFormat(s.to_owned()))
    }
}

/// Why an item could not be converted.
#[derive(Debug, Error)]
pub enum ConvertError {
    #[error("unknown item format {0:?}")]
    UnknownFormat(String),
    #[error("cannot convert {from} to {to}: they hold different kinds of items")]
    Incompatible { from: Format, to: Format },
    #[error("{format} item: {source}")]
    Syntax {
        format: Format,
        #[source]
        source: VObjectError,
    },
    #[error("{format} item: expected a {expected} component, found {found}")]
    WrongComponent {
        format: Format,
        expected: &'static str,
        found: String,
    },
    #[error("{format} item: property {property}: {reason}")]
    BadProperty {
        format: Format,
        property: String,
        reason: String,
    },
    #[error("{format} item: {reason}")]
    Invalid { format: Format, reason: String },
    #[error("{format} item is not valid UTF-8 XML text")]
    NotText { format: Format },
    #[error("{format} item: base64 body: {source}")]
    Base64 {
        format: Format,
        #[source]
        source: base64::DecodeError,
    },
    #[error("{format} item: XML: {reason}")]
    Xml { format: Format, reason: String },
    #[error("{format} item: elements nest deeper than {limit} levels")]
    TooDeep { format: Format, limit: usize },
    #[error("cannot merge a {incoming} item into a {existing} resource")]
    MergeMismatch { existing: String, incoming: String },
    #[error("conversion from {from} to {to} is not available")]
    Unsupported { from: Format, to: Format },
}

impl ConvertError {
    /// Wraps a content-line error with the format that was being read.
    pub fn syntax(format: Format) -> impl FnOnce(VObjectError) -> ConvertError {
        move |source| ConvertError::Syntax { format, source }
    }
}

/// The vCard version the upstream CardDAV server stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DavVcardVersion {
    #[default]
    V30,
    V40,
}

/// Per-device and per-call settings of a conversion.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConvertOptions {
    /// Charset the device wants for non-ASCII text, and assumes for unlabelled input.
    pub charset: Charset,
    /// Quoted-printable for every non-ASCII value sent to the device (else raw 8-bit).
    pub qp_non_ascii: bool,
    /// The device's time zone, for its local times and for writing TZ/DAYLIGHT.
    pub device_tz: chrono_tz::Tz,
    /// "Now", for DTSTAMP and similar; the module never reads the clock itself.
    pub now: DateTime<Utc>,
    /// What the upstream CardDAV server stores.
    pub dav_vcard: DavVcardVersion,
    /// How the device writes and reads vCalendar 1.0 (time form, all-day style, alarms).
    pub calendar: vcal::CalendarProfile,
    /// Leave out the trailing empty fields of a vCard 2.1 `N` (Nokia Series 40 cannot read
    /// `N:a;b;;;`); the merge keeps the server's fields the phone then sends back without.
    pub trim_name_fields: bool,
}

impl ConvertOptions {
    /// Defaults for everything but the clock: UTF-8, QP for non-ASCII, UTC, vCard 3.0.
    pub fn new(now: DateTime<Utc>) -> ConvertOptions {
        ConvertOptions {
            charset: Charset::Utf8,
            qp_non_ascii: true,
            device_tz: chrono_tz::UTC,
            now,
            dav_vcard: DavVcardVersion::V30,
            calendar: vcal::CalendarProfile::default(),
            trim_name_fields: false,
        }
    }

    pub fn with_calendar(mut self, profile: vcal::CalendarProfile) -> ConvertOptions {
        self.calendar = profile;
        self
    }

    pub fn with_charset(mut self, charset: Charset) -> ConvertOptions {
        self.charset = charset;
        self
    }

    pub fn with_device_tz(mut self, tz: chrono_tz::Tz) -> ConvertOptions {
        self.device_tz = tz;
        self
    }

    pub fn with_dav_vcard(mut self, version: DavVcardVersion) -> ConvertOptions {
        self.dav_vcard = version;
        self
    }

    pub fn with_qp_non_ascii(mut self, qp: bool) -> ConvertOptions {
        self.qp_non_ascii = qp;
        self
    }

    pub fn with_trim_name_fields(mut self, trim: bool) -> ConvertOptions {
        self.trim_name_fields = trim;
        self
    }

    /// Parse options for versit-era input from this device.
    pub fn parse_old(&self) -> vobject::ParseOptions {
        vobject::ParseOptions::old(self.charset)
    }

    /// Write options for versit-era output to this device.
    pub fn write_old(&self) -> vobject::WriteOptions {
        vobject::WriteOptions {
            qp_non_ascii: self.qp_non_ascii,
            ..vobject::WriteOptions::old(self.charset)
        }
    }
}

/// Reads one item in `format` into its DAV form: a VCARD (3.0 or 4.0 per
/// `opts.dav_vcard`) for contacts, a VCALENDAR for events, tasks and notes. Empty
/// properties are left out: they mean "no value" ([`empty`]).
pub fn to_dav(
    format: Format,
    input: &[u8],
    opts: &ConvertOptions,
) -> Result<Component, ConvertError> {
    let mut item = to_dav_as_sent(format, input, opts)?;
    empty::drop_empty(&mut item);
    Ok(item)
}

fn to_dav_as_sent(
    format: Format,
    input: &[u8],
    opts: &ConvertOptions,
) -> Result<Component, ConvertError> {
    match format {
        Format::Vcard21 | Format::Vcard30 | Format::Vcard40 => vcard::to_dav(input, format, opts),
        Format::Sifc => sif::contact::to_dav(input, opts),
        Format::Vcal10 => vcal::to_dav(input, opts),
        Format::Ical20 => parse_ical(input),
        Format::Text => note::text_to_dav(input, opts),
        Format::Vnote => note::vnote_to_dav(input, opts),
        Format::Sife => sif::event::to_dav(input, opts),
        Format::Sift => sif::task::to_dav(input, opts),
        Format::Sifn => sif::note::to_dav(input, opts),
    }
}

/// Writes a DAV item (VCARD or VCALENDAR tree) in `format`.
pub fn from_dav(
    format: Format,
    item: &Component,
    opts: &ConvertOptions,
) -> Result<Vec<u8>, ConvertError> {
    let expected = if format.kind() == ItemKind::Contact {
        "VCARD"
    } else {
        "VCALENDAR"
    };
    if item.name != expected {
        return Err(ConvertError::WrongComponent {
            format,
            expected,
            found: item.name.clone(),
        });
    }
    match format {
        Format::Vcard21 | Format::Vcard30 | Format::Vcard40 => vcard::from_dav(item, format, opts),
        Format::Sifc => sif::contact::from_dav(item, opts),
        Format::Vcal10 => vcal::from_dav(item, opts),
        Format::Ical20 => Ok(dav_bytes(item)),
        Format::Text => note::text_from_dav(item, opts),
        Format::Vnote => note::vnote_from_dav(item, opts),
        Format::Sife => sif::event::from_dav(item, opts),
        Format::Sift => sif::task::from_dav(item, opts),
        Format::Sifn => sif::note::from_dav(item, opts),
    }
}

/// Parses an iCalendar 2.0 resource.
pub fn parse_ical(input: &[u8]) -> Result<Component, ConvertError> {
    let cal = vobject::parse(input, &vobject::ParseOptions::standard())
        .map_err(ConvertError::syntax(Format::Ical20))?;
    if cal.name != "VCALENDAR" {
        return Err(ConvertError::WrongComponent {
            format: Format::Ical20,
            expected: "VCALENDAR",
            found: cal.name,
        });
    }
    Ok(cal)
}

/// The bytes of a DAV resource (RFC 2425 syntax, UTF-8, folded at 75 octets).
pub fn dav_bytes(item: &Component) -> Vec<u8> {
    vobject::write(item, &vobject::WriteOptions::standard())
}

/// `syncml-bridge convert --from F --to F`: one item from `input` in `from`, written in
/// `to`, through the DAV form. Contacts convert only to contacts; events, tasks and notes
/// share the iCalendar form.
/// An item without a UID written as iCalendar (which requires one) gets one from
/// `new_uid`.
pub fn cli_convert(
    from: Format,
    to: Format,
    input: &[u8],
    opts: &ConvertOptions,
    new_uid: impl FnMut() -> String,
) -> Result<Vec<u8>, ConvertError> {
    let contact = |f: Format| f.kind() == ItemKind::Contact;
    if contact(from) != contact(to) {
        return Err(ConvertError::Incompatible { from, to });
    }
    let mut dav = to_dav(from, input, opts)?;
    if to == Format::Ical20 {
        uid::ensure_uid(&mut dav, new_uid);
    }
    from_dav(to, &dav, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ConvertOptions {
        ConvertOptions::new(DateTime::UNIX_EPOCH)
    }

    #[test]
    fn format_names_and_mime_types() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
        }
        assert!(matches!(
            "vcard22".parse::<Format>(),
            Err(ConvertError::UnknownFormat(_))
        ));
        assert_eq!(
            Format::from_mime("TEXT/X-VCARD; charset=UTF-8", None),
            Some(Format::Vcard21)
        );
        assert_eq!(
            Format::from_mime("text/vcard", Some("4.0")),
            Some(Format::Vcard40)
        );
        assert_eq!(Format::from_mime("text/x-sifc", None), Some(Format::Sifc));
        assert_eq!(Format::from_mime("application/x", None), None);
    }

    #[test]
    fn cli_converts_between_contact_formats() {
        let input = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:M=C3=BCller;Hans\r\nTEL;CELL:123\r\nEND:VCARD\r\n";
        let out = cli_convert(Format::Vcard21, Format::Vcard40, input, &opts(), || {
            "u1".into()
        })
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("VERSION:4.0\r\n"), "{text}");
        assert!(text.contains("N:Müller;Hans\r\n"), "{text}");
        assert!(text.contains("TEL;TYPE=cell:123\r\n"), "{text}");
        let sif = cli_convert(Format::Vcard21, Format::Sifc, input, &opts(), || {
            "u1".into()
        })
        .unwrap();
        assert!(String::from_utf8(sif)
            .unwrap()
            .contains("<LastName>Müller</LastName>"));
    }

    #[test]
    fn cli_rejects_mixed_kinds_and_bad_input() {
        assert!(matches!(
            cli_convert(Format::Vcard21, Format::Ical20, b"", &opts(), || "u1"
                .into()),
            Err(ConvertError::Incompatible { .. })
        ));
        assert!(matches!(
            cli_convert(
                Format::Vcard21,
                Format::Vcard30,
                b"no card here",
                &opts(),
                || "u1".into()
            ),
            Err(ConvertError::Syntax { .. })
        ));
    }
}
