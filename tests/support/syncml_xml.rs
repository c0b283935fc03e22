//! Flattens a SyncML XML message into (element path, text) pairs for assertions, and decodes
//! WBXML with libwbxml2's `wbxml2xml`.

use std::process::Command;

use super::tools::require;

/// Every element of `xml` as `("SyncML/SyncBody/Alert/Data", "201")`: the path of local names
/// from the root and the element's own trimmed text (empty for containers). Document order.
pub fn element_paths(xml: &str) -> Result<Vec<(String, String)>, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                stack.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                open.push(out.len());
                out.push((stack.join("/"), String::new()));
            }
            Ok(Event::Empty(e)) => {
                stack.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                out.push((stack.join("/"), String::new()));
                stack.pop();
            }
            Ok(Event::End(_)) => {
                stack.pop();
                open.pop();
            }
            Ok(Event::Text(t)) => {
                let text = t.unescape().map_err(|e| e.to_string())?;
                if let Some(&i) = open.last() {
                    out[i].1.push_str(text.trim());
                }
            }
            Ok(Event::CData(c)) => {
                if let Some(&i) = open.last() {
                    out[i].1.push_str(&String::from_utf8_lossy(&c));
                }
            }
            Ok(Event::Eof) => break,
            Err(e) => return Err(format!("at byte {}: {e}", reader.buffer_position())),
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(format!("unclosed elements: {}", stack.join("/")));
    }
    Ok(out)
}

/// The texts of every element at exactly `path`.
pub fn texts_at<'a>(paths: &'a [(String, String)], path: &str) -> Vec<&'a str> {
    paths
        .iter()
        .filter(|(p, _)| p == path)
        .map(|(_, t)| t.as_str())
        .collect()
}

/// Decodes a WBXML document to XML text with `wbxml2xml`.
pub fn wbxml_to_xml(wbxml: &[u8]) -> Result<String, String> {
    let tool = require("wbxml2xml", "libwbxml2-utils");
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let input = dir.path().join("in.wbxml");
    let output = dir.path().join("out.xml");
    std::fs::write(&input, wbxml).map_err(|e| e.to_string())?;
    let run = Command::new(tool)
        .arg("-o")
        .arg(&output)
        .arg(&input)
        .output()
        .map_err(|e| e.to_string())?;
    if !run.status.success() {
        return Err(format!(
            "wbxml2xml failed: {}",
            String::from_utf8_lossy(&run.stderr)
        ));
    }
    std::fs::read_to_string(&output).map_err(|e| e.to_string())
}
