use super::*;

#[test]
fn frame_headers_are_what_tungstenite_reads() {
    use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    for len in [0, 1, 125, 126, 127, 65_535, 65_536, 1 << 20] {
        let mut bytes = Vec::new();
        header(&mut bytes, TEXT, len);
        assert_eq!(bytes.len(), header_len(len), "{len}");
        let mut cursor = std::io::Cursor::new(&bytes);
        let (h, payload) = FrameHeader::parse(&mut cursor).unwrap().unwrap();
        assert_eq!(payload, len as u64);
        assert_eq!(cursor.position() as usize, bytes.len());
        assert!(h.is_final && !h.rsv1 && h.mask.is_none());
        assert_eq!(h.opcode, OpCode::Data(Data::Text));
    }
}
