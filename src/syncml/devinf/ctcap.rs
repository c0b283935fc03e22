//! CTCap in both shapes: the 1.0/1.1 flat sequence (a `CTType` or `PropName` starts a
//! new entry and what follows belongs to it) and the 1.2 structured `Property` form.
//! Both read into the same types.

use super::lenient_number;
use crate::syncml::tree::read::{push_extra, push_flag, push_opt, text};
use crate::syncml::tree::{Element, Ns};

/// The capabilities for one content type.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CtCap {
    pub ct_type: String,
    pub ver_ct: Option<String>,
    pub field_level: bool,
    pub properties: Vec<Property>,
    pub extra: Vec<Element>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Property {
    pub name: String,
    pub data_type: Option<String>,
    pub val_enums: Vec<String>,
    /// `MaxSize` (1.2) or `Size` (1.1).
    pub max_size: Option<u32>,
    pub max_occur: Option<u32>,
    pub no_truncate: bool,
    pub display_name: Option<String>,
    pub params: Vec<PropParam>,
    pub extra: Vec<Element>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PropParam {
    pub name: String,
    pub data_type: Option<String>,
    pub val_enums: Vec<String>,
    pub display_name: Option<String>,
}

impl CtCap {
    /// Reads one `CTCap` element; a flat one may describe several content types.
    pub fn parse(e: &Element) -> Vec<CtCap> {
        let mut caps: Vec<CtCap> = Vec::new();
        // Whether the latest flat item was a ParamName (so ValEnum etc. belong to it).
        let mut in_param = false;
        for c in e.elements() {
            if c.name == "CTType" {
                caps.push(CtCap {
                    ct_type: text(c),
                    ..Default::default()
                });
                in_param = false;
                continue;
            }
            if caps.is_empty() {
                caps.push(CtCap::default());
            }
            let Some(cap) = caps.last_mut() else { continue };
            match c.name.as_str() {
                "VerCT" => cap.ver_ct = Some(text(c)),
                "FieldLevel" => cap.field_level = true,
                "Property" => cap.properties.push(Property::from_structured(c)),
                "PropName" => {
                    cap.properties.push(Property {
                        name: text(c),
                        ..Default::default()
                    });
                    in_param = false;
                }
                "ParamName" => match cap.properties.last_mut() {
                    Some(p) => {
                        p.params.push(PropParam {
                            name: text(c),
                            ..Default::default()
                        });
                        in_param = true;
                    }
                    None => cap.extra.push(c.clone()),
                },
                _ => {
                    let Some(p) = cap.properties.last_mut() else {
                        cap.extra.push(c.clone());
                        continue;
                    };
                    let param = if in_param { p.params.last_mut() } else { None };
                    match (param, c.name.as_str()) {
                        (Some(pp), "ValEnum") => pp.val_enums.push(text(c)),
                        (Some(pp), "DataType") => pp.data_type = Some(text(c)),
                        (Some(pp), "DisplayName") => pp.display_name = Some(text(c)),
                        (_, other) => p.read_detail(other, c),
                    }
                }
            }
        }
        caps
    }

    /// The 1.2 form: one `CTCap` element for this content type.
    pub fn to_structured(&self) -> Element {
        let ns = Ns::DevInf;
        let mut e = Element::new("CTCap", ns.clone());
        e.push(Element::leaf("CTType", ns.clone(), self.ct_type.as_str()));
        push_opt(&mut e, "VerCT", self.ver_ct.as_deref(), ns.clone());
        push_flag(&mut e, "FieldLevel", self.field_level, ns);
        for p in &self.properties {
            e.push(p.to_structured());
        }
        push_extra(&mut e, &self.extra);
        e
    }
}

/// The 1.0/1.1 form: every content type in one flat `CTCap` element.
pub(crate) fn write_flat(caps: &[CtCap]) -> Element {
    let ns = Ns::DevInf;
    let mut e = Element::new("CTCap", ns.clone());
    for cap in caps {
        e.push(Element::leaf("CTType", ns.clone(), cap.ct_type.as_str()));
        push_opt(&mut e, "VerCT", cap.ver_ct.as_deref(), ns.clone());
        push_flag(&mut e, "FieldLevel", cap.field_level, ns.clone());
        for p in &cap.properties {
            e.push(Element::leaf("PropName", ns.clone(), p.name.as_str()));
            p.write_details(&mut e, "Size");
            for pp in &p.params {
                e.push(Element::leaf("ParamName", ns.clone(), pp.name.as_str()));
                pp.write_details(&mut e);
            }
        }
        push_extra(&mut e, &cap.extra);
    }
    e
}

impl Property {
    fn from_structured(e: &Element) -> Self {
        let mut p = Property::default();
        for c in e.elements() {
            match c.name.as_str() {
                "PropName" => p.name = text(c),
                "PropParam" => p.params.push(PropParam::from_structured(c)),
                other => p.read_detail(other, c),
            }
        }
        p
    }

    /// Reads a detail element shared by both forms.
    fn read_detail(&mut self, name: &str, c: &Element) {
        match name {
            "ValEnum" => self.val_enums.push(text(c)),
            "DataType" => self.data_type = Some(text(c)),
            "Size" | "MaxSize" => self.max_size = lenient_number(c),
            "MaxOccur" => self.max_occur = lenient_number(c),
            "NoTruncate" => self.no_truncate = true,
            "DisplayName" => self.display_name = Some(text(c)),
            _ => self.extra.push(c.clone()),
        }
    }

    fn write_details(&self, e: &mut Element, size_name: &str) {
        let ns = Ns::DevInf;
        for v in &self.val_enums {
            e.push(Element::leaf("ValEnum", ns.clone(), v.as_str()));
        }
        push_opt(e, "DataType", self.data_type.as_deref(), ns.clone());
        push_opt(
            e,
            size_name,
            self.max_size.map(|v| v.to_string()).as_deref(),
            ns.clone(),
        );
        push_opt(
            e,
            "MaxOccur",
            self.max_occur.map(|v| v.to_string()).as_deref(),
            ns.clone(),
        );
        push_flag(e, "NoTruncate", self.no_truncate, ns.clone());
        push_opt(e, "DisplayName", self.display_name.as_deref(), ns);
        push_extra(e, &self.extra);
    }

    fn to_structured(&self) -> Element {
        let ns = Ns::DevInf;
        let mut e = Element::new("Property", ns.clone());
        e.push(Element::leaf("PropName", ns, self.name.as_str()));
        self.write_details(&mut e, "MaxSize");
        for pp in &self.params {
            let mut pe = Element::new("PropParam", Ns::DevInf);
            pe.push(Element::leaf("ParamName", Ns::DevInf, pp.name.as_str()));
            pp.write_details(&mut pe);
            e.push(pe);
        }
        e
    }
}

impl PropParam {
    fn from_structured(e: &Element) -> Self {
        let mut p = PropParam::default();
        for c in e.elements() {
            match c.name.as_str() {
                "ParamName" => p.name = text(c),
                "ValEnum" => p.val_enums.push(text(c)),
                "DataType" => p.data_type = Some(text(c)),
                "DisplayName" => p.display_name = Some(text(c)),
                _ => {}
            }
        }
        p
    }

    fn write_details(&self, e: &mut Element) {
        let ns = Ns::DevInf;
        push_opt(e, "DataType", self.data_type.as_deref(), ns.clone());
        for v in &self.val_enums {
            e.push(Element::leaf("ValEnum", ns.clone(), v.as_str()));
        }
        push_opt(e, "DisplayName", self.display_name.as_deref(), ns);
    }
}
