//! Device information (DevInf 1.0/1.1/1.2) as a typed document.

mod capabilities;
mod ctcap;

pub use capabilities::{ContentCaps, PropertyCaps};
pub use ctcap::{CtCap, PropParam, Property};

use crate::syncml::tree::read::{push_extra, push_flag, push_opt, required, text};
use crate::syncml::tree::ModelError;
use crate::syncml::tree::{Element, Ns};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DevInf {
    pub ver_dtd: String,
    pub man: Option<String>,
    pub model: Option<String>,
    pub oem: Option<String>,
    pub fw_v: Option<String>,
    pub sw_v: Option<String>,
    pub hw_v: Option<String>,
    pub dev_id: String,
    pub dev_typ: String,
    pub utc: bool,
    pub support_large_objs: bool,
    pub support_number_of_changes: bool,
    pub data_stores: Vec<DataStore>,
    /// The 1.0/1.1 device-wide CTCap (flat form), one entry per content type.
    pub ctcaps: Vec<CtCap>,
    pub exts: Vec<Ext>,
    pub extra: Vec<Element>,
}

/// One database of the device.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataStore {
    pub source_ref: String,
    pub display_name: Option<String>,
    pub max_guid_size: Option<u32>,
    pub rx_pref: Option<ContentTypeRef>,
    pub rx: Vec<ContentTypeRef>,
    pub tx_pref: Option<ContentTypeRef>,
    pub tx: Vec<ContentTypeRef>,
    /// DS 1.2 capabilities (structured form).
    pub ctcaps: Vec<CtCap>,
    pub ds_mem: Option<DsMem>,
    pub support_hierarchical_sync: bool,
    /// `SyncCap/SyncType` values; non-numeric values are dropped.
    pub sync_types: Vec<u32>,
    /// `Filter-Rx`, `FilterCap` and anything unknown.
    pub extra: Vec<Element>,
}

/// A `CTType` + `VerCT` pair (`Rx-Pref`, `Rx`, `Tx-Pref`, `Tx`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContentTypeRef {
    pub ct_type: String,
    pub ver_ct: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DsMem {
    pub shared_mem: bool,
    pub max_mem: Option<u64>,
    pub max_id: Option<u64>,
}

/// A vendor extension.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ext {
    pub xnam: String,
    pub xvals: Vec<String>,
}

/// A number a device announces about itself; junk is dropped with a warning rather
/// than failing the whole message, because the value is advisory.
pub(crate) fn lenient_number<T: std::str::FromStr>(e: &Element) -> Option<T> {
    let t = text(e);
    match t.parse() {
        Ok(v) => Some(v),
        Err(_) => {
            tracing::warn!(element = %e.name, value = %t, "ignoring non-numeric DevInf value");
            None
        }
    }
}

fn dleaf(name: &str, v: impl Into<String>) -> Element {
    Element::leaf(name, Ns::DevInf, v)
}

impl DevInf {
    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        if e.name != "DevInf" {
            return Err(ModelError::WrongRoot {
                expected: "DevInf",
                found: e.name.clone(),
            });
        }
        let mut d = DevInf::default();
        let (mut ver, mut id, mut typ) = (None, None, None);
        for c in e.elements() {
            match c.name.as_str() {
                "VerDTD" => ver = Some(text(c)),
                "Man" => d.man = Some(text(c)),
                "Mod" => d.model = Some(text(c)),
                "OEM" => d.oem = Some(text(c)),
                "FwV" => d.fw_v = Some(text(c)),
                "SwV" => d.sw_v = Some(text(c)),
                "HwV" => d.hw_v = Some(text(c)),
                "DevID" => id = Some(text(c)),
                "DevTyp" => typ = Some(text(c)),
                "UTC" => d.utc = true,
                "SupportLargeObjs" => d.support_large_objs = true,
                "SupportNumberOfChanges" => d.support_number_of_changes = true,
                "DataStore" => d.data_stores.push(DataStore::from_element(c)?),
                "CTCap" => d.ctcaps.extend(CtCap::parse(c)),
                "Ext" => d.exts.push(Ext::from_element(c)),
                _ => d.extra.push(c.clone()),
            }
        }
        d.ver_dtd = required(ver, "DevInf", "VerDTD")?;
        d.dev_id = required(id, "DevInf", "DevID")?;
        d.dev_typ = required(typ, "DevInf", "DevTyp")?;
        Ok(d)
    }

    pub fn to_element(&self) -> Element {
        let ns = Ns::DevInf;
        let mut e = Element::new("DevInf", ns.clone());
        e.push(dleaf("VerDTD", self.ver_dtd.as_str()));
        push_opt(&mut e, "Man", self.man.as_deref(), ns.clone());
        push_opt(&mut e, "Mod", self.model.as_deref(), ns.clone());
        push_opt(&mut e, "OEM", self.oem.as_deref(), ns.clone());
        push_opt(&mut e, "FwV", self.fw_v.as_deref(), ns.clone());
        push_opt(&mut e, "SwV", self.sw_v.as_deref(), ns.clone());
        push_opt(&mut e, "HwV", self.hw_v.as_deref(), ns.clone());
        e.push(dleaf("DevID", self.dev_id.as_str()));
        e.push(dleaf("DevTyp", self.dev_typ.as_str()));
        push_flag(&mut e, "UTC", self.utc, ns.clone());
        push_flag(
            &mut e,
            "SupportLargeObjs",
            self.support_large_objs,
            ns.clone(),
        );
        push_flag(
            &mut e,
            "SupportNumberOfChanges",
            self.support_number_of_changes,
            ns,
        );
        for ds in &self.data_stores {
            e.push(ds.to_element());
        }
        if !self.ctcaps.is_empty() {
            e.push(ctcap::write_flat(&self.ctcaps));
        }
        for x in &self.exts {
            e.push(x.to_element());
        }
        push_extra(&mut e, &self.extra);
        e
    }

    /// What the device can store for `ct_type` (case-insensitive), merged over every
    /// CTCap that names it (1.2 DataStores and the 1.1 device-wide list). `None` when
    /// the device says nothing about that type.
    pub fn capabilities(&self, ct_type: &str) -> Option<ContentCaps> {
        let all = self
            .data_stores
            .iter()
            .flat_map(|d| d.ctcaps.iter())
            .chain(self.ctcaps.iter());
        ContentCaps::from_ctcaps(all.filter(|c| c.ct_type.eq_ignore_ascii_case(ct_type)))
    }

    /// The DataStore whose `SourceRef` is `uri`.
    pub fn data_store(&self, uri: &str) -> Option<&DataStore> {
        self.data_stores.iter().find(|d| d.source_ref == uri)
    }
}

impl DataStore {
    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        let mut d = DataStore::default();
        let mut source_ref = None;
        for c in e.elements() {
            match c.name.as_str() {
                "SourceRef" => source_ref = Some(text(c)),
                "DisplayName" => d.display_name = Some(text(c)),
                "MaxGUIDSize" => d.max_guid_size = lenient_number(c),
                "Rx-Pref" => d.rx_pref = Some(ContentTypeRef::from_element(c)),
                "Rx" => d.rx.push(ContentTypeRef::from_element(c)),
                "Tx-Pref" => d.tx_pref = Some(ContentTypeRef::from_element(c)),
                "Tx" => d.tx.push(ContentTypeRef::from_element(c)),
                "CTCap" => d.ctcaps.extend(CtCap::parse(c)),
                "DSMem" => d.ds_mem = Some(DsMem::from_element(c)),
                "SupportHierarchicalSync" => d.support_hierarchical_sync = true,
                "SyncCap" => d.sync_types.extend(
                    c.children_named("SyncType")
                        .filter_map(lenient_number::<u32>),
                ),
                _ => d.extra.push(c.clone()),
            }
        }
        d.source_ref = required(source_ref, "DataStore", "SourceRef")?;
        Ok(d)
    }

    pub fn to_element(&self) -> Element {
        let ns = Ns::DevInf;
        let mut e = Element::new("DataStore", ns.clone());
        e.push(dleaf("SourceRef", self.source_ref.as_str()));
        push_opt(
            &mut e,
            "DisplayName",
            self.display_name.as_deref(),
            ns.clone(),
        );
        push_opt(
            &mut e,
            "MaxGUIDSize",
            self.max_guid_size.map(|v| v.to_string()).as_deref(),
            ns.clone(),
        );
        let refs = [
            ("Rx-Pref", self.rx_pref.as_slice()),
            ("Rx", &self.rx),
            ("Tx-Pref", self.tx_pref.as_slice()),
            ("Tx", &self.tx),
        ];
        for (name, list) in refs {
            for r in list {
                e.push(r.to_element(name));
            }
        }
        for c in &self.ctcaps {
            e.push(c.to_structured());
        }
        if let Some(m) = &self.ds_mem {
            e.push(m.to_element());
        }
        push_flag(
            &mut e,
            "SupportHierarchicalSync",
            self.support_hierarchical_sync,
            ns.clone(),
        );
        let mut cap = Element::new("SyncCap", ns);
        for t in &self.sync_types {
            cap.push(dleaf("SyncType", t.to_string()));
        }
        e.push(cap);
        push_extra(&mut e, &self.extra);
        e
    }
}

impl ContentTypeRef {
    pub fn new(ct_type: impl Into<String>, ver_ct: impl Into<String>) -> Self {
        ContentTypeRef {
            ct_type: ct_type.into(),
            ver_ct: Some(ver_ct.into()),
        }
    }

    fn from_element(e: &Element) -> Self {
        ContentTypeRef {
            ct_type: e.child("CTType").map(text).unwrap_or_default(),
            ver_ct: e.child("VerCT").map(text),
        }
    }

    fn to_element(&self, name: &str) -> Element {
        let mut e = Element::new(name, Ns::DevInf);
        e.push(dleaf("CTType", self.ct_type.as_str()));
        push_opt(&mut e, "VerCT", self.ver_ct.as_deref(), Ns::DevInf);
        e
    }
}

impl DsMem {
    fn from_element(e: &Element) -> Self {
        DsMem {
            shared_mem: e.child("SharedMem").is_some(),
            max_mem: e.child("MaxMem").and_then(lenient_number),
            max_id: e.child("MaxID").and_then(lenient_number),
        }
    }

    fn to_element(&self) -> Element {
        let ns = Ns::DevInf;
        let mut e = Element::new("DSMem", ns.clone());
        push_flag(&mut e, "SharedMem", self.shared_mem, ns.clone());
        push_opt(
            &mut e,
            "MaxMem",
            self.max_mem.map(|v| v.to_string()).as_deref(),
            ns.clone(),
        );
        push_opt(
            &mut e,
            "MaxID",
            self.max_id.map(|v| v.to_string()).as_deref(),
            ns,
        );
        e
    }
}

impl Ext {
    fn from_element(e: &Element) -> Self {
        Ext {
            xnam: e.child("XNam").map(text).unwrap_or_default(),
            xvals: e.children_named("XVal").map(text).collect(),
        }
    }

    fn to_element(&self) -> Element {
        let mut e = Element::new("Ext", Ns::DevInf);
        e.push(dleaf("XNam", self.xnam.as_str()));
        for v in &self.xvals {
            e.push(dleaf("XVal", v.as_str()));
        }
        e
    }
}
