//! Errors raised while turning an element tree into the typed model.

/// A tree that does not have the shape of a SyncML message or DevInf document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("expected root element <{expected}>, found <{found}>")]
    WrongRoot {
        expected: &'static str,
        found: String,
    },
    #[error("<{parent}> lacks the required <{name}>")]
    Missing {
        parent: &'static str,
        name: &'static str,
    },
    #[error("<{element}> holds {value:?}, which is not a number")]
    BadNumber {
        element: &'static str,
        value: String,
    },
}
