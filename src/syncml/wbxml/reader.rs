//! A byte cursor over WBXML input that reports the offset of every failure.

use super::WbxmlError;

pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    pub(crate) fn byte(&mut self, what: &'static str) -> Result<u8, WbxmlError> {
        let b = self.peek().ok_or(WbxmlError::Truncated {
            offset: self.pos,
            what,
        })?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WbxmlError> {
        if n > self.remaining() {
            return Err(WbxmlError::Truncated {
                offset: self.bytes.len(),
                what,
            });
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// A WBXML mb_u_int32: big-endian base-128 with a continuation bit, at most
    /// five bytes and at most 32 bits of value.
    pub(crate) fn mb_u32(&mut self, what: &'static str) -> Result<u32, WbxmlError> {
        let start = self.pos;
        let mut value: u32 = 0;
        for _ in 0..5 {
            let b = self.byte(what)?;
            if value > (u32::MAX >> 7) {
                return Err(WbxmlError::IntegerOverflow { offset: start });
            }
            value = (value << 7) | u32::from(b & 0x7F);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(WbxmlError::IntegerOverflow { offset: start })
    }

    /// A NUL-terminated string; the NUL is consumed but not returned.
    pub(crate) fn cstr(&mut self, what: &'static str) -> Result<&'a [u8], WbxmlError> {
        let rest = &self.bytes[self.pos..];
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(WbxmlError::Truncated {
                offset: self.bytes.len(),
                what,
            })?;
        self.pos += len + 1;
        Ok(&rest[..len])
    }
}

/// Appends `v` as an mb_u_int32.
pub(crate) fn write_mb_u32(out: &mut Vec<u8>, v: u32) {
    let mut groups = [0u8; 5];
    let mut n = 0;
    let mut rest = v;
    loop {
        groups[n] = (rest & 0x7F) as u8;
        n += 1;
        rest >>= 7;
        if rest == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        let cont = if i == 0 { 0 } else { 0x80 };
        out.push(groups[i] | cont);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mb(v: u32) -> Vec<u8> {
        let mut out = Vec::new();
        write_mb_u32(&mut out, v);
        out
    }

    #[test]
    fn mb_u_int32_examples_from_the_guide() {
        assert_eq!(mb(0x1D), [0x1D]);
        assert_eq!(mb(0x0FD3), [0x9F, 0x53]);
        assert_eq!(mb(0x1201), [0xA4, 0x01]);
        assert_eq!(mb(300), [0x82, 0x2C]);
        assert_eq!(mb(0), [0x00]);
        assert_eq!(mb(u32::MAX), [0x8F, 0xFF, 0xFF, 0xFF, 0x7F]);
        for v in [0, 1, 127, 128, 16383, 16384, 0x0FD3, u32::MAX - 1, u32::MAX] {
            assert_eq!(Reader::new(&mb(v)).mb_u32("test"), Ok(v));
        }
    }

    #[test]
    fn mb_u_int32_overflow_and_truncation() {
        assert_eq!(
            Reader::new(&[0x90, 0x80, 0x80, 0x80, 0x00]).mb_u32("x"),
            Err(WbxmlError::IntegerOverflow { offset: 0 })
        );
        assert_eq!(
            Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]).mb_u32("x"),
            Err(WbxmlError::IntegerOverflow { offset: 0 })
        );
        assert_eq!(
            Reader::new(&[0x81]).mb_u32("x"),
            Err(WbxmlError::Truncated {
                offset: 1,
                what: "x"
            })
        );
    }
}
