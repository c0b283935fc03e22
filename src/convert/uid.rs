//! The UID of an item the phone sent without one. Phones rarely send UIDs; the caller
//! chooses new ones (this module has no randomness and no clock), so two identical items
//! converted at the same instant never share a UID or a resource name.

use super::vobject::{Component, Property};

/// The component that carries the UID: the VCARD itself or the calendar's main item.
pub fn holder_mut(item: &mut Component) -> &mut Component {
    if item.name == "VCALENDAR" {
        if let Some(i) = item
            .components
            .iter()
            .position(|c| c.name != "VTIMEZONE" && c.property("RECURRENCE-ID").is_none())
        {
            return &mut item.components[i];
        }
    }
    item
}

fn lacks_uid(c: &Component) -> bool {
    c.value("UID").is_none_or(|u| u.trim().is_empty())
}

/// The item's UID, given one from `new_uid` when it has none. Every other item of a
/// calendar without one gets a UID of its own; an exception without one takes the UID
/// of the item it belongs to.
pub fn ensure_uid(item: &mut Component, mut new_uid: impl FnMut() -> String) -> String {
    let holder = holder_mut(item);
    let uid = match holder.value("UID").map(str::trim).filter(|u| !u.is_empty()) {
        Some(uid) => uid.to_owned(),
        None => {
            let uid = new_uid();
            holder.set(Property::new("UID", uid.clone()));
            uid
        }
    };
    if item.name == "VCALENDAR" {
        for c in item.components.iter_mut() {
            if c.name == "VTIMEZONE" || !lacks_uid(c) {
                continue;
            }
            let own = if c.property("RECURRENCE-ID").is_some() {
                uid.clone()
            } else {
                new_uid()
            };
            c.set(Property::new("UID", own));
        }
    }
    uid
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::parse_ical;

    #[test]
    fn an_exception_without_a_uid_takes_its_items_and_other_items_their_own() {
        let mut cal = parse_ical(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:a\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nRECURRENCE-ID:20240102T100000Z\r\nSUMMARY:moved\r\nEND:VEVENT\r\nBEGIN:VTODO\r\nSUMMARY:b\r\nEND:VTODO\r\nEND:VCALENDAR\r\n").unwrap();
        let mut n = 0;
        let uid = ensure_uid(&mut cal, || {
            n += 1;
            format!("u{n}")
        });
        assert_eq!(uid, "u1");
        let uids: Vec<&str> = cal
            .components
            .iter()
            .filter_map(|c| c.value("UID"))
            .collect();
        assert_eq!(uids, ["u1", "u1", "u2"]);
        // An item that has its UID keeps it and asks for none.
        assert_eq!(ensure_uid(&mut cal, || unreachable!()), "u1");
    }
}
