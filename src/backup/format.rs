//! The backup file formats, kept byte-faithful: a `.vcf` is the address book's vCards
//! concatenated as the server holds them; a `.ics` is one VCALENDAR with each
//! VTIMEZONE once and every item's components verbatim. Restoring splits them back
//! (vCards one by one, calendar components grouped by UID with the time zones they use).
//!
//! Only the BEGIN/END structure, UID and TZID are read: content lines are never
//! re-serialised, so a restored item holds exactly the lines that were backed up.

use std::collections::BTreeSet;

/// The calendar header of a backup file and of every item restored from one.
pub const PRODID: &str = "-//syncml-bridge//backup//EN";

/// Why a text is not a usable vCard or iCalendar object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct FormatError {
    pub line: usize,
    pub message: String,
}

/// One component, as the exact text from its BEGIN line to its END line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Upper-case component name (`VCARD`, `VEVENT`, `VTIMEZONE`, ...).
    pub name: String,
    pub text: String,
    /// The component's own UID property.
    pub uid: Option<String>,
    /// For a VTIMEZONE: its TZID property.
    pub tzid: Option<String>,
    /// The TZID parameters used anywhere inside (DTSTART;TZID=...).
    pub uses_tzids: BTreeSet<String>,
}

/// One item to restore: its text and the key that matches it to an item already there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub uid: Option<String>,
    pub text: String,
}

/// A logical line: where its raw text (continuations and line break included) lies
/// in the source, and its unfolded content.
struct Line {
    start: usize,
    end: usize,
    unfolded: String,
    number: usize,
}

fn logical_lines(text: &str) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    let mut offset = 0;
    for (i, physical) in text.split_inclusive('\n').enumerate() {
        let end = offset + physical.len();
        let content = physical.trim_end_matches(['\r', '\n']);
        match out.last_mut() {
            Some(last) if content.starts_with([' ', '\t']) => {
                last.unfolded.push_str(&content[1..]);
                last.end = end;
            }
            _ => out.push(Line {
                start: offset,
                end,
                unfolded: content.to_owned(),
                number: i + 1,
            }),
        }
        offset = end;
    }
    out.retain(|l| !l.unfolded.trim().is_empty());
    out
}

/// The property name of an unfolded line (before `;` or `:`), upper case, without a
/// vCard group (`item1.TEL` is `TEL`).
fn property_name(line: &str) -> String {
    let end = line.find([';', ':']).unwrap_or(line.len());
    let name = &line[..end];
    let name = name.rsplit_once('.').map_or(name, |(_, n)| n);
    name.trim().to_ascii_uppercase()
}

/// The position of the `:` that ends the parameters (colons inside quotes do not).
fn value_start(line: &str) -> Option<usize> {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

fn value(line: &str) -> &str {
    value_start(line).map_or("", |i| line[i + 1..].trim())
}

fn tzid_param(line: &str) -> Option<String> {
    let params = &line[..value_start(line)?];
    let mut quoted = false;
    let mut parts = Vec::new();
    let mut from = 0;
    for (i, c) in params.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => {
                parts.push(&params[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&params[from..]);
    parts.iter().skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("TZID")
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// The components that sit at `depth` (0: top level; 1: inside a VCALENDAR).
pub fn blocks_at(text: &str, depth: usize) -> Result<Vec<Block>, FormatError> {
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut current: Option<(Block, usize)> = None; // with the byte offset of its BEGIN
    for line in logical_lines(text) {
        let name = property_name(&line.unfolded);
        let offset = line.start;
        match name.as_str() {
            "BEGIN" => {
                let comp = value(&line.unfolded).to_ascii_uppercase();
                if stack.len() == depth {
                    let block = Block {
                        name: comp.clone(),
                        text: String::new(),
                        uid: None,
                        tzid: None,
                        uses_tzids: BTreeSet::new(),
                    };
                    current = Some((block, offset));
                }
                stack.push(comp);
            }
            "END" => {
                let comp = value(&line.unfolded).to_ascii_uppercase();
                match stack.pop() {
                    Some(open) if open == comp => {}
                    open => {
                        return Err(FormatError {
                            line: line.number,
                            message: format!(
                                "END:{comp} closes {}",
                                open.as_deref().unwrap_or("nothing")
                            ),
                        })
                    }
                }
                if stack.len() == depth {
                    if let Some((mut block, begin)) = current.take() {
                        let end = line.end;
                        block.text = text[begin..end].to_owned();
                        if !block.text.ends_with('\n') {
                            block.text.push_str("\r\n");
                        }
                        out.push(block);
                    }
                }
            }
            _ => {
                if let Some((block, _)) = current.as_mut() {
                    if stack.len() == depth + 1 {
                        match name.as_str() {
                            "UID" => block.uid = Some(value(&line.unfolded).to_owned()),
                            "TZID" => block.tzid = Some(value(&line.unfolded).to_owned()),
                            _ => {}
                        }
                    }
                    if let Some(tz) = tzid_param(&line.unfolded) {
                        block.uses_tzids.insert(tz);
                    }
                }
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(FormatError {
            line: text.lines().count(),
            message: format!("BEGIN:{open} is never closed"),
        });
    }
    Ok(out)
}

/// The vCards of `items` in one `.vcf`; returns the text and how many cards it holds.
pub fn join_vcards<'a>(
    items: impl IntoIterator<Item = &'a str>,
) -> Result<(String, usize), FormatError> {
    let mut out = String::new();
    let mut count = 0;
    for item in items {
        for card in blocks_at(item, 0)?
            .into_iter()
            .filter(|b| b.name == "VCARD")
        {
            out.push_str(&card.text);
            count += 1;
        }
    }
    Ok((out, count))
}

/// The calendar items in one VCALENDAR: each VTIMEZONE once (by TZID, the first seen),
/// then every other component in item order.
pub fn join_calendar<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<String, FormatError> {
    let mut zones: Vec<Block> = Vec::new();
    let mut components = String::new();
    for item in items {
        for block in blocks_at(item, 1)? {
            if block.name == "VTIMEZONE" {
                if !zones.iter().any(|z| z.tzid == block.tzid) {
                    zones.push(block);
                }
            } else {
                components.push_str(&block.text);
            }
        }
    }
    let mut out = calendar_header();
    for z in &zones {
        out.push_str(&z.text);
    }
    out.push_str(&components);
    out.push_str("END:VCALENDAR\r\n");
    Ok(out)
}

fn calendar_header() -> String {
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:{PRODID}\r\n")
}

/// The vCards of a `.vcf`, one entry each.
pub fn split_vcards(text: &str) -> Result<Vec<Entry>, FormatError> {
    Ok(blocks_at(text, 0)?
        .into_iter()
        .filter(|b| b.name == "VCARD")
        .map(|b| Entry {
            uid: b.uid,
            text: b.text,
        })
        .collect())
}

/// The items of a `.ics`: components grouped by UID (an event with its overridden
/// occurrences is one item), each as its own VCALENDAR with the time zones it uses.
pub fn split_calendar(text: &str) -> Result<Vec<Entry>, FormatError> {
    let mut zones = Vec::new();
    let mut groups: Vec<(Option<String>, Vec<Block>)> = Vec::new();
    for block in blocks_at(text, 1)? {
        if block.name == "VTIMEZONE" {
            zones.push(block);
            continue;
        }
        match groups
            .iter_mut()
            .find(|(uid, _)| uid.is_some() && *uid == block.uid)
        {
            Some((_, members)) => members.push(block),
            None => groups.push((block.uid.clone(), vec![block])),
        }
    }
    Ok(groups
        .into_iter()
        .map(|(uid, members)| {
            let used: BTreeSet<&String> = members.iter().flat_map(|m| &m.uses_tzids).collect();
            let mut text = calendar_header();
            for z in zones
                .iter()
                .filter(|z| z.tzid.as_ref().is_some_and(|t| used.contains(t)))
            {
                text.push_str(&z.text);
            }
            for m in &members {
                text.push_str(&m.text);
            }
            text.push_str("END:VCALENDAR\r\n");
            Entry { uid, text }
        })
        .collect())
}

/// The components of a calendar item other than its time zones, for comparing two
/// versions of one item whatever header the server wrote around them.
pub fn calendar_components(text: &str) -> Result<Vec<String>, FormatError> {
    Ok(blocks_at(text, 1)?
        .into_iter()
        .filter(|b| b.name != "VTIMEZONE")
        .map(|b| normalise_breaks(&b.text))
        .collect())
}

/// Text with every line break as CRLF, for comparisons.
pub fn normalise_breaks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out
}

/// The UIDs of a DAV item (a vCard, or the components of a calendar object).
pub fn uids_of(text: &str, calendar: bool) -> Result<Vec<String>, FormatError> {
    let depth = usize::from(calendar);
    Ok(blocks_at(text, depth)?
        .into_iter()
        .filter(|b| b.name != "VTIMEZONE")
        .filter_map(|b| b.uid)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARD_A: &str =
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a\r\nFN:Ann\r\nNOTE:long\r\n  folded\r\nEND:VCARD\r\n";
    const CARD_B: &str = "BEGIN:VCARD\nVERSION:4.0\nUID:b\nitem1.TEL:1\nEND:VCARD";

    fn event(uid: &str, tz: &str) -> String {
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VTIMEZONE\r\nTZID:{tz}\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART;TZID=\"{tz}\":20240101T100000\r\nSUMMARY:x:y\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )
    }

    #[test]
    fn vcards_join_and_split_byte_for_byte() {
        let (joined, n) = join_vcards([CARD_A, CARD_B]).unwrap();
        assert_eq!(n, 2);
        assert_eq!(joined, format!("{CARD_A}{CARD_B}\r\n"));
        let entries = split_vcards(&joined).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].uid.as_deref(), Some("a"));
        assert_eq!(entries[0].text, CARD_A);
        assert_eq!(entries[1].uid.as_deref(), Some("b"));
    }

    #[test]
    fn calendars_share_time_zones_and_split_by_uid() {
        let e1 = event("e1", "Europe/Berlin");
        let e2 = event("e2", "Europe/Berlin");
        let override_e1 = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e1\r\nRECURRENCE-ID:20240108T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let joined = join_calendar([e1.as_str(), e2.as_str(), override_e1]).unwrap();
        assert_eq!(joined.matches("BEGIN:VTIMEZONE").count(), 1);
        assert_eq!(joined.matches("BEGIN:VEVENT").count(), 3);
        assert!(joined.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        let items = split_calendar(&joined).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].uid.as_deref(), Some("e1"));
        assert_eq!(items[0].text.matches("BEGIN:VEVENT").count(), 2);
        assert_eq!(items[0].text.matches("TZID:Europe/Berlin").count(), 1);
        assert_eq!(
            calendar_components(&items[1].text).unwrap(),
            calendar_components(&e2).unwrap()
        );
        assert_eq!(uids_of(&e1, true).unwrap(), ["e1"]);
    }

    #[test]
    fn broken_structure_is_an_error() {
        let err = blocks_at("BEGIN:VCARD\r\nFN:x\r\n", 0).unwrap_err();
        assert!(err.message.contains("never closed"), "{err}");
        let err = blocks_at("BEGIN:VCALENDAR\r\nEND:VEVENT\r\n", 0).unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn quoted_colons_do_not_end_parameters() {
        assert_eq!(
            tzid_param("DTSTART;X=\"a:b\";TZID=\"Etc/GMT+1\":20240101T000000"),
            Some("Etc/GMT+1".into())
        );
        assert_eq!(value("SUMMARY;LANGUAGE=de:a:b"), "a:b");
        assert_eq!(property_name("item2.EMAIL;TYPE=x:y"), "EMAIL");
    }
}
