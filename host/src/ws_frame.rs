//! The headers of the WebSocket frames the gateway sends (RFC 6455 §5.2). A server's frames are not
//! masked: a 2–10 byte header, then the payload. The router frames a round's broadcasts once into a
//! shared block; a socket's writer (`upgrade::FrameWriter`) frames its own frames as it writes them.

/// The opcode of a text frame.
pub const TEXT: u8 = 0x1;

/// The opcode of a close frame.
pub const CLOSE: u8 = 0x8;

/// Appends the header of an unmasked, final frame with `opcode` and a payload of `len` bytes.
pub fn header(out: &mut Vec<u8>, opcode: u8, len: usize) {
    out.push(0x80 | opcode);
    if len < 126 {
        out.push(len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.push(126);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
}

/// The length of [`header`] for a payload of `len` bytes.
pub fn header_len(len: usize) -> usize {
    match len {
        0..126 => 2,
        126..=65535 => 4,
        _ => 10,
    }
}

/// The bytes a text frame of `text` puts on the wire: its header and the text.
pub fn text_frame_len(text: &str) -> usize {
    header_len(text.len()) + text.len()
}

#[cfg(test)]
mod tests;
