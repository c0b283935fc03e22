//! What happens when the phone and the server both changed an item.

use crate::syncml::codes::StatusCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictPolicy {
    /// The phone's fields over the server's for what it sent, the rest kept; the merged
    /// item goes back to the phone.
    Merge,
    ServerWins,
    ClientWins,
    /// Both kept: the phone's version becomes a new item, the server's goes to the phone.
    Duplicate,
}

impl ConflictPolicy {
    /// From the config value (validated at start; anything else means merge).
    pub fn from_config(s: &str) -> ConflictPolicy {
        match s {
            "server-wins" => ConflictPolicy::ServerWins,
            "client-wins" => ConflictPolicy::ClientWins,
            "duplicate" => ConflictPolicy::Duplicate,
            _ => ConflictPolicy::Merge,
        }
    }

    /// The status the phone's command gets when the conflict is resolved this way.
    pub fn status(self) -> StatusCode {
        match self {
            ConflictPolicy::Merge => StatusCode::ConflictResolvedWithMerge,
            ConflictPolicy::ClientWins => StatusCode::ConflictResolvedClientWins,
            ConflictPolicy::Duplicate => StatusCode::ConflictResolvedWithDuplicate,
            ConflictPolicy::ServerWins => StatusCode::ConflictResolvedServerWins,
        }
    }

    /// Whether the server's (or merged) version is sent back to the phone.
    pub fn sends_back(self) -> bool {
        !matches!(self, ConflictPolicy::ClientWins)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_protocol() {
        assert_eq!(ConflictPolicy::from_config("merge").status().code(), 207);
        assert_eq!(
            ConflictPolicy::from_config("client-wins").status().code(),
            208
        );
        assert_eq!(
            ConflictPolicy::from_config("duplicate").status().code(),
            209
        );
        assert_eq!(
            ConflictPolicy::from_config("server-wins").status().code(),
            419
        );
        assert!(!ConflictPolicy::ClientWins.sends_back());
    }
}
