//! Which sync really runs: the phone's alert, the URL's `sync=` and the anchors decide.

use crate::engine::SyncMethod;

/// Decides the method that runs (the table of the seeds):
///
/// | phone asks | URL `sync=` | anchors equal? | performed |
/// |---|---|---|---|
/// | 1 | none or 1 | yes / no | 1 / 2 |
/// | 1 | 3 | yes / no | 3 / 7 |
/// | 1 | 5 | yes / no | 5 / 8 |
/// | 1 | 2, 4, 6, 7, 8, 9 | not checked | what the URL asks |
/// | 3 | ignored | yes / no | 3 / 7 |
/// | 5 | ignored | yes / no | 5 / 8 |
/// | 2, 4, 6 | ignored | not checked | what the phone asks |
///
/// `anchors_match` is false also when the bridge has no state for the datastore or an
/// admin forced a slow sync.
pub fn resolve(asked: SyncMethod, url: Option<SyncMethod>, anchors_match: bool) -> SyncMethod {
    use SyncMethod::*;
    match asked {
        TwoWay => match url {
            None | Some(TwoWay) => {
                if anchors_match {
                    TwoWay
                } else {
                    Slow
                }
            }
            Some(OneWayFromClient) => {
                if anchors_match {
                    OneWayFromClient
                } else {
                    OneWaySlowToServer
                }
            }
            Some(OneWayFromServer) => {
                if anchors_match {
                    OneWayFromServer
                } else {
                    OneWaySlowToClient
                }
            }
            Some(other) => other,
        },
        OneWayFromClient => {
            if anchors_match {
                OneWayFromClient
            } else {
                OneWaySlowToServer
            }
        }
        OneWayFromServer => {
            if anchors_match {
                OneWayFromServer
            } else {
                OneWaySlowToClient
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SyncMethod::*;

    #[test]
    fn the_decision_table() {
        let n = |x| SyncMethod::from_number(x).unwrap();
        assert_eq!(resolve(TwoWay, None, true), TwoWay);
        assert_eq!(resolve(TwoWay, None, false), Slow);
        assert_eq!(resolve(TwoWay, Some(TwoWay), false), Slow);
        assert_eq!(
            resolve(TwoWay, Some(OneWayFromClient), true),
            OneWayFromClient
        );
        assert_eq!(
            resolve(TwoWay, Some(OneWayFromClient), false),
            OneWaySlowToServer
        );
        assert_eq!(
            resolve(TwoWay, Some(OneWayFromServer), true),
            OneWayFromServer
        );
        assert_eq!(
            resolve(TwoWay, Some(OneWayFromServer), false),
            OneWaySlowToClient
        );
        for u in [2, 4, 6, 7, 8, 9] {
            for a in [true, false] {
                assert_eq!(resolve(TwoWay, Some(n(u)), a), n(u));
            }
        }
        for u in [None, Some(Slow), Some(ClientReset)] {
            assert_eq!(resolve(OneWayFromClient, u, true), OneWayFromClient);
            assert_eq!(resolve(OneWayFromClient, u, false), OneWaySlowToServer);
            assert_eq!(resolve(OneWayFromServer, u, true), OneWayFromServer);
            assert_eq!(resolve(OneWayFromServer, u, false), OneWaySlowToClient);
            for asked in [Slow, RefreshFromClient, RefreshFromServer] {
                for a in [true, false] {
                    assert_eq!(resolve(asked, u, a), asked);
                }
            }
        }
    }
}
