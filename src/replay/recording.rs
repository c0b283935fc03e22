//! A recorded session on disk: the phone's messages `NN-in.xml` in order, and where they
//! were kept, the server's recorded replies `NN-out.xml`.

use std::path::{Path, PathBuf};

use super::ReplayError;
use crate::syncml::{decode, encode_with, EncodeOptions, Encoding, WbxmlForm};

/// One message the phone sent, and the reply the recorded server gave to it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The file name, e.g. `03-in.xml`.
    pub name: String,
    pub client: String,
    /// The file was not UTF-8 and is kept as Latin-1 text: it is sent in Latin-1 again.
    pub latin1: bool,
    /// The message was recorded in WBXML (`NN-in.wbxml`, with this framing): it is read
    /// as XML for the rewrites and sent in WBXML again.
    pub wbxml: Option<WbxmlForm>,
    pub server: Option<String>,
}

/// Every recorded message of a recording, in order.
#[derive(Debug, Clone)]
pub struct Recording {
    pub dir: PathBuf,
    pub messages: Vec<Recorded>,
}

impl Recording {
    /// Reads the `NN-in.xml` (or `NN-in.wbxml`) files of `dir`, sorted by name, and their
    /// `NN-out.xml` (or `NN-out.wbxml`).
    pub fn load(dir: &Path) -> Result<Self, ReplayError> {
        let read_dir = |e| ReplayError::Read {
            path: dir.to_owned(),
            source: e,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(read_dir)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().is_some_and(|n| {
                    let n = n.to_string_lossy();
                    n.ends_with("-in.xml") || n.ends_with("-in.wbxml")
                })
            })
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(ReplayError::Empty(dir.to_owned()));
        }
        let mut messages = Vec::with_capacity(files.len());
        for file in files {
            let (client, latin1, wbxml) = read_message(&file)?;
            let out = PathBuf::from(file.to_string_lossy().replace("-in.", "-out."));
            let server = if out.exists() {
                Some(read_message(&out)?.0)
            } else {
                None
            };
            messages.push(Recorded {
                name: file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                client,
                latin1,
                wbxml,
                server,
            });
        }
        Ok(Recording {
            dir: dir.to_owned(),
            messages,
        })
    }
}

/// A recorded message as XML text, whether it was Latin-1, and its WBXML framing when it
/// was WBXML.
fn read_message(path: &Path) -> Result<(String, bool, Option<WbxmlForm>), ReplayError> {
    let bytes = std::fs::read(path).map_err(|e| ReplayError::Read {
        path: path.to_owned(),
        source: e,
    })?;
    if !path.to_string_lossy().ends_with(".wbxml") {
        let (text, latin1) = read_text(bytes);
        return Ok((text, latin1, None));
    }
    let codec = |source| ReplayError::Codec {
        path: path.to_owned(),
        source,
    };
    let decoded = decode(&bytes).map_err(codec)?;
    let xml = encode_with(
        &decoded.message,
        &EncodeOptions {
            encoding: Encoding::Xml,
            wbxml: WbxmlForm::default(),
        },
    )
    .map_err(codec)?;
    let (text, latin1) = read_text(xml);
    Ok((text, latin1, Some(decoded.wbxml.unwrap_or_default())))
}

/// Recorded bytes as text; a file in another charset than UTF-8 is read as Latin-1, the
/// way the phones of the time wrote it.
fn read_text(bytes: Vec<u8>) -> (String, bool) {
    match String::from_utf8(bytes) {
        Ok(s) => (s, false),
        Err(e) => (
            e.into_bytes().iter().map(|&b| char::from(b)).collect(),
            true,
        ),
    }
}
