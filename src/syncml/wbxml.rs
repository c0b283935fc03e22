//! WBXML codec (see wbxml.md in the protocol guide).
