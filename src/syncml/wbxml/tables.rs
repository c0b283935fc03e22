//! Token tables and public ids, parsed once from the files in `mappings/wbxml/`.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::{PublicId, WbxmlError};
use crate::syncml::tree::Ns;

const SYNCML_FILE: &str = "syncml.tokens";
const METINF_FILE: &str = "metinf.tokens";
const DEVINF_FILE: &str = "devinf.tokens";
const PUBLIC_IDS_FILE: &str = "public-ids.tokens";

const SYNCML_TEXT: &str = include_str!("../../../mappings/wbxml/syncml.tokens");
const METINF_TEXT: &str = include_str!("../../../mappings/wbxml/metinf.tokens");
const DEVINF_TEXT: &str = include_str!("../../../mappings/wbxml/devinf.tokens");
const PUBLIC_IDS_TEXT: &str = include_str!("../../../mappings/wbxml/public-ids.tokens");

/// The SyncML DTD versions; ordered so ranges can be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Version {
    V10,
    V11,
    V12,
}

impl Version {
    pub(crate) fn parse(s: &str) -> Option<Version> {
        match s {
            "1.0" => Some(Version::V10),
            "1.1" => Some(Version::V11),
            "1.2" => Some(Version::V12),
            _ => None,
        }
    }
}

/// Which token tables a document uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocKind {
    /// Page 0 SyncML, page 1 MetInf.
    SyncMl,
    /// A stand-alone MetInf document; same pages as SyncML (libwbxml puts MetInf
    /// on page 1 there too).
    MetInf,
    /// Page 0 DevInf.
    DevInf,
}

impl DocKind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            DocKind::SyncMl => "SyncML",
            DocKind::MetInf => "MetInf",
            DocKind::DevInf => "DevInf",
        }
    }

    /// The vocabulary of a code page in this document, if the page exists.
    pub(crate) fn page_ns(self, page: u8) -> Option<Ns> {
        match (self, page) {
            (DocKind::SyncMl | DocKind::MetInf, 0) => Some(Ns::SyncMl),
            (DocKind::SyncMl | DocKind::MetInf, 1) => Some(Ns::MetInf),
            (DocKind::DevInf, 0) => Some(Ns::DevInf),
            _ => None,
        }
    }

    /// The code page holding a vocabulary in this document.
    pub(crate) fn ns_page(self, ns: &Ns) -> Option<u8> {
        match (self, ns) {
            (DocKind::SyncMl | DocKind::MetInf, Ns::SyncMl) => Some(0),
            (DocKind::SyncMl | DocKind::MetInf, Ns::MetInf) => Some(1),
            (DocKind::DevInf, Ns::DevInf) => Some(0),
            _ => None,
        }
    }
}

/// One name of a token and the versions it is used in (open-ended when `None`).
#[derive(Debug)]
struct Named {
    name: &'static str,
    from: Option<Version>,
    to: Option<Version>,
}

/// One code page: names by token (with the version range of each name) and
/// tokens by name.
#[derive(Debug, Default)]
pub(crate) struct CodePage {
    by_token: HashMap<u8, Vec<Named>>,
    by_name: HashMap<&'static str, u8>,
}

impl CodePage {
    /// The element name of a token. With a version, the entry whose range holds
    /// it wins; otherwise (or when none matches) the last listed name, i.e. the
    /// newest one.
    pub(crate) fn name(&self, token: u8, version: Option<Version>) -> Option<&'static str> {
        let entries = self.by_token.get(&token)?;
        if let Some(v) = version {
            let hit = entries
                .iter()
                .find(|e| e.from.is_none_or(|f| f <= v) && e.to.is_none_or(|t| v <= t));
            if let Some(e) = hit {
                return Some(e.name);
            }
        }
        entries.last().map(|e| e.name)
    }

    pub(crate) fn token(&self, name: &str) -> Option<u8> {
        self.by_name.get(name).copied()
    }

    /// Whether a token has several names depending on the version.
    pub(crate) fn is_versioned(&self, token: u8) -> bool {
        self.by_token.get(&token).is_some_and(|e| e.len() > 1)
    }
}

#[derive(Debug)]
pub(crate) struct KnownId {
    pub(crate) numeric: Option<u32>,
    pub(crate) kind: DocKind,
    pub(crate) version: Version,
    pub(crate) fpi: &'static str,
}

#[derive(Debug)]
pub(crate) struct Tables {
    pub(crate) syncml: CodePage,
    pub(crate) metinf: CodePage,
    pub(crate) devinf: CodePage,
    pub(crate) ids: Vec<KnownId>,
}

impl Tables {
    pub(crate) fn page(&self, ns: &Ns) -> Option<&CodePage> {
        match ns {
            Ns::SyncMl => Some(&self.syncml),
            Ns::MetInf => Some(&self.metinf),
            Ns::DevInf => Some(&self.devinf),
            Ns::Other(_) => None,
        }
    }

    /// Document kind and version named by a public id, if it is one of ours.
    pub(crate) fn identify(&self, id: &PublicId) -> Option<(DocKind, Version)> {
        let hit = match id {
            PublicId::Numeric(n) => self.ids.iter().find(|k| k.numeric == Some(*n)),
            PublicId::Fpi(s) => {
                let s = s.trim();
                self.ids.iter().find(|k| k.fpi.eq_ignore_ascii_case(s))
            }
        };
        hit.map(|k| (k.kind, k.version))
    }
}

static TABLES: LazyLock<Result<Tables, WbxmlError>> = LazyLock::new(load);

/// The parsed tables; an error only if a built-in file is malformed, which the
/// unit tests rule out.
pub(crate) fn tables() -> Result<&'static Tables, WbxmlError> {
    TABLES.as_ref().map_err(Clone::clone)
}

fn load() -> Result<Tables, WbxmlError> {
    Ok(Tables {
        syncml: parse_page(SYNCML_FILE, SYNCML_TEXT)?,
        metinf: parse_page(METINF_FILE, METINF_TEXT)?,
        devinf: parse_page(DEVINF_FILE, DEVINF_TEXT)?,
        ids: parse_ids(PUBLIC_IDS_FILE, PUBLIC_IDS_TEXT)?,
    })
}

/// Non-empty, non-comment lines with their 1-based numbers.
fn data_lines(text: &'static str) -> impl Iterator<Item = (usize, &'static str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

fn bad(file: &'static str, line: usize, reason: impl Into<String>) -> WbxmlError {
    WbxmlError::Table {
        file,
        line,
        reason: reason.into(),
    }
}

fn parse_hex(s: &str) -> Option<u32> {
    u32::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

/// A version range such as `1.2-`, `-1.1` or `1.1-1.2`.
fn parse_range(s: &str) -> Option<(Option<Version>, Option<Version>)> {
    let (from, to) = s.split_once('-')?;
    let side = |p: &str| -> Option<Option<Version>> {
        if p.is_empty() {
            Some(None)
        } else {
            Version::parse(p).map(Some)
        }
    };
    Some((side(from)?, side(to)?))
}

fn parse_page(file: &'static str, text: &'static str) -> Result<CodePage, WbxmlError> {
    let mut page = CodePage::default();
    for (no, line) in data_lines(text) {
        let mut cols = line.split_whitespace();
        let (Some(tok), Some(name)) = (cols.next(), cols.next()) else {
            return Err(bad(file, no, "expected `token name [range]`"));
        };
        let token = parse_hex(tok)
            .and_then(|t| u8::try_from(t).ok())
            .filter(|t| (0x05..=0x3F).contains(t))
            .ok_or_else(|| bad(file, no, format!("token {tok} is not 0x05-0x3F")))?;
        let (from, to) = match cols.next() {
            None => (None, None),
            Some(r) => parse_range(r).ok_or_else(|| bad(file, no, format!("bad range {r}")))?,
        };
        if cols.next().is_some() {
            return Err(bad(file, no, "extra columns"));
        }
        if page.by_name.insert(name, token).is_some() {
            return Err(bad(file, no, format!("name {name} listed twice")));
        }
        page.by_token
            .entry(token)
            .or_default()
            .push(Named { name, from, to });
    }
    Ok(page)
}

fn parse_ids(file: &'static str, text: &'static str) -> Result<Vec<KnownId>, WbxmlError> {
    let mut ids = Vec::new();
    for (no, line) in data_lines(text) {
        let mut cols = line.splitn(4, ' ');
        let (Some(num), Some(kind), Some(ver), Some(fpi)) =
            (cols.next(), cols.next(), cols.next(), cols.next())
        else {
            return Err(bad(file, no, "expected `id kind version FPI`"));
        };
        let numeric = match num {
            "-" => None,
            n => Some(parse_hex(n).ok_or_else(|| bad(file, no, format!("bad id {n}")))?),
        };
        let kind = match kind {
            "syncml" => DocKind::SyncMl,
            "metinf" => DocKind::MetInf,
            "devinf" => DocKind::DevInf,
            k => return Err(bad(file, no, format!("unknown document kind {k}"))),
        };
        let version =
            Version::parse(ver).ok_or_else(|| bad(file, no, format!("bad version {ver}")))?;
        ids.push(KnownId {
            numeric,
            kind,
            version,
            fpi: fpi.trim(),
        });
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_tables_parse() {
        let t = tables().unwrap();
        assert_eq!(t.syncml.token("SyncML"), Some(0x2D));
        assert_eq!(t.syncml.name(0x3C, None), Some("Correlator"));
        assert_eq!(t.metinf.name(0x0F, None), Some("Next"));
        assert_eq!(t.devinf.token("Size"), Some(0x1C));
        assert_eq!(t.devinf.token("MaxSize"), Some(0x1C));
        assert_eq!(t.devinf.name(0x1C, Some(Version::V11)), Some("Size"));
        assert_eq!(t.devinf.name(0x1C, Some(Version::V10)), Some("Size"));
        assert_eq!(t.devinf.name(0x1C, Some(Version::V12)), Some("MaxSize"));
        assert_eq!(t.devinf.name(0x2F, None), None);
        // A 1.2 tag in a 1.1 document still decodes (Nokia SourceParent).
        assert_eq!(
            t.syncml.name(0x39, Some(Version::V11)),
            Some("SourceParent")
        );
        assert_eq!(
            t.identify(&PublicId::Numeric(0x1203)),
            Some((DocKind::DevInf, Version::V12))
        );
        assert_eq!(
            t.identify(&PublicId::Fpi("-//SYNCML//DTD SyncML 1.0//EN".into())),
            Some((DocKind::SyncMl, Version::V10))
        );
        assert_eq!(t.identify(&PublicId::Numeric(1)), None);
    }

    #[test]
    fn malformed_table_lines_are_reported() {
        let err = parse_page("t", "0x05 A\n0x99 B\n").unwrap_err();
        assert!(matches!(err, WbxmlError::Table { line: 2, .. }), "{err}");
        let err = parse_page("t", "0x05 A\n0x06 A\n").unwrap_err();
        assert!(matches!(err, WbxmlError::Table { line: 2, .. }), "{err}");
        let err = parse_page("t", "0x05 A 2.0-\n").unwrap_err();
        assert!(matches!(err, WbxmlError::Table { line: 1, .. }), "{err}");
    }
}
