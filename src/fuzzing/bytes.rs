//! The byte grammar of the fuzz inputs: fixed-width little-endian integers and length-prefixed
//! blobs read from an [`Unstructured`], and [`SeedWriter`], its exact inverse, used to build the
//! seed corpora from readable stories.
//!
//! The grammar is ours rather than `arbitrary`'s derive format so that seeds can be written by
//! hand and stay meaningful when `arbitrary` changes its encoding. Reading past the end yields
//! zeros, so every byte string decodes to something.

use arbitrary::Unstructured;

/// One byte (0 past the end).
pub(crate) fn u8(u: &mut Unstructured<'_>) -> u8 {
    u.arbitrary().unwrap_or(0)
}

/// Two bytes, little-endian.
pub(crate) fn u16(u: &mut Unstructured<'_>) -> u16 {
    u16::from_le_bytes([u8(u), u8(u)])
}

/// A blob: a `u16` length, then that many bytes (fewer if the input ends first).
pub(crate) fn blob<'a>(u: &mut Unstructured<'a>) -> &'a [u8] {
    let len = usize::from(u16(u)).min(u.len());
    u.bytes(len).unwrap_or(&[])
}

/// Writes inputs in the grammar above.
#[derive(Clone, Debug, Default)]
pub(crate) struct SeedWriter {
    bytes: Vec<u8>,
}

impl SeedWriter {
    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.bytes.push(v);
        self
    }

    pub(crate) fn u16(&mut self, v: u16) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// # Panics
    /// If `b` is longer than `u16::MAX` (seeds are small by design).
    pub(crate) fn blob(&mut self, b: &[u8]) -> &mut Self {
        let len = u16::try_from(b.len()).expect("seed blob longer than 64 KiB");
        self.u16(len);
        self.bytes.extend_from_slice(b);
        self
    }

    pub(crate) fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_is_the_inverse_of_the_reader() {
        let bytes = SeedWriter::default()
            .u8(7)
            .u16(0xBEEF)
            .blob(b"hello")
            .u8(9)
            .finish();
        let mut u = Unstructured::new(&bytes);
        assert_eq!(u8(&mut u), 7);
        assert_eq!(u16(&mut u), 0xBEEF);
        assert_eq!(blob(&mut u), b"hello");
        assert_eq!(u8(&mut u), 9);
        assert!(u.is_empty());
        assert_eq!((u8(&mut u), u16(&mut u), blob(&mut u)), (0, 0, &[][..]));
    }
}
