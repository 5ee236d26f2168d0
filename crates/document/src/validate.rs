//! The peer's structure checks before it stores an upload (§18.3). They walk the file's
//! structure; nothing is rendered or decoded to pixels.

use flate2::{Decompress, FlushDecompress, Status};

use crate::{DocumentError, FileType, MAX_FILE_BYTES};

type Result<T> = std::result::Result<T, DocumentError>;

/// A PDF's Flate streams together may inflate to at most this many times the file's size…
pub const PDF_INFLATE_RATIO: u64 = 64;
/// … and never to more than 256 MiB.
pub const MAX_PDF_INFLATED_BYTES: u64 = 256 * 1024 * 1024;
/// The most pixels (width × height) an image may declare: 100 megapixels.
pub const MAX_PIXELS: u64 = 100_000_000;

/// How far back from a `stream` keyword its dictionary is looked for.
const DICT_WINDOW: usize = 64 * 1024;

/// Checks an upload's structure (§18.3): its size, that its magic bytes are those of
/// `declared` (`file_type_mismatch`), then the per-type walk.
///
/// - PDF: `%PDF-1.` or `%PDF-2.` (`file_malformed`), `%%EOF` at the end with trailing white
///   space allowed (`file_truncated`), and every stream whose dictionary has a `/Filter` is
///   inflated (zlib, else raw DEFLATE) with only a counter kept: all of them together inflate
///   to at most [`PDF_INFLATE_RATIO`] × the file and [`MAX_PDF_INFLATED_BYTES`] (`pdf_bomb`).
/// - JPEG: the markers from SOI to EOI, segment lengths inside the file, a frame (SOF) before
///   the scan (SOS), the entropy-coded data up to its next marker (`file_truncated`,
///   `file_malformed`), width × height ≤ [`MAX_PIXELS`] (`image_too_large`).
/// - PNG: every chunk inside the file with a valid CRC, IHDR first, at least one IDAT, ending
///   in IEND (`file_truncated`, `file_malformed`), width × height ≤ [`MAX_PIXELS`]
///   (`image_too_large`).
pub fn validate(bytes: &[u8], declared: FileType) -> Result<()> {
    let size = bytes.len() as u64;
    if size == 0 || size > MAX_FILE_BYTES {
        return Err(DocumentError::FileTooLarge {
            size,
            max: MAX_FILE_BYTES,
        });
    }
    if FileType::sniff(bytes) != Some(declared) {
        return Err(DocumentError::FileTypeMismatch {
            expected: declared.mime(),
        });
    }
    match declared {
        FileType::Pdf => pdf(bytes),
        FileType::Jpeg => jpeg(bytes),
        FileType::Png => png(bytes),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let mut from = 0;
    while let Some(i) = haystack[from..].iter().position(|&b| b == first) {
        let at = from + i;
        if haystack[at..].starts_with(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    (0..=haystack.len() - needle.len())
        .rev()
        .find(|&i| haystack[i..].starts_with(needle))
}

fn is_pdf_space(b: u8) -> bool {
    matches!(b, 0 | b'\t' | b'\n' | 0x0C | b'\r' | b' ')
}

fn pdf(b: &[u8]) -> Result<()> {
    if !(b.starts_with(b"%PDF-1.") || b.starts_with(b"%PDF-2.")) {
        return Err(DocumentError::FileMalformed(
            "the PDF header is not %PDF-1.x or %PDF-2.x",
        ));
    }
    let end = b
        .iter()
        .rposition(|&c| !is_pdf_space(c))
        .map_or(0, |i| i + 1);
    if !b[..end].ends_with(b"%%EOF") {
        return Err(DocumentError::FileTruncated(
            "the PDF does not end with %%EOF",
        ));
    }
    let limit = (b.len() as u64)
        .saturating_mul(PDF_INFLATE_RATIO)
        .min(MAX_PDF_INFLATED_BYTES);
    let mut inflated = 0u64;
    let mut pos = 0;
    while let Some(i) = find(&b[pos..], b"stream") {
        let at = pos + i;
        let after = at + b"stream".len();
        pos = after;
        if b[..at].ends_with(b"end") {
            continue;
        }
        let start = if b[after..].starts_with(b"\r\n") {
            after + 2
        } else if b[after..].starts_with(b"\n") || b[after..].starts_with(b"\r") {
            after + 1
        } else {
            continue;
        };
        let window = at.saturating_sub(DICT_WINDOW);
        let dict_from = rfind(&b[window..at], b"obj").map_or(window, |j| window + j);
        let dict = &b[dict_from..at];
        if find(dict, b"/Filter").is_some() {
            // The DEFLATE data ends itself; scanning resumes where it did. A stream that is
            // not Flate fails at its first bytes and costs nothing.
            let consumed = inflate_counting(&b[start..], &mut inflated, limit)?;
            pos = start + consumed.max(1);
        } else {
            pos = find(&b[start..], b"endstream").map_or(b.len(), |j| start + j);
        }
    }
    Ok(())
}

/// Inflates `data` into a scratch buffer, adding what came out to `inflated`; `pdf_bomb` once
/// it passes `limit`. Returns how many input bytes were consumed.
fn inflate_counting(data: &[u8], inflated: &mut u64, limit: u64) -> Result<usize> {
    let mut scratch = vec![0u8; 64 * 1024];
    let mut consumed = 0;
    for zlib in [true, false] {
        let mut d = Decompress::new(zlib);
        loop {
            let (in_before, out_before) = (d.total_in(), d.total_out());
            let rest = data
                .get(usize::try_from(in_before).unwrap_or(usize::MAX)..)
                .unwrap_or_default();
            let status = d.decompress(rest, &mut scratch, FlushDecompress::None);
            let produced = d.total_out() - out_before;
            *inflated = inflated.saturating_add(produced);
            if *inflated > limit {
                return Err(DocumentError::PdfBomb { limit });
            }
            match status {
                Ok(Status::StreamEnd) | Err(_) => break,
                Ok(_) if produced == 0 && d.total_in() == in_before => break,
                Ok(_) => {}
            }
        }
        consumed = usize::try_from(d.total_in()).unwrap_or(usize::MAX);
        if d.total_out() > 0 {
            break;
        }
    }
    Ok(consumed)
}

fn be16(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn be32(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u64::from(u32::from_be_bytes([s[0], s[1], s[2], s[3]])))
}

fn pixels(width: u64, height: u64) -> Result<()> {
    if width.saturating_mul(height) > MAX_PIXELS {
        return Err(DocumentError::ImageTooLarge {
            width,
            height,
            max: MAX_PIXELS,
        });
    }
    Ok(())
}

fn jpeg(b: &[u8]) -> Result<()> {
    const CUT: DocumentError = DocumentError::FileTruncated("the JPEG ends before its EOI marker");
    let len = b.len();
    let mut pos = 2; // after SOI
    let (mut frame, mut scan) = (false, false);
    loop {
        if pos >= len {
            return Err(CUT);
        }
        if b[pos] != 0xFF {
            return Err(DocumentError::FileMalformed("a JPEG marker was expected"));
        }
        while pos < len && b[pos] == 0xFF {
            pos += 1;
        }
        let Some(&marker) = b.get(pos) else {
            return Err(CUT);
        };
        pos += 1;
        match marker {
            0xD9 => {
                if !scan {
                    return Err(DocumentError::FileMalformed("the JPEG has no scan (SOS)"));
                }
                return Ok(());
            }
            0x00 | 0xD8 => return Err(DocumentError::FileMalformed("a JPEG marker is invalid")),
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let seg = be16(b, pos).ok_or(CUT)?;
        if seg < 2 {
            return Err(DocumentError::FileMalformed(
                "a JPEG segment length is under 2",
            ));
        }
        let end = pos + seg as usize;
        if end > len {
            return Err(CUT);
        }
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            if seg < 8 {
                return Err(DocumentError::FileMalformed(
                    "a JPEG frame header is too short",
                ));
            }
            let (height, width) = (be16(b, pos + 3).unwrap_or(0), be16(b, pos + 5).unwrap_or(0));
            if width == 0 {
                return Err(DocumentError::FileMalformed("the JPEG frame has width 0"));
            }
            pixels(width, height)?;
            frame = true;
        }
        pos = end;
        if marker == 0xDA {
            if !frame {
                return Err(DocumentError::FileMalformed(
                    "a JPEG scan comes before its frame",
                ));
            }
            scan = true;
            // Entropy-coded data: up to the next marker that is neither a stuffed 0xFF00
            // nor a restart marker.
            loop {
                let i = b[pos..].iter().position(|&c| c == 0xFF).ok_or(CUT)?;
                let next = *b.get(pos + i + 1).ok_or(CUT)?;
                if next == 0x00 || (0xD0..=0xD7).contains(&next) {
                    pos += i + 2;
                } else {
                    pos += i;
                    break;
                }
            }
        }
    }
}

fn png(b: &[u8]) -> Result<()> {
    const CUT: DocumentError = DocumentError::FileTruncated("the PNG ends before its IEND chunk");
    let len = b.len();
    let mut pos = 8; // after the signature
    let mut first = true;
    let mut data = false;
    loop {
        let n = be32(b, pos).ok_or(CUT)?;
        if n > 0x7FFF_FFFF {
            return Err(DocumentError::FileMalformed(
                "a PNG chunk length is over 2^31 - 1",
            ));
        }
        let ty = b.get(pos + 4..pos + 8).ok_or(CUT)?;
        if !ty.iter().all(u8::is_ascii_alphabetic) {
            return Err(DocumentError::FileMalformed(
                "a PNG chunk type is not four letters",
            ));
        }
        let data_end = (pos + 8).checked_add(n as usize).ok_or(CUT)?;
        let stored_crc = be32(b, data_end).ok_or(CUT)?;
        if data_end + 4 > len {
            return Err(CUT);
        }
        if u64::from(crc32fast::hash(&b[pos + 4..data_end])) != stored_crc {
            return Err(DocumentError::FileMalformed("a PNG chunk's CRC is wrong"));
        }
        if first {
            if ty != b"IHDR" || n != 13 {
                return Err(DocumentError::FileMalformed(
                    "the PNG does not start with IHDR",
                ));
            }
            let (width, height) = (
                be32(b, pos + 8).unwrap_or(0),
                be32(b, pos + 12).unwrap_or(0),
            );
            if width == 0 || height == 0 || width > 0x7FFF_FFFF || height > 0x7FFF_FFFF {
                return Err(DocumentError::FileMalformed(
                    "the PNG's IHDR size is invalid",
                ));
            }
            pixels(width, height)?;
            first = false;
        } else if ty == b"IHDR" {
            return Err(DocumentError::FileMalformed("the PNG has a second IHDR"));
        }
        if ty == b"IDAT" {
            data = true;
        }
        if ty == b"IEND" {
            if !data {
                return Err(DocumentError::FileMalformed("the PNG has no IDAT chunk"));
            }
            return Ok(());
        }
        pos = data_end + 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::ZlibEncoder;
    use std::io::Write;

    fn code(r: Result<()>) -> &'static str {
        r.err().map_or("ok", |e| e.code())
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).expect("in memory");
        e.finish().expect("in memory")
    }

    /// A one-page PDF whose content stream is `stream` under `filter`.
    fn pdf_with(stream: &[u8], filter: &str) -> Vec<u8> {
        let mut p =
            b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
                .to_vec();
        p.extend_from_slice(b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
        p.extend_from_slice(b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>\nendobj\n");
        p.extend_from_slice(
            format!(
                "4 0 obj\n<< /Length {}{filter} >>\nstream\r\n",
                stream.len()
            )
            .as_bytes(),
        );
        p.extend_from_slice(stream);
        p.extend_from_slice(
            b"\r\nendstream\nendobj\ntrailer\n<< /Root 1 0 R /Size 5 >>\n%%EOF\r\n",
        );
        p
    }

    pub(crate) fn small_pdf() -> Vec<u8> {
        pdf_with(
            &zlib(b"BT /F1 12 Tf 72 712 Td (CBC report) Tj ET"),
            " /Filter /FlateDecode",
        )
    }

    fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&u16::try_from(body.len() + 2).expect("small").to_be_bytes());
        s.extend_from_slice(body);
        s
    }

    /// SOI, APP0, SOF0 (w × h, one component), SOS, entropy bytes with a stuffed 0xFF00 and a
    /// restart marker, EOI: structurally a JPEG (not decodable, which is never tried).
    fn jpeg_of(width: u16, height: u16) -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8];
        j.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        let mut sof = vec![8];
        sof.extend_from_slice(&height.to_be_bytes());
        sof.extend_from_slice(&width.to_be_bytes());
        sof.extend_from_slice(&[1, 1, 0x11, 0]);
        j.extend(segment(0xC0, &sof));
        j.extend(segment(0xDA, &[1, 1, 0, 0, 0x3F, 0]));
        j.extend_from_slice(&[0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xD0, 0x78]);
        j.extend_from_slice(&[0xFF, 0xD9]);
        j
    }

    fn chunk(ty: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = u32::try_from(data.len())
            .expect("small")
            .to_be_bytes()
            .to_vec();
        c.extend_from_slice(ty);
        c.extend_from_slice(data);
        let mut h = crc32fast::Hasher::new();
        h.update(ty);
        h.update(data);
        c.extend_from_slice(&h.finalize().to_be_bytes());
        c
    }

    fn png_of(width: u32, height: u32) -> Vec<u8> {
        let mut p = FileType::Png.magic().to_vec();
        let mut ihdr = width.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        p.extend(chunk(b"IHDR", &ihdr));
        p.extend(chunk(b"IDAT", &zlib(&[0, 0x80])));
        p.extend(chunk(b"IEND", b""));
        p
    }

    #[test]
    fn accepts_well_formed_files() {
        assert_eq!(code(validate(&small_pdf(), FileType::Pdf)), "ok");
        assert_eq!(
            code(validate(&pdf_with(b"0 0 m 10 10 l S", ""), FileType::Pdf)),
            "ok"
        );
        assert_eq!(code(validate(&jpeg_of(640, 480), FileType::Jpeg)), "ok");
        assert_eq!(code(validate(&png_of(1, 1), FileType::Png)), "ok");
        // Trailing bytes after EOI / IEND are tolerated, as by every decoder.
        let mut j = jpeg_of(2, 2);
        j.extend_from_slice(b"\0\0");
        assert_eq!(code(validate(&j, FileType::Jpeg)), "ok");
    }

    #[test]
    fn refuses_wrong_types_and_sizes() {
        assert_eq!(code(validate(b"", FileType::Pdf)), "file_too_large");
        let over = vec![0u8; usize::try_from(MAX_FILE_BYTES).expect("fits") + 1];
        assert_eq!(code(validate(&over, FileType::Pdf)), "file_too_large");
        assert_eq!(
            code(validate(&small_pdf(), FileType::Png)),
            "file_type_mismatch"
        );
        assert_eq!(
            code(validate(&png_of(1, 1), FileType::Jpeg)),
            "file_type_mismatch"
        );
        assert_eq!(
            code(validate(b"<html><script>", FileType::Pdf)),
            "file_type_mismatch"
        );
    }

    #[test]
    fn pdf_structure() {
        let mut v3 = small_pdf();
        v3[5] = b'3';
        assert_eq!(code(validate(&v3, FileType::Pdf)), "file_malformed");
        let good = small_pdf();
        let cut = &good[..good.len() - 20];
        assert_eq!(code(validate(cut, FileType::Pdf)), "file_truncated");
    }

    #[test]
    fn pdf_bomb_is_refused() {
        // 300 MB of zeros compress to about 300 KB: the tiny PDF would inflate a thousandfold.
        let mut e = ZlibEncoder::new(Vec::new(), Compression::best());
        let mib = vec![0u8; 1 << 20];
        for _ in 0..300 {
            e.write_all(&mib).expect("in memory");
        }
        let bomb = pdf_with(&e.finish().expect("in memory"), " /Filter /FlateDecode");
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());
        assert_eq!(code(validate(&bomb, FileType::Pdf)), "pdf_bomb");
        // A stored block holding a literal "endstream" before the zeros: the scan does not
        // stop at it, since the DEFLATE data ends itself.
        let mut tricky = vec![0x78, 0x01, 0x00];
        let fake = b"endstream\nendobj\n";
        let n = u16::try_from(fake.len()).expect("small");
        tricky.extend_from_slice(&n.to_le_bytes());
        tricky.extend_from_slice(&(!n).to_le_bytes());
        tricky.extend_from_slice(fake);
        let mut e = flate2::write::DeflateEncoder::new(tricky, Compression::best());
        for _ in 0..100 {
            e.write_all(&mib).expect("in memory");
        }
        let bomb = pdf_with(&e.finish().expect("in memory"), " /Filter [/FlateDecode]");
        assert_eq!(code(validate(&bomb, FileType::Pdf)), "pdf_bomb");
        // Within the ratio: a 1 MiB stream of zeros in a PDF padded past 1 MiB / 64.
        let mut ok = pdf_with(&zlib(&mib), " /Filter /FlateDecode");
        let pad = vec![b' '; 20_000];
        let eof = ok.len() - b"%%EOF\r\n".len();
        ok.splice(eof..eof, pad.iter().copied());
        assert_eq!(code(validate(&ok, FileType::Pdf)), "ok");
    }

    #[test]
    fn jpeg_structure() {
        let good = jpeg_of(640, 480);
        for cut in [good.len() - 2, good.len() - 5, 4, 10, 25] {
            assert_eq!(
                code(validate(&good[..cut], FileType::Jpeg)),
                "file_truncated",
                "cut at {cut}"
            );
        }
        let mut garbage = good.clone();
        garbage[20] = 0x00; // where SOF0's 0xFF was
        assert_eq!(code(validate(&garbage, FileType::Jpeg)), "file_malformed");
        let mut bad_len = good.clone();
        bad_len[4] = 0;
        bad_len[5] = 1;
        assert_eq!(code(validate(&bad_len, FileType::Jpeg)), "file_malformed");
        let no_scan = [&good[..2], &segment(0xE0, b"JFIF\0")[..], &[0xFF, 0xD9]].concat();
        assert_eq!(code(validate(&no_scan, FileType::Jpeg)), "file_malformed");
        assert_eq!(
            code(validate(&jpeg_of(20_000, 20_000), FileType::Jpeg)),
            "image_too_large"
        );
    }

    #[test]
    fn png_structure() {
        let good = png_of(4, 4);
        let mut bad_crc = good.clone();
        let last = bad_crc.len() - 1;
        bad_crc[last] ^= 0xFF;
        assert_eq!(code(validate(&bad_crc, FileType::Png)), "file_malformed");
        let mut bad_data = good.clone();
        bad_data[20] ^= 1; // inside IHDR's data
        assert_eq!(code(validate(&bad_data, FileType::Png)), "file_malformed");
        for cut in [8, 12, 30, good.len() - 12, good.len() - 1] {
            assert_eq!(
                code(validate(&good[..cut], FileType::Png)),
                "file_truncated",
                "cut at {cut}"
            );
        }
        assert_eq!(
            code(validate(&png_of(10_001, 10_000), FileType::Png)),
            "image_too_large"
        );
        assert_eq!(code(validate(&png_of(10_000, 10_000), FileType::Png)), "ok");
        assert_eq!(
            code(validate(&png_of(0, 1), FileType::Png)),
            "file_malformed"
        );
        let huge_len = [FileType::Png.magic(), &[0xFF, 0xFF, 0xFF, 0xFF], b"IHDR"].concat();
        assert_eq!(code(validate(&huge_len, FileType::Png)), "file_malformed");
        let no_idat = [
            FileType::Png.magic(),
            &chunk(b"IHDR", &good[16..29]),
            &chunk(b"IEND", b""),
        ]
        .concat();
        assert_eq!(code(validate(&no_idat, FileType::Png)), "file_malformed");
    }
}
