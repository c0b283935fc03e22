//! The nine sync methods and what each means for a datastore's run.

/// The nine sync methods, numbered as the URL parameter `sync=` numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncMethod {
    /// 1: changes both ways.
    TwoWay = 1,
    /// 2: all items both ways, matched.
    Slow = 2,
    /// 3: the phone's changes to the server.
    OneWayFromClient = 3,
    /// 4: the server's collection replaced by the phone's items.
    RefreshFromClient = 4,
    /// 5: the server's changes to the phone.
    OneWayFromServer = 5,
    /// 6: the phone's items replaced by the server's.
    RefreshFromServer = 6,
    /// 7: all the phone's items to the server, matched, nothing deleted, nothing sent back.
    OneWaySlowToServer = 7,
    /// 8: all the server's items to the phone, matched, nothing written upstream.
    OneWaySlowToClient = 8,
    /// 9: every item deleted from the phone, nothing on the server.
    ClientReset = 9,
}

impl SyncMethod {
    pub fn from_number(n: u8) -> Option<SyncMethod> {
        use SyncMethod::*;
        Some(match n {
            1 => TwoWay,
            2 => Slow,
            3 => OneWayFromClient,
            4 => RefreshFromClient,
            5 => OneWayFromServer,
            6 => RefreshFromServer,
            7 => OneWaySlowToServer,
            8 => OneWaySlowToClient,
            9 => ClientReset,
            _ => return None,
        })
    }

    /// The method a phone's Alert code asks for (200-205, and 206-210 answering a push).
    pub fn from_alert(code: u16) -> Option<SyncMethod> {
        use SyncMethod::*;
        Some(match code {
            200 | 206 => TwoWay,
            201 => Slow,
            202 | 207 => OneWayFromClient,
            203 | 208 => RefreshFromClient,
            204 | 209 => OneWayFromServer,
            205 | 210 => RefreshFromServer,
            _ => return None,
        })
    }

    /// The Alert code the bridge answers with so the phone does its part of the method:
    /// the slow variants need every phone item (201), a client reset is a refresh from
    /// the server that sends nothing.
    pub fn alert_code(self) -> u16 {
        use SyncMethod::*;
        match self {
            TwoWay => 200,
            Slow | OneWaySlowToServer | OneWaySlowToClient => 201,
            OneWayFromClient => 202,
            RefreshFromClient => 203,
            OneWayFromServer => 204,
            RefreshFromServer | ClientReset => 205,
        }
    }

    /// Whether the phone sends every item it holds.
    pub fn phone_sends_all(self) -> bool {
        use SyncMethod::*;
        matches!(
            self,
            Slow | RefreshFromClient | OneWaySlowToServer | OneWaySlowToClient
        )
    }

    /// Whether the phone's items are written upstream.
    pub fn writes_upstream(self) -> bool {
        use SyncMethod::*;
        matches!(
            self,
            TwoWay | Slow | OneWayFromClient | RefreshFromClient | OneWaySlowToServer
        )
    }

    /// Whether the server's items go to the phone.
    pub fn sends_to_phone(self) -> bool {
        use SyncMethod::*;
        matches!(
            self,
            TwoWay | Slow | OneWayFromServer | RefreshFromServer | OneWaySlowToClient
        )
    }

    /// Whether this method may delete upstream items (a backup is taken first).
    pub fn deletes_upstream(self) -> bool {
        matches!(self, SyncMethod::RefreshFromClient)
    }

    pub fn number(self) -> u8 {
        self as u8
    }
}

#[cfg(test)]
mod tests {
    use super::SyncMethod::*;
    use super::*;

    #[test]
    fn alert_codes_both_ways() {
        assert_eq!(SyncMethod::from_alert(206), Some(TwoWay));
        assert_eq!(SyncMethod::from_alert(210), Some(RefreshFromServer));
        assert_eq!(SyncMethod::from_alert(222), None);
        assert_eq!(ClientReset.alert_code(), 205);
        assert_eq!(OneWaySlowToClient.alert_code(), 201);
        for m in 1..=9 {
            let m = SyncMethod::from_number(m).unwrap();
            assert_eq!(SyncMethod::from_number(m.number()), Some(m));
        }
        assert!(!ClientReset.writes_upstream() && !ClientReset.sends_to_phone());
        assert!(OneWaySlowToServer.phone_sends_all() && !OneWaySlowToServer.sends_to_phone());
    }
}
