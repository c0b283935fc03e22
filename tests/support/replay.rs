//! Replays a debug recording (`NN-in.xml` / `NN-out.xml`, see the admin guide) against a
//! running bridge with the bridge's own replay code (`syncml_bridge::replay`, the `replay`
//! command's core), and pairs the statuses of every recorded reply with the new one's.

use std::path::Path;
use std::time::Duration;

use syncml_bridge::replay::{read_reply, replay as run, Recording, ReplayOptions, StatusLine};

/// One message of the replay: (command, status code) of each Status, in order.
#[derive(Debug, PartialEq, Eq)]
pub struct Exchange {
    pub message: String,
    pub recorded: Vec<(String, String)>,
    pub replayed: Vec<(String, String)>,
}

fn pairs(statuses: &[StatusLine]) -> Vec<(String, String)> {
    statuses
        .iter()
        .map(|s| (s.cmd.clone(), s.code.to_string()))
        .collect()
}

/// Replays the recording in `dir` against the SyncML URL `bridge`.
pub fn replay(dir: &Path, bridge: &str, user: &str, password: &str) -> Vec<Exchange> {
    let recording = Recording::load(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let options = ReplayOptions {
        url: bridge.to_owned(),
        credentials: Some((user.to_owned(), password.to_owned())),
        timeout: Duration::from_secs(60),
    };
    let report = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the replay")
        .block_on(run(&recording, &options))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    recording
        .messages
        .iter()
        .zip(&report.exchanges)
        .map(|(recorded, live)| {
            assert!(
                live.http.is_some_and(|h| (200..300).contains(&h)),
                "{}: HTTP {:?}",
                live.message,
                live.http
            );
            let msg_id =
                syncml_bridge::replay::rewrite::msg_id(&recorded.client).unwrap_or_default();
            let out = recorded
                .server
                .as_deref()
                .unwrap_or_else(|| panic!("{}: no recorded reply", recorded.name));
            Exchange {
                message: live.message.clone(),
                recorded: pairs(&read_reply(out.as_bytes(), &msg_id).statuses),
                replayed: pairs(&live.statuses),
            }
        })
        .collect()
}
