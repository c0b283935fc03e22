//! A recorded session on disk: the phone's messages `NN-in.xml` in order, and where they
//! were kept, the server's recorded replies `NN-out.xml`.

use std::path::{Path, PathBuf};

use super::ReplayError;

/// One message the phone sent, and the reply the recorded server gave to it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The file name, e.g. `03-in.xml`.
    pub name: String,
    pub client: String,
    /// The file was not UTF-8 and is kept as Latin-1 text: it is sent in Latin-1 again.
    pub latin1: bool,
    pub server: Option<String>,
}

/// Every recorded message of a recording, in order.
#[derive(Debug, Clone)]
pub struct Recording {
    pub dir: PathBuf,
    pub messages: Vec<Recorded>,
}

impl Recording {
    /// Reads the `NN-in.xml` files of `dir` (sorted by name) and their `NN-out.xml`.
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
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().ends_with("-in.xml"))
            })
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(ReplayError::Empty(dir.to_owned()));
        }
        let mut messages = Vec::with_capacity(files.len());
        for file in files {
            let (client, latin1) = read_text(&file)?;
            let out = PathBuf::from(file.to_string_lossy().replace("-in.xml", "-out.xml"));
            let server = if out.exists() {
                Some(read_text(&out)?.0)
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
                server,
            });
        }
        Ok(Recording {
            dir: dir.to_owned(),
            messages,
        })
    }
}

/// A recorded file as text; a file in another charset than UTF-8 is read as Latin-1, the
/// way the phones of the time wrote it.
fn read_text(path: &Path) -> Result<(String, bool), ReplayError> {
    let bytes = std::fs::read(path).map_err(|e| ReplayError::Read {
        path: path.to_owned(),
        source: e,
    })?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => (s, false),
        Err(e) => (
            e.into_bytes().iter().map(|&b| char::from(b)).collect(),
            true,
        ),
    })
}
