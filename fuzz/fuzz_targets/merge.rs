//! Two arbitrary DAV items (split at the first NUL byte) merged under the capability of a
//! format the first byte picks. Never panics, and never drops what the device cannot hold:
//! every server property and sub-component the capability lacks is in the result as it was,
//! and with no capability known, whatever the device's item leaves out is kept.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syncml_bridge::convert::capability::Capability;
use syncml_bridge::convert::merge;
use syncml_bridge::convert::vobject::{self, Component, ParseOptions};
use syncml_bridge::convert::Format;

/// The item component of a VCALENDAR (not a zone, not a recurrence override).
fn master(cal: &Component) -> Option<&Component> {
    cal.components
        .iter()
        .find(|c| c.name != "VTIMEZONE" && c.property("RECURRENCE-ID").is_none())
}

/// Every instance of `name` in `before` is still in `after`, unchanged.
fn kept_properties(before: &Component, after: &Component, name: &str, why: &str) {
    for p in before.properties_named(name) {
        assert!(
            after.properties_named(name).any(|q| q == p),
            "{why}: {name} dropped or changed: {p:?}\nresult: {after:?}"
        );
    }
}

fn kept_components(before: &Component, after: &Component, name: &str, why: &str) {
    for c in before.components_named(name) {
        assert!(
            after.components_named(name).any(|d| d == c),
            "{why}: {name} component dropped or changed\nresult: {after:?}"
        );
    }
}

/// The invariant on one item component (a VCARD, or the master of a VCALENDAR).
fn check_item(existing: &Component, incoming: &Component, out: &Component, cap: &Capability) {
    if cap.absent_means_deleted() {
        for p in &existing.properties {
            if !cap.can_store(&p.name) {
                kept_properties(existing, out, &p.name, "not storable");
            }
        }
        for c in &existing.components {
            if !cap.can_store_component(&c.name) {
                kept_components(existing, out, &c.name, "not storable");
            }
        }
    } else {
        for p in &existing.properties {
            if incoming.property(&p.name).is_none() {
                kept_properties(existing, out, &p.name, "absent with unknown capability");
            }
        }
    }
}

fn check(existing: &Component, incoming: &Component, cap: &Capability, sent: Option<&Component>) {
    let result = match sent {
        Some(s) => merge::merge_with_sent(existing, incoming, cap, s),
        None => merge::merge(existing, incoming, cap),
    };
    let Ok(out) = result else {
        return;
    };
    assert_eq!(out.name, existing.name);
    if existing.name != "VCALENDAR" {
        check_item(existing, incoming, &out, cap);
        return;
    }
    // Zones and recurrence overrides are the server's: all stay.
    for c in &existing.components {
        if c.name == "VTIMEZONE" || c.property("RECURRENCE-ID").is_some() {
            assert!(
                out.components.contains(c),
                "server component {} dropped",
                c.name
            );
        }
    }
    let (Some(e), Some(i)) = (master(existing), master(incoming)) else {
        return;
    };
    let Some(o) = master(&out) else {
        panic!("the merged calendar lost its item component");
    };
    check_item(e, i, o, cap);
    // Write the merged resource: it must parse as what it is.
    let bytes = syncml_bridge::convert::dav_bytes(&out);
    if let Err(err) = vobject::parse(&bytes, &ParseOptions::standard()) {
        panic!(
            "merged resource does not parse: {err}\n{}",
            String::from_utf8_lossy(&bytes)
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (a, b) = match rest.iter().position(|&x| x == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &rest[..0]),
    };
    let opts = ParseOptions::standard();
    let Ok(existing) = vobject::parse(a, &opts) else {
        return;
    };
    let incoming = vobject::parse(b, &opts).unwrap_or_else(|_| Component::new(&existing.name));
    let cap = match usize::from(sel & 0x0f) {
        n if n < Format::ALL.len() => Capability::from_format(Format::ALL[n]),
        _ => Capability::unknown(),
    };
    // With "last sent" = the server's own item, what the device held is known exactly.
    let sent = (sel & 0x10 != 0).then_some(&existing);
    check(&existing, &incoming, &cap, sent);
});
