//! WBXML global tokens (WAP-192-WBXML §7.1), the same on every code page, and
//! the bits of a tag byte.

pub(crate) const SWITCH_PAGE: u8 = 0x00;
pub(crate) const END: u8 = 0x01;
pub(crate) const ENTITY: u8 = 0x02;
pub(crate) const STR_I: u8 = 0x03;
pub(crate) const LITERAL: u8 = 0x04;
pub(crate) const PI: u8 = 0x43;
pub(crate) const STR_T: u8 = 0x83;
pub(crate) const OPAQUE: u8 = 0xC3;

/// Tag byte bit: the element has content and is closed by END.
pub(crate) const TAG_CONTENT: u8 = 0x40;
/// Tag byte bit: an attribute list follows the tag.
pub(crate) const TAG_ATTRS: u8 = 0x80;
/// The token part of a tag byte.
pub(crate) const TAG_MASK: u8 = 0x3F;
